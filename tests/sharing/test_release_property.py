"""Release control as a property: the SQL rule agrees with a plain reading of it, on any world.

The reference below is written from the rule's statement, not from the query, so a mistake in
either shows up as a disagreement on some generated world.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from indivisible.auth.principal import Actor, Role
from indivisible.errors import NotFound
from indivisible.registry.models import Membership, Organisation
from indivisible.sharing import repository, service
from indivisible.sharing.models import (
    SharingGroup,
    SharingGroupMember,
    StixObject,
    StixObjectRecipient,
    StixObservable,
)
from indivisible.sharing.schemas import CollectionCreate, Distribution, Release
from indivisible.sharing.service import Page, PageRequest

STATES = ["KAZ", "KGZ", "RUS", "CHN", "TJK", "UZB", "IND", "MNG"]
ORGS = ["TST-A", "TST-B"]
STATUSES = ["member", "observer", "dialogue-partner", "partner", "suspended", "frozen", "withdrawn"]
TLPS = ["clear", "green", "amber", "amber+strict", "red"]
DISTRIBUTIONS = ["submitter", "organisation", "states", "group", "node"]
PARTNERS = {"observer", "dialogue-partner", "partner"}


@dataclass(frozen=True)
class Period:
    state: str
    org: str
    status: str
    start: date
    end: date | None

    def holds(self, on: date) -> bool:
        return self.start <= on and (self.end is None or on < self.end)


@dataclass(frozen=True)
class Obj:
    submitter: str
    tlp: str
    distribution: str
    org: str
    partners: bool
    group: int
    recipients: frozenset[str]
    # Objects with the same ident are versions of one STIX object, each with its own release.
    ident: int
    # Linked nodes may receive it (set here even where submit() would clear it).
    federate: bool
    # Received from another node rather than submitted here.
    received: bool


days = st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 1, 1))
periods = st.builds(
    lambda s, o, status, a, b: Period(s, o, status, min(a, b), None if a == b else max(a, b)),
    st.sampled_from(STATES),
    st.sampled_from(ORGS),
    st.sampled_from(STATUSES),
    days,
    days,
)
groups = st.lists(
    st.lists(st.one_of(st.sampled_from(STATES), st.sampled_from(ORGS)), max_size=4, unique=True),
    min_size=1,
    max_size=3,
)
objects = st.builds(
    Obj,
    st.sampled_from(STATES),
    st.sampled_from(TLPS),
    st.sampled_from(DISTRIBUTIONS),
    st.sampled_from(ORGS),
    st.booleans(),
    st.integers(0, 2),
    st.frozensets(st.sampled_from(STATES), max_size=3),
    st.integers(0, 3),
    st.booleans(),
    st.booleans(),
)
readers = st.one_of(
    st.sampled_from(STATES).map(lambda s: ("state", s)),
    st.sampled_from(ORGS).map(lambda o: ("org", o)),
    # A linked node's account, registered for a state.
    st.sampled_from(STATES).map(lambda s: ("node", s)),
)


def reference(
    obj: Obj, group: list[str], reader: tuple[str, str], world: list[Period], on: date
) -> bool:
    """The rule as the product states it, read plainly."""

    def holds(state: str, org: str, statuses: set[str]) -> bool:
        return any(
            p.state == state and p.org == org and p.status in statuses and p.holds(on)
            for p in world
        )

    kind, who = reader
    if kind == "node":
        # Only what may leave the node, whatever the account's own state could see.
        return (
            obj.federate
            and not obj.received
            and obj.distribution != "submitter"
            and obj.tlp in {"clear", "green", "amber"}
        )
    if kind == "state":
        if obj.submitter == who:
            return True
        if obj.distribution == "states" and who in obj.recipients:
            return True
        if obj.tlp == "red":
            return False
        if obj.distribution == "node":
            return True
        if obj.distribution == "organisation":
            return holds(who, obj.org, {"member"} | (PARTNERS if obj.partners else set()))
        if obj.distribution == "group":
            return who in group or any(holds(who, o, {"member"}) for o in group if o in ORGS)
        return False
    if obj.tlp == "red":
        return False
    return (
        obj.distribution == "node"
        or (obj.distribution == "organisation" and obj.org == who)
        or (obj.distribution == "group" and who in group)
    )


def _organisations(db: Session) -> None:
    for code in ORGS:
        if db.get(Organisation, code) is None:
            db.add(Organisation(code=code, name_en=code, kind="forum", founded_precision="day"))
    db.flush()


@dataclass
class World:
    collection_id: str
    inserted: set[int]
    expected: set[int]
    versions_of: dict[str, list[tuple[datetime, int]]]
    visible_submitters: dict[str, set[str]]


def populate(
    db: Session,
    world: list[Period],
    group_members: list[list[str]],
    stored: list[Obj],
    reader: tuple[str, str],
    on: date,
) -> World:
    """Writes a generated world and works out, by the plain rule, what the reader may see."""
    for p in world:
        db.add(
            Membership(
                state_code=p.state,
                organisation_code=p.org,
                status=p.status,
                valid_from=p.start,
                valid_to=p.end,
                from_precision="day",
                to_precision="day",
            )
        )
    group_ids = []
    for i, members in enumerate(group_members):
        group = SharingGroup(name=f"group-{i}", created_at=datetime.now(UTC))
        db.add(group)
        db.flush()
        group_ids.append(group.id)
        for m in members:
            db.add(
                SharingGroupMember(
                    group_id=group.id,
                    state_code=m if m in STATES else None,
                    organisation_code=m if m in ORGS else None,
                )
            )
    collection = service.create_collection(
        db,
        Actor.console("t"),
        CollectionCreate(title="c", release=Release(distribution=Distribution.node)),
    )
    expected: set[int] = set()
    inserted: set[int] = set()
    versions_of: dict[str, list[tuple[datetime, int]]] = {}
    submitters: dict[str, set[str]] = {}
    visible_submitters: dict[str, set[str]] = {}
    for n, obj in enumerate(stored):
        group_index = min(obj.group, len(group_ids) - 1)
        stix_id = f"indicator--00000000-0000-4000-8000-{obj.ident:012d}"
        modified = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(days=n)
        row = StixObject(
            collection_id=collection.id,
            stix_id=stix_id,
            type="indicator",
            spec_version="2.1",
            modified=modified,
            # Added in a different order from the versions' own.
            date_added=datetime(2024, 1, 1, 0, 0, (n * 7) % 11, n, tzinfo=UTC),
            body="{}",
            submitter_state=obj.submitter,
            tlp=obj.tlp,
            distribution=obj.distribution,
            distribution_organisation=obj.org if obj.distribution == "organisation" else None,
            distribution_partners=obj.partners,
            distribution_group=group_ids[group_index] if obj.distribution == "group" else None,
            federate=obj.federate,
            origin_node="elsewhere" if obj.received else None,
        )
        db.add(row)
        db.flush()
        if obj.distribution == "states":
            for code in obj.recipients:
                db.add(StixObjectRecipient(object_id=row.id, state_code=code))
        # Every report carries the same address, so every pair of states' reports correlates.
        db.add(StixObservable(object_id=row.id, kind="ipv4", value="198.51.100.7", low=1, high=1))
        inserted.add(row.id)
        submitters.setdefault(stix_id, set()).add(obj.submitter)
        if reference(obj, group_members[group_index], reader, world, on):
            expected.add(row.id)
            versions_of.setdefault(stix_id, []).append((modified, row.id))
            visible_submitters.setdefault(stix_id, set()).add(obj.submitter)
    db.flush()
    return World(collection.id, inserted, expected, versions_of, visible_submitters)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    world=st.lists(periods, max_size=12),
    group_members=groups,
    stored=st.lists(objects, min_size=1, max_size=10),
    reader=readers,
    on=days,
)
def test_sql_release_rule_agrees_with_its_statement(
    db: Session,
    world: list[Period],
    group_members: list[list[str]],
    stored: list[Obj],
    reader: tuple[str, str],
    on: date,
) -> None:
    _organisations(db)
    savepoint = db.begin_nested()
    try:
        built = populate(db, world, group_members, stored, reader, on)
        inserted, expected = built.inserted, built.expected
        versions_of, visible_submitters = built.versions_of, built.visible_submitters
        collection_id = built.collection_id
        kind, who = reader
        actor = {
            "state": Actor(label="reader", role=Role.liaison, state_code=who),
            "org": Actor(
                label="reader", role=Role.secretariat, body_code="B", organisation_code=who
            ),
            "node": Actor(label="reader", role=Role.node, state_code=who),
        }[kind]
        seen = {row.id for row in db.scalars(repository.visible_to(actor, on))} & inserted
        assert seen == expected

        # Every TAXII read path, paged three at a time, agrees with the rule.
        def pages(read: Callable[[PageRequest], Page], query: dict[str, list[str]]) -> list[int]:
            served: list[int] = []
            token: list[str] = []
            while True:
                request = service.parse_page_request(
                    {**query, "limit": ["3"], **({"next": token} if token else {})},
                    service.OBJECT_FILTERS,
                    "last",
                )
                page = read(request)
                served += [row.id for row in page.rows]
                if not page.more:
                    return served
                assert page.next is not None
                token = [page.next]

        def objects(request: PageRequest) -> Page:
            return service.objects_page(db, actor, "node", collection_id, request, on=on)

        def manifest(request: PageRequest) -> Page:
            return service.manifest_page(db, actor, "node", collection_id, request, on=on)

        everything = pages(objects, {"match[version]": ["all"]})
        assert sorted(everything) == sorted(expected)
        latest = {max(v)[1] for v in versions_of.values()}
        earliest = {min(v)[1] for v in versions_of.values()}
        assert sorted(pages(objects, {})) == sorted(latest)
        assert sorted(pages(manifest, {})) == sorted(latest)
        assert sorted(pages(manifest, {"match[version]": ["first"]})) == sorted(earliest)
        for ident in range(4):
            stix_id = f"indicator--00000000-0000-4000-8000-{ident:012d}"
            request = service.parse_page_request({}, service.VERSION_FILTERS, "all")
            if stix_id in versions_of:
                listed = service.versions_page(
                    db, actor, "node", collection_id, stix_id, request, on=on
                )
                assert sorted(r.id for r in listed.rows) == sorted(
                    i for _m, i in versions_of[stix_id]
                )
                latest_only = service.parse_page_request({}, service.ONE_OBJECT_FILTERS, "last")
                one = service.object_page(
                    db, actor, "node", collection_id, stix_id, latest_only, on=on
                )
                assert [r.id for r in one.rows] == [max(versions_of[stix_id])[1]]
                # "Also reported by": exactly the other visible reports from another state.
                linked = {c.stix_id for c in service.correlations(db, actor, stix_id, on=on)}
                assert linked == {
                    other
                    for other, states in visible_submitters.items()
                    if other != stix_id
                    and any(a != b for a in visible_submitters[stix_id] for b in states)
                }
            else:
                # Invisible and missing look the same: a 404 from both.
                with pytest.raises(NotFound):
                    service.versions_page(db, actor, "node", collection_id, stix_id, request, on=on)
                with pytest.raises(NotFound):
                    service.object_page(db, actor, "node", collection_id, stix_id, request, on=on)
                with pytest.raises(NotFound):
                    service.correlations(db, actor, stix_id, on=on)
    finally:
        savepoint.rollback()
        # SQLite hands out the rolled-back row ids again in the next example.
        db.expunge_all()


def test_nobody_without_a_state_or_organisation_sees_anything(db: Session) -> None:
    admin = Actor.console("t")
    assert db.scalars(repository.visible_to(admin, date(2025, 1, 1))).first() is None
