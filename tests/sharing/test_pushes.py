"""Signed federation pushes on both databases: what a linked node's account posts is stored only
when the node's signature holds, every other case is refused with its reason and leaves nothing
behind, and what was stored keeps a receipt that checks offline."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from indivisible.auth import service as auth_service
from indivisible.auth import signing
from indivisible.auth.principal import Actor, Role
from indivisible.auth.schemas import PrincipalCreate, TokenCreate
from indivisible.cli import app as cli
from indivisible.errors import Conflict, IndivisibleError, InvalidInput
from indivisible.sharing import pushes, service
from indivisible.sharing.models import PushReceipt, StixObject, TaxiiCollection
from tests.conftest import Account
from tests.sharing.test_federation import CONSOLE, GREEN, collection, node_account
from tests.sharing.test_federation_live import TAXII
from tests.sharing.test_store import indicator
from tests.web.test_pages import login

OBJECTS = [indicator(1, object_marking_refs=GREEN), indicator(2, object_marking_refs=GREEN)]


def key() -> Ed25519PrivateKey:
    return signing.load_private(signing.generate()[0])


def header_at(
    private: Ed25519PrivateKey, collection_id: str, objects: list[Any], at: datetime
) -> str:
    moment = at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    made = signing.sign(private, pushes.document(collection_id, moment, objects))
    return f"key_id={made['key_id']}; signed_at={moment}; signature={made['signature']}"


def stored(db: Session) -> tuple[int, int]:
    return (
        db.scalar(select(func.count()).select_from(StixObject)) or 0,
        db.scalar(select(func.count()).select_from(PushReceipt)) or 0,
    )


@pytest.fixture
def peer(db: Session) -> tuple[Actor, Ed25519PrivateKey, TaxiiCollection]:
    """A linked node's account with its key registered, and the collection it pushes to."""
    actor = node_account(db, "sco-node")
    private = key()
    auth_service.set_node_key(db, CONSOLE, "sco-node", signing.public_b64(private))
    return actor, private, collection(db, "exchange")


Forged = Callable[[Ed25519PrivateKey, str], tuple[str | None, bool]]

# Each: (header for the fixture's key and collection, whether unsigned posts are allowed),
# and the code of the refusal.
REFUSED: dict[str, tuple[Forged, str]] = {
    "unsigned while a key is registered, even where unsigned posts are allowed": (
        lambda k, c: (None, True),
        "push_signature_required",
    ),
    "signed with another key": (
        lambda k, c: (pushes.sign(key(), c, OBJECTS), False),
        "push_key_other",
    ),
    "objects changed after signing": (
        lambda k, c: (pushes.sign(k, c, [*OBJECTS[:1], {**OBJECTS[1], "name": "changed"}]), False),
        "push_signature_bad",
    ),
    "signed for another collection": (
        lambda k, c: (pushes.sign(k, "another-collection", OBJECTS), False),
        "push_signature_bad",
    ),
    "signed two hours ago": (
        lambda k, c: (header_at(k, c, OBJECTS, datetime.now(UTC) - timedelta(hours=2)), False),
        "push_signature_too_old",
    ),
    "signed an hour ahead": (
        lambda k, c: (header_at(k, c, OBJECTS, datetime.now(UTC) + timedelta(hours=1)), False),
        "push_signed_in_future",
    ),
    "a header without its signature": (
        lambda k, c: (pushes.sign(k, c, OBJECTS).split("; signature=")[0], False),
        "push_signature_malformed",
    ),
    "a signature changed by one character": (
        lambda k, c: (_flip(pushes.sign(k, c, OBJECTS)), False),
        "push_signature_bad",
    ),
}


def _flip(header: str) -> str:
    head, signature = header.split("; signature=")
    first = "B" if signature[0] != "B" else "C"
    return f"{head}; signature={first}{signature[1:]}"


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_a_push_that_does_not_hold_is_refused_and_leaves_nothing(
    db: Session, peer: tuple[Actor, Ed25519PrivateKey, TaxiiCollection], case: str
) -> None:
    actor, private, target = peer
    forge, code = REFUSED[case]
    header, allow_unsigned = forge(private, target.id)
    before = stored(db)
    with pytest.raises(InvalidInput) as refused:
        service.submit(db, actor, target, OBJECTS, proof=pushes.Proof(header, allow_unsigned))
    assert (refused.value.code, refused.value.field) == (code, pushes.HEADER)
    assert stored(db) == before


