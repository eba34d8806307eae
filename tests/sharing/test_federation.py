"""Federation's rules on both databases: links, what a linked node's account may post and read,
and pull and push against a remote that is this node's own TAXII service for another
collection (the live two-node test is in test_federation_live.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from indivisible.auth import service as auth_service
from indivisible.auth import signing
from indivisible.auth.principal import Actor, Role
from indivisible.auth.schemas import PrincipalCreate
from indivisible.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from indivisible.sharing import federation, pushes, service
from indivisible.sharing.models import StixObject, TaxiiCollection
from indivisible.sharing.schemas import (
    CollectionCreate,
    Distribution,
    LinkCreate,
    Release,
)
from tests.sharing.test_store import KAZ, indicator

CONSOLE = Actor.console("t")
GREEN = ["marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"]
RED = ["marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed"]
FEDERATED = Release(distribution=Distribution.node, federate=True)


def collection(db: Session, title: str) -> TaxiiCollection:
    return service.create_collection(
        db, CONSOLE, CollectionCreate(title=title, release=Release(distribution=Distribution.node))
    )


def node_account(db: Session, username: str) -> Actor:
    principal = auth_service.create_principal(
        db,
        CONSOLE,
        PrincipalCreate(username=username, display_name=username, role=Role.node, state="CHN"),
    )
    return Actor(label=username, role=Role.node, principal_id=principal.id, state_code="CHN")


class OwnTaxii:
    """A remote that is this node's TAXII service for one collection, read and written as a
    linked node's account: the same paging, next tokens and status as over HTTP."""

    def __init__(self, db: Session, actor: Actor, collection_id: str) -> None:
        self.db, self.actor, self.collection_id = db, actor, collection_id
        self.requests: list[dict[str, str]] = []

    def get_objects(self, params: dict[str, str]) -> tuple[dict[str, Any], str | None]:
        self.requests.append(dict(params))
        wanted = service.parse_page_request(
            {k: [v] for k, v in params.items()}, service.OBJECT_FILTERS, "last"
        )
        page = service.objects_page(self.db, self.actor, "node", self.collection_id, wanted)
        envelope: dict[str, Any] = {"more": page.more}
        if page.next:
            envelope["next"] = page.next
        if page.rows:
            envelope["objects"] = [json.loads(r.body) for r in page.rows]
        last = page.rows[-1].date_added if page.rows else None
        return envelope, None if last is None else federation._timestamp(last)

    def post_objects(
        self, objects: list[dict[str, Any]], signature: str | None = None
    ) -> dict[str, Any]:
        status = service.post_envelope(
            self.db,
            self.actor,
            "node",
            self.collection_id,
            {"objects": objects},
            pushes.Proof(signature, allow_unsigned=False),
        )
        return {
            "success_count": len(json.loads(status.successes)),
            "failures": json.loads(status.failures),
        }


def node_key() -> Ed25519PrivateKey:
    return signing.load_private(signing.generate()[0])


def names(db: Session, collection_id: str) -> dict[str, StixObject]:
    rows = db.scalars(select(StixObject).where(StixObject.collection_id == collection_id))
    return {json.loads(row.body)["name"]: row for row in rows}


def test_links_are_managed_by_the_operator_and_checked(db: Session) -> None:
    local = collection(db, "local")
    data = LinkCreate(
        name="sco-node",
        url="https://sco.example/taxii2/node/collections/x/",
        collection=local.id,
        secret="t",
    )
    with pytest.raises(PermissionDenied):
        federation.add_link(db, KAZ, data)
    link = federation.add_link(db, CONSOLE, data)
    assert (link.pull, link.push, link.pulled_until) == (True, False, None)
    with pytest.raises(Conflict) as duplicate:
        federation.add_link(db, CONSOLE, data)
    assert duplicate.value.field == "name"
    with pytest.raises(InvalidInput) as unknown:
        federation.add_link(db, CONSOLE, data.model_copy(update={"name": "b", "collection": "x"}))
    assert unknown.value.field == "collection"
    with pytest.raises(ValidationError, match="pulls, pushes or both"):
        LinkCreate(name="c", url=data.url, collection=local.id, secret="t", pull=False)
    with pytest.raises(ValidationError, match="url"):
        LinkCreate(name="c", url="ftp://x/collections/y/", collection=local.id, secret="t")
    with pytest.raises(ValidationError, match="cannot go to linked nodes"):
        Release(distribution=Distribution.submitter, federate=True)
    # The pull checkpoint moves back only, with a time that says its offset, by the operator.
    pulled = datetime(2026, 12, 1, tzinfo=UTC)
    link.pulled_until = pulled
    with pytest.raises(PermissionDenied):
        federation.rewind(db, KAZ, "sco-node", None)
    with pytest.raises(InvalidInput) as forward:
        federation.rewind(db, CONSOLE, "sco-node", pulled + timedelta(days=1))
    assert (forward.value.code, forward.value.field) == ("rewind_forward", "since")
    with pytest.raises(InvalidInput) as naive:
        federation.rewind(db, CONSOLE, "sco-node", datetime(2026, 11, 1))
    assert naive.value.code == "naive_time"
    with pytest.raises(NotFound):
        federation.rewind(db, CONSOLE, "no-such-link", None)
    earlier = pulled - timedelta(days=3)
    assert (
        service.as_utc(federation.rewind(db, CONSOLE, "sco-node", earlier).pulled_until or pulled)
        == earlier
    )
    assert federation.rewind(db, CONSOLE, "sco-node", None).pulled_until is None
    federation.remove_link(db, CONSOLE, "sco-node")
    assert federation.links(db, CONSOLE) == []


