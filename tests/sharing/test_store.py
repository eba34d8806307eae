"""The STIX store: validation on the way in, versions, idempotent retries, TLP from markings."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from indivisible.auth.principal import Actor, Role
from indivisible.errors import InvalidInput, NotFound, PermissionDenied
from indivisible.sharing import service
from indivisible.sharing.markings import MARKING_IDS, UNMARKED, Tlp, tlp_of
from indivisible.sharing.models import StixObject, TaxiiCollection
from indivisible.sharing.schemas import CollectionCreate, Distribution, Release

KAZ = Actor(label="kaz", role=Role.liaison, principal_id=None, state_code="KAZ")
KGZ = Actor(label="kgz", role=Role.liaison, principal_id=None, state_code="KGZ")
NODE = Release(distribution=Distribution.node)
GREEN = [next(ref for ref, level in MARKING_IDS.items() if level is Tlp.green)]


@pytest.fixture
def shared(db: Session) -> TaxiiCollection:
    return service.create_collection(
        db, Actor.console("t"), CollectionCreate(title="Shared", release=NODE)
    )


def indicator(
    n: int = 1, modified: str = "2024-01-01T00:00:00.000Z", **extra: Any
) -> dict[str, Any]:
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd{n:02d}",
        "created": "2024-01-01T00:00:00.000Z",
        "modified": modified,
        "name": f"Indicator {n}",
        "pattern": "[ipv4-addr:value = '198.51.100.1']",
        "pattern_type": "stix",
        "valid_from": "2024-01-01T00:00:00Z",
        **extra,
    }


def test_both_tlp_id_sets_map_and_unknown_markings_fail_closed() -> None:
    assert tlp_of(["marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9"]) is Tlp.clear
    assert tlp_of(["marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003"]) is Tlp.amber_strict
    # OpenCTI's own AMBER+STRICT id is not the OASIS one: unknown, so RED.
    assert tlp_of(["marking-definition--826578e1-40ad-459f-bc73-ede076f81f37"]) is Tlp.red
    assert (
        tlp_of(
            [
                "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
                "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
            ]
        )
        is Tlp.amber
    )
    assert tlp_of(None) is UNMARKED is Tlp.amber
    assert len(set(MARKING_IDS.values())) == 5


def test_an_envelope_stores_the_valid_objects_and_refuses_the_invalid_with_the_validators_reason(
    db: Session, shared: TaxiiCollection
) -> None:
    broken = indicator(2)
    del broken["pattern"]
    result = service.submit(db, KAZ, shared, [indicator(1), broken, "not an object"], NODE)
    assert [o.id for o in result.successes] == [indicator(1)["id"]]
    reasons = [f.message or "" for f in result.failures]
    assert "'pattern' is a required property" in reasons[0]
    assert "must be a JSON object" in reasons[1]
    stored = db.scalars(select(StixObject).where(StixObject.stix_id == indicator(1)["id"])).one()
    assert json.loads(stored.body) == indicator(1)
    assert (stored.type, stored.spec_version, stored.tlp, stored.submitter_state) == (
        "indicator",
        "2.1",
        "amber",
        "KAZ",
    )


def test_versions_are_kept_and_a_retry_is_not_a_second_copy(
    db: Session, shared: TaxiiCollection
) -> None:
    first = indicator(3)
    second = indicator(3, modified="2024-02-01T00:00:00.000Z")
    service.submit(db, KAZ, shared, [first], NODE)
    again = service.submit(db, KAZ, shared, [first, second], NODE)
    assert again.failures == [] and len(again.successes) == 2
    assert (
        db.scalar(
            select(func.count()).select_from(StixObject).where(StixObject.stix_id == first["id"])
        )
        == 2
    )
    versions = service.get_object(db, KGZ, first["id"])
    assert [v.modified.isoformat()[:10] if v.modified else None for v in versions] == [
        "2024-01-01",
        "2024-02-01",
    ]
    added = [v.date_added for v in versions]
    assert added[0] < added[1]


def test_who_may_submit_and_what_a_release_must_name(db: Session, shared: TaxiiCollection) -> None:
    with pytest.raises(PermissionDenied):
        service.submit(
            db, Actor(label="a", role=Role.analyst, state_code="KAZ"), shared, [indicator()], NODE
        )
    with pytest.raises(PermissionDenied):
        service.submit(db, Actor.console("t"), shared, [indicator()], NODE)
    with pytest.raises(InvalidInput) as err:
        service.submit(
            db,
            KAZ,
            shared,
            [indicator()],
            Release(distribution=Distribution.organisation, organisation="NOPE"),
        )
    assert err.value.field == "organisation"
    with pytest.raises(InvalidInput):
        service.submit(
            db,
            KAZ,
            shared,
            [indicator()],
            Release(distribution=Distribution.states, states=["XXX"]),
        )
    with pytest.raises(InvalidInput):
        service.submit(
            db,
            KAZ,
            shared,
            [indicator()],
            Release(distribution=Distribution.group, group="no such group"),
        )
    with pytest.raises(ValueError, match="names no organisation"):
        Release(distribution=Distribution.states)


def test_red_and_amber_strict_never_federate(db: Session, shared: TaxiiCollection) -> None:
    red = indicator(
        4, object_marking_refs=["marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed"]
    )
    green = indicator(
        5, object_marking_refs=["marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"]
    )
    service.submit(
        db, KAZ, shared, [red, green], Release(distribution=Distribution.node, federate=True)
    )
    flags = dict(
        db.execute(
            select(StixObject.tlp, StixObject.federate).where(
                StixObject.stix_id.in_([red["id"], green["id"]])
            )
        )
        .tuples()
        .all()
    )
    assert flags == {"red": False, "green": True}


def test_an_invisible_object_looks_missing(db: Session, shared: TaxiiCollection) -> None:
    own = indicator(6)
    service.submit(db, KAZ, shared, [own], Release(distribution=Distribution.submitter))
    assert service.get_object(db, KAZ, own["id"])
    with pytest.raises(NotFound) as invisible:
        service.get_object(db, KGZ, own["id"])
    with pytest.raises(NotFound) as missing:
        service.get_object(db, KGZ, "indicator--00000000-0000-4000-8000-000000000000")
    assert invisible.value.code == missing.value.code
    assert invisible.value.text().replace(own["id"], "X") == missing.value.text().replace(
        "indicator--00000000-0000-4000-8000-000000000000", "X"
    )


def test_a_version_the_submitter_may_not_see_is_its_own_claim(
    db: Session, shared: TaxiiCollection
) -> None:
    """Kazakhstan keeps a version to itself; Kyrgyzstan submits the same id and version. It is
    answered as a new version (an "already stored" would tell it the hidden one exists) and
    stored as Kyrgyzstan's, released as Kyrgyzstan says; Kazakhstan's stays as it was."""
    hidden = indicator(7, name="Kazakhstan's own")
    service.submit(db, KAZ, shared, [hidden], Release(distribution=Distribution.submitter))
    fresh = indicator(8)
    claim = indicator(7, name="Kyrgyzstan's claim")
    answered = service.submit(db, KGZ, shared, [claim, fresh], NODE)
    assert [(o.id, o.message) for o in answered.successes] == [
        (claim["id"], None),
        (fresh["id"], None),
    ]
    assert [json.loads(v.body)["name"] for v in service.get_object(db, KGZ, claim["id"])] == [
        "Kyrgyzstan's claim"
    ]
    # A retry of its own claim is a retry: nothing stored twice.
    again = service.submit(db, KGZ, shared, [claim], NODE)
    assert [o.message for o in again.successes] == ["already stored"]
    # Kazakhstan may see both: its own and the claim released to the node, each its submitter's.
    seen = service.get_object(db, KAZ, hidden["id"])
    assert sorted((v.submitter_state, json.loads(v.body)["name"]) for v in seen) == [
        ("KAZ", "Kazakhstan's own"),
        ("KGZ", "Kyrgyzstan's claim"),
    ]
    # A third state sees only what was released to it.
    third = Actor(label="arm", role=Role.liaison, principal_id=None, state_code="ARM")
    assert [v.submitter_state for v in service.get_object(db, third, hidden["id"])] == ["KGZ"]
    # Kazakhstan may see the claim, so submitting the same version again stores nothing more.
    assert [o.message for o in service.submit(db, KAZ, shared, [claim], NODE).successes] == [
        "already stored"
    ]
    rows = select(func.count()).select_from(StixObject).where(StixObject.stix_id == hidden["id"])
    assert db.scalar(rows) == 2


def test_a_linked_node_learns_nothing_of_versions_that_do_not_federate(
    db: Session, shared: TaxiiCollection
) -> None:
    kept = indicator(9, object_marking_refs=GREEN)
    released = indicator(10, object_marking_refs=GREEN)
    service.submit(db, KAZ, shared, [kept], NODE)
    service.submit(db, KAZ, shared, [released], NODE.model_copy(update={"federate": True}))
    pushed = service.receive(db, shared, [kept, released], origin="node-b")
    # What may federate, the linked node may read anyway; what may not is news to nobody.
    assert [(o.id, o.message) for o in pushed.successes] == [
        (kept["id"], None),
        (released["id"], "already stored"),
    ]
    again = service.receive(db, shared, [kept], origin="node-b")
    assert [o.message for o in again.successes] == ["already stored"]