def test_a_signed_push_is_stored_with_a_receipt_that_checks_offline(
    db: Session, peer: tuple[Actor, Ed25519PrivateKey, TaxiiCollection], tmp_path: Any
) -> None:
    actor, private, target = peer
    header = pushes.sign(private, target.id, OBJECTS)
    result = service.submit(db, actor, target, OBJECTS, proof=pushes.Proof(header, False))
    assert len(result.successes) == 2 and not result.failures
    rows = db.scalars(select(StixObject).where(StixObject.collection_id == target.id)).all()
    assert {r.receipt_id for r in rows} != {None} and len({r.receipt_id for r in rows}) == 1
    seen = service.version_read(db, rows[0]).received
    assert seen is not None and seen.signed and seen.origin == "sco-node"
    assert seen.key_id == signing.key_id(signing.public_bytes(signing.public_b64(private)))

    # The same push sent again is a replay, refused; nothing more is stored.
    before = stored(db)
    with pytest.raises(Conflict) as replayed:
        service.submit(db, actor, target, OBJECTS, proof=pushes.Proof(header, False))
    assert replayed.value.code == "push_replayed"
    assert stored(db) == before

    block = pushes.read(pushes.receipts(db, CONSOLE, "sco-node")[0])
    assert pushes.check(block) == (True, "ok")
    # Anyone holding the receipt can check it with the generic offline command, and a receipt
    # whose envelope was changed afterwards fails there.
    good = tmp_path / "receipt.json"
    good.write_text(json.dumps(block), encoding="utf-8")
    checked = CliRunner().invoke(cli, ["keys", "verify-item", str(good)])
    assert checked.exit_code == 0, checked.output
    tampered = json.loads(json.dumps(block))
    tampered["document"]["content"]["objects"][0]["name"] = "rewritten"
    assert pushes.check(tampered) == (False, "bad_signature")
    bad = tmp_path / "tampered.json"
    bad.write_text(json.dumps(tampered), encoding="utf-8")
    assert CliRunner().invoke(cli, ["keys", "verify-item", str(bad)]).exit_code == 1


def test_a_push_needs_a_registered_key_and_only_node_accounts_have_one(db: Session) -> None:
    actor = node_account(db, "un-node")
    target = collection(db, "exchange")
    with pytest.raises(InvalidInput) as unknown:
        service.submit(
            db,
            actor,
            target,
            OBJECTS,
            proof=pushes.Proof(pushes.sign(key(), target.id, OBJECTS), False),
        )
    assert unknown.value.code == "push_key_unknown"
    auth_service.create_principal(
        db,
        CONSOLE,
        PrincipalCreate(
            username="kaz-officer", display_name="K", role=Role.liaison, state="KAZ", password=None
        ),
    )
    with pytest.raises(InvalidInput) as not_node:
        auth_service.set_node_key(db, CONSOLE, "kaz-officer", signing.public_b64(key()))
    assert (not_node.value.code, not_node.value.field) == ("not_a_node_account", "username")
    with pytest.raises(IndivisibleError) as missing:
        auth_service.set_node_key(db, CONSOLE, "nobody", signing.public_b64(key()))
    assert missing.value.code == "unknown_principal"
    with pytest.raises(InvalidInput) as bad_key:
        auth_service.set_node_key(db, CONSOLE, "un-node", "not a key")
    assert (bad_key.value.code, bad_key.value.field) == ("bad_key", "public_key")


def test_a_push_over_taxii_is_checked_and_its_receipt_shown(
    client: TestClient,
    db: Session,
    accounts: dict[str, Account],
    peer: tuple[Actor, Ed25519PrivateKey, TaxiiCollection],
) -> None:
    _actor, private, target = peer
    token = auth_service.issue_token(db, CONSOLE, TokenCreate(name="link"), for_username="sco-node")
    db.commit()
    url = f"/taxii2/node/collections/{target.id}/objects/"
    headers = {
        "Accept": TAXII,
        "Content-Type": TAXII,
        "Authorization": f"Bearer {token.secret}",
    }
    body = {"objects": OBJECTS}
    unsigned = client.post(url, json=body, headers=headers)
    assert unsigned.status_code == 422, unsigned.text
    assert "Indivisible-Signature" in unsigned.text
    forged = client.post(
        url,
        json=body,
        headers={**headers, pushes.HEADER: pushes.sign(key(), target.id, OBJECTS)},
    )
    assert forged.status_code == 422 and "push_key_other" in forged.text, forged.text
    signed = client.post(
        url, json=body, headers={**headers, pushes.HEADER: pushes.sign(private, target.id, OBJECTS)}
    )
    assert signed.status_code == 202, signed.text
    assert signed.json()["success_count"] == 2

    reader = accounts["liaison"]
    view = client.get(f"/api/v1/sharing/objects/{OBJECTS[0]['id']}", headers=reader.headers)
    assert view.status_code == 200, view.text
    received = view.json()["release"]["received"]
    assert (received["origin"], received["signed"]) == ("sco-node", True)
    login(client, reader)
    page = client.get(f"/sharing/objects/{OBJECTS[0]['id']}")
    assert page.status_code == 200
    assert f"pushed by sco-node, signed with node key {received['key_id']}" in page.text


def test_an_envelope_no_signature_can_cover_is_refused_for_that_reason(
    db: Session, peer: tuple[Actor, Ed25519PrivateKey, TaxiiCollection]
) -> None:
    actor, private, target = peer
    # RFC 8785 represents integers exactly only up to 2**53: such an envelope has no canonical
    # form to sign, which the answer says rather than calling the signature wrong.
    huge = [{**OBJECTS[0], "x_size": 2**60}]
    header = pushes.sign(private, target.id, OBJECTS)
    with pytest.raises(InvalidInput) as refused:
        service.submit(db, actor, target, huge, proof=pushes.Proof(header, False))
    assert refused.value.code == "push_not_canonical"
    with pytest.raises(ValueError, match="safe integer domain"):
        pushes.sign(private, target.id, huge)