def test_what_a_node_account_posts_is_received_not_submitted(db: Session) -> None:
    local = collection(db, "local")
    peer = node_account(db, "un-node")
    obj = indicator(1, object_marking_refs=GREEN)
    # Unsigned, and this node does not allow it: refused before anything is stored.
    with pytest.raises(InvalidInput) as refused:
        service.submit(db, peer, local, [obj], FEDERATED)
    assert (refused.value.code, refused.value.field) == (
        "push_signature_required",
        "Indivisible-Signature",
    )
    allowed = pushes.Proof(None, allow_unsigned=True)
    result = service.submit(db, peer, local, [obj], FEDERATED, allowed)
    assert not result.failures
    row = db.scalars(select(StixObject).where(StixObject.collection_id == local.id)).one()
    # The peer cannot choose a release: received objects take the collection's, and stay here.
    assert (row.origin_node, row.submitter_state, row.federate) == ("un-node", None, False)
    received = service.version_read(db, row).received
    assert received is not None and (received.origin, received.signed) == ("un-node", False)


def test_pull_and_push_move_exactly_the_federable_objects(
    db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    theirs = collection(db, "theirs")
    ours = collection(db, "ours")
    for n, (marking, release) in enumerate(
        [
            (GREEN, FEDERATED),
            (GREEN, Release(distribution=Distribution.node)),
            (RED, Release(distribution=Distribution.states, states=["KAZ"], federate=True)),
            (GREEN, FEDERATED),
        ],
        start=1,
    ):
        service.submit(db, KAZ, theirs, [indicator(n, object_marking_refs=marking)], release)
    service.submit(db, KAZ, ours, [indicator(11, object_marking_refs=GREEN)], FEDERATED)
    service.submit(db, KAZ, ours, [indicator(12, object_marking_refs=GREEN)])
    link = federation.add_link(
        db,
        CONSOLE,
        LinkCreate(
            name="peer",
            url=f"https://peer.example/taxii2/node/collections/{theirs.id}/",
            collection=ours.id,
            secret="t",
            push=True,
        ),
    )
    remote = OwnTaxii(db, node_account(db, "peer-account"), theirs.id)
    # The peer's operator registered this node's key on the account this node pushes as.
    key = node_key()
    auth_service.set_node_key(db, CONSOLE, "peer-account", signing.public_b64(key))
    monkeypatch.setattr(federation, "PULL_PAGE", 1)
    steps = list(federation.sync(db, CONSOLE, link, remote, node_key=key))
    assert [(s.direction, s.stored) for s in steps] == [("pull", 1), ("pull", 1), ("push", 1)]
    # The second page was asked for with the first page's next token.
    assert "next" in remote.requests[1]
    received = names(db, ours.id)
    assert set(received) == {"Indicator 1", "Indicator 4", "Indicator 11", "Indicator 12"}
    assert received["Indicator 4"].origin_node == "peer"
    sent = names(db, theirs.id)
    assert sent["Indicator 11"].origin_node == "peer-account"
    assert "Indicator 12" not in sent
    # The push came signed with this node's key, and its receipt checks offline.
    receipt = service.version_read(db, sent["Indicator 11"]).received
    assert receipt is not None and receipt.signed
    assert receipt.key_id == signing.key_id(signing.public_bytes(signing.public_b64(key)))
    blocks = [pushes.read(r) for r in pushes.receipts(db, CONSOLE, "peer-account")]
    assert [pushes.check(b) for b in blocks] == [(True, "ok")]
    assert link.last_sync_at is not None and link.pulled_until is not None

    # Again: nothing to fetch or send, and the pull asks only for what came after.
    again = federation.sync(db, CONSOLE, link, remote, node_key=key)
    assert [(s.stored, s.already) for s in again] == []
    assert remote.requests[-1]["added_after"] == federation._timestamp(link.pulled_until)

    # A later object is the only one fetched.
    service.submit(db, KAZ, theirs, [indicator(5, object_marking_refs=GREEN)], FEDERATED)
    later = list(federation.sync(db, CONSOLE, link, remote, node_key=key))
    assert [(s.direction, s.stored, s.already) for s in later] == [("pull", 1, 0)]


def test_a_refused_push_moves_on_and_reports_why(db: Session) -> None:
    ours = collection(db, "ours")
    service.submit(db, KAZ, ours, [indicator(1, object_marking_refs=GREEN)], FEDERATED)
    link = federation.add_link(
        db,
        CONSOLE,
        LinkCreate(
            name="peer",
            url="https://peer.example/taxii2/node/collections/theirs/",
            collection=ours.id,
            secret="t",
            pull=False,
            push=True,
        ),
    )

    class Refusing:
        def get_objects(self, params: dict[str, str]) -> tuple[dict[str, Any], str | None]:
            raise AssertionError("a push-only link never pulls")

        def post_objects(
            self, objects: list[dict[str, Any]], signature: str | None = None
        ) -> dict[str, Any]:
            return {
                "success_count": 0,
                "failures": [{"id": o["id"], "message": "refused there"} for o in objects],
            }

    steps = list(federation.sync(db, CONSOLE, link, Refusing()))
    assert [(s.stored, [f.message for f in s.failures]) for s in steps] == [(0, ["refused there"])]
    assert link.pushed_until is not None
    assert list(federation.sync(db, CONSOLE, link, Refusing())) == []
