"""STIX objects signed by their state, on both databases: a signature an object carries is
checked against the state's keys wherever the object is stored (submitted, shared again,
pushed or pulled by a linked node), a wrong one refuses that object with its reason and leaves
nothing of it, a right one is shown with the object and checks offline, and other nodes'
state keys are adopted by the operator."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import stix2
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from stix2validator import ValidationOptions, validate_instance
from typer.testing import CliRunner

from indivisible.auth import keys, signing, submissions
from indivisible.auth import service as auth_service
from indivisible.auth.principal import Actor, Role
from indivisible.auth.schemas import KeyCreate, KeyEnd, KeyRead, SubmissionSignatureIn
from indivisible.cli import app as cli
from indivisible.errors import InvalidInput, PermissionDenied
from indivisible.i18n import translations
from indivisible.sharing import pushes, service, signatures
from indivisible.sharing.models import StixObject, TaxiiCollection
from tests.conftest import ACCOUNT_SPECS, Account
from tests.sharing.test_federation import CONSOLE, GREEN, collection, node_account
from tests.sharing.test_federation_live import TAXII
from tests.sharing.test_store import indicator
from tests.web.test_pages import login

KAZ = Actor(label="kaz", role=Role.liaison, principal_id=None, state_code="KAZ")
KGZ = Actor(label="kgz", role=Role.liaison, principal_id=None, state_code="KGZ")
RUS = Actor(label="rus", role=Role.liaison, principal_id=None, state_code="RUS")


def new_key() -> Ed25519PrivateKey:
    return signing.load_private(signing.generate()[0])


def register(db: Session, actor: Actor) -> Ed25519PrivateKey:
    private = new_key()
    keys.register(db, actor, KeyCreate(public_key=signing.public_b64(private)))
    return private


def rows(db: Session, stix_id: str) -> list[StixObject]:
    return list(db.scalars(select(StixObject).where(StixObject.stix_id == stix_id)))


@pytest.fixture
def shared(db: Session) -> TaxiiCollection:
    return collection(db, "signed")


def test_a_signed_object_is_stored_as_sent_and_shown_signed(
    db: Session, shared: TaxiiCollection
) -> None:
    private = register(db, KAZ)
    obj = signatures.sign(private, "KAZ", indicator(1, object_marking_refs=GREEN))
    result = service.submit(db, KAZ, shared, [obj])
    assert (len(result.successes), result.failures) == (1, [])
    [row] = rows(db, obj["id"])
    assert json.loads(row.body) == obj
    assert (row.signer_state, row.signer_key) == (
        "KAZ",
        signing.key_id(signing.public_bytes(signing.public_b64(private))),
    )

    # Both OASIS libraries accept the object with its extension.
    assert validate_instance(obj, ValidationOptions(version="2.1")).is_valid
    assert stix2.parse(obj, allow_custom=False).id == obj["id"]

    view = service.object_view(db, KAZ, obj["id"])
    assert view.release.signer_state == "KAZ"
    assert view.signature["signed"] is True
    assert submissions.check_offline(view.signature) == (True, "ok")
    # Pinned to another key, the same block fails.
    assert submissions.check_offline(view.signature, signing.public_b64(new_key())) == (
        False,
        "other_key",
    )


def test_an_unsigned_object_is_stored_and_shown_unsigned_unless_the_node_requires_signing(
    db: Session, shared: TaxiiCollection
) -> None:
    private = register(db, KAZ)
    plain = indicator(2, object_marking_refs=GREEN)
    assert len(service.submit(db, KAZ, shared, [plain]).successes) == 1
    [row] = rows(db, plain["id"])
    assert (row.signer_state, row.signer_key) == (None, None)
    assert service.object_view(db, KAZ, plain["id"]).signature["signed"] is False

    strict = pushes.Proof(None, allow_unsigned=False, signed_objects_required=True)
    other = indicator(3, object_marking_refs=GREEN)
    refused = service.submit(db, KAZ, shared, [other], proof=strict)
    assert refused.successes == []
    assert "accepts only objects signed by their state" in (refused.failures[0].message or "")
    assert rows(db, other["id"]) == []
    signed = signatures.sign(private, "KAZ", other)
    assert len(service.submit(db, KAZ, shared, [signed], proof=strict).successes) == 1


Forge = Callable[[Session, Ed25519PrivateKey, dict[str, Any]], dict[str, Any]]


def _tampered(db: Session, k: Ed25519PrivateKey, obj: dict[str, Any]) -> dict[str, Any]:
    return {**signatures.sign(k, "KAZ", obj), "name": "changed after signing"}


def _marking_dropped(db: Session, k: Ed25519PrivateKey, obj: dict[str, Any]) -> dict[str, Any]:
    signed = signatures.sign(k, "KAZ", obj)
    return {key: value for key, value in signed.items() if key != "object_marking_refs"}


def _another_states_key(db: Session, k: Ed25519PrivateKey, obj: dict[str, Any]) -> dict[str, Any]:
    return signatures.sign(register(db, RUS), "KAZ", obj)


def _unregistered_key(db: Session, k: Ed25519PrivateKey, obj: dict[str, Any]) -> dict[str, Any]:
    return signatures.sign(new_key(), "KAZ", obj)


def _revoked_key(db: Session, k: Ed25519PrivateKey, obj: dict[str, Any]) -> dict[str, Any]:
    [key] = keys.keys(db, "KAZ")
    keys.end(db, KAZ, key.id, KeyEnd(reason="compromised"), revoke=True)
    return signatures.sign(k, "KAZ", obj, signed_at=datetime.now(UTC) + timedelta(seconds=1))


def _in_the_future(db: Session, k: Ed25519PrivateKey, obj: dict[str, Any]) -> dict[str, Any]:
    return signatures.sign(k, "KAZ", obj, signed_at=datetime.now(UTC) + timedelta(hours=1))


def _signature_missing(db: Session, k: Ed25519PrivateKey, obj: dict[str, Any]) -> dict[str, Any]:
    signed = signatures.sign(k, "KAZ", obj)
    del signed["extensions"][signatures.EXTENSION]["signature"]
    return signed


def _other_state_named(db: Session, k: Ed25519PrivateKey, obj: dict[str, Any]) -> dict[str, Any]:
    signed = signatures.sign(k, "KAZ", obj)
    signed["extensions"][signatures.EXTENSION]["state"] = "KGZ"
    return signed


def _member_added(db: Session, k: Ed25519PrivateKey, obj: dict[str, Any]) -> dict[str, Any]:
    signed = signatures.sign(k, "KAZ", obj)
    signed["extensions"][signatures.EXTENSION]["note"] = "added by a forwarding node"
    return signed


def _bad_key_id(db: Session, k: Ed25519PrivateKey, obj: dict[str, Any]) -> dict[str, Any]:
    signed = signatures.sign(k, "KAZ", obj)
    signed["extensions"][signatures.EXTENSION]["key_id"] = "not hex"
    return signed


# Each: how the object is forged from the registered key, and words of the refusal.
REFUSED: dict[str, tuple[Forge, str]] = {
    "changed after signing": (_tampered, "does not match the object"),
    "a marking dropped after signing": (_marking_dropped, "does not match the object"),
    "signed with another state's key": (_another_states_key, "is not one of KAZ's keys"),
    "signed with a key not registered here": (_unregistered_key, "is registered on this node"),
    "signed after its key was revoked": (_revoked_key, "was revoked before this was signed"),
    "signed an hour ahead": (_in_the_future, "Signed in the future"),
    "a signature block without its signature": (_signature_missing, "needs state, key_id"),
    "another state named in the block": (_other_state_named, "is not one of KGZ's keys"),
    "a key id of the wrong shape": (_bad_key_id, "needs state, key_id"),
    "a member added to the signature block": (_member_added, "and nothing else"),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_a_signature_that_does_not_hold_refuses_that_object_only(
    db: Session, shared: TaxiiCollection, case: str
) -> None:
    forge, words = REFUSED[case]
    private = register(db, KAZ)
    bad = forge(db, private, indicator(4, object_marking_refs=GREEN))
    good = indicator(5, object_marking_refs=GREEN)
    result = service.submit(db, KAZ, shared, [bad, good])
    assert [o.id for o in result.successes] == [good["id"]]
    [failure] = result.failures
    assert failure.id == bad["id"] and words in (failure.message or ""), failure.message
    assert rows(db, bad["id"]) == []


def test_another_state_shares_a_signed_object_again_and_it_stays_kazakhstans(
    db: Session, shared: TaxiiCollection
) -> None:
    private = register(db, KAZ)
    obj = signatures.sign(private, "KAZ", indicator(6, object_marking_refs=GREEN))
    service.submit(db, KAZ, shared, [obj])
    elsewhere = collection(db, "elsewhere")
    assert len(service.submit(db, KGZ, elsewhere, [obj]).successes) == 1
    again = [r for r in rows(db, obj["id"]) if r.collection_id == elsewhere.id]
    assert [(r.submitter_state, r.signer_state) for r in again] == [("KGZ", "KAZ")]
    # Re-sharing cannot re-attribute it: claiming it for KGZ with KAZ's signature fails.
    claimed = json.loads(json.dumps(obj))
    claimed["extensions"][signatures.EXTENSION]["state"] = "KGZ"
    assert service.submit(db, KGZ, elsewhere, [claimed]).failures


def test_a_linked_node_cannot_alter_what_a_state_signed(db: Session) -> None:
    """The push is signed by the node and holds; the object inside was changed by that node
    after its state signed it, so it alone is refused."""
    state_key = register(db, KAZ)
    actor = node_account(db, "sco-node")
    node_key = new_key()
    auth_service.set_node_key(db, CONSOLE, "sco-node", signing.public_b64(node_key))
    target = collection(db, "exchange")
    genuine = signatures.sign(state_key, "KAZ", indicator(7, object_marking_refs=GREEN))
    altered = {**signatures.sign(state_key, "KAZ", indicator(8, object_marking_refs=GREEN))}
    altered["pattern"] = "[ipv4-addr:value = '203.0.113.9']"
    objects = [genuine, altered]
    proof = pushes.Proof(pushes.sign(node_key, target.id, objects), allow_unsigned=False)
    result = service.submit(db, actor, target, objects, proof=proof)
    assert [o.id for o in result.successes] == [genuine["id"]]
    assert "does not match the object" in (result.failures[0].message or "")
    [row] = rows(db, genuine["id"])
    assert (row.origin_node, row.signer_state) == ("sco-node", "KAZ")


def test_the_operator_adopts_another_nodes_state_keys_and_their_revocations(
    db: Session, shared: TaxiiCollection
) -> None:
    home = new_key()
    public = signing.public_b64(home)
    key_id = signing.key_id(signing.public_bytes(public))
    registered = datetime.now(UTC) - timedelta(days=30)
    listed = KeyRead(
        id=key_id, state="UZB", public_key=public, valid_from=registered, valid_to=None,
        revoked_at=None, revocation_reason=None,
    )  # fmt: skip
    older = signatures.sign(
        home,
        "UZB",
        indicator(9, object_marking_refs=GREEN),
        signed_at=registered + timedelta(days=1),
    )
    # Before adoption the key is unknown here.
    assert "is registered on this node" in (
        service.submit(db, KGZ, shared, [older]).failures[0].message or ""
    )
    with pytest.raises(PermissionDenied):
        keys.adopt(db, KGZ, [listed], "test")
    with pytest.raises(InvalidInput) as mismatch:
        keys.adopt(db, CONSOLE, [listed.model_copy(update={"id": "0" * 32})], "test")
    assert mismatch.value.field == "keys[0].id"
    with pytest.raises(InvalidInput) as unknown:
        keys.adopt(db, CONSOLE, [listed.model_copy(update={"state": "QQQ"})], "test")
    assert unknown.value.field == "keys[0].state"

    keys.adopt(db, CONSOLE, [listed], "UZB's node, key list of today")
    # A signature made a month ago, before this node knew the key, verifies now.
    assert len(service.submit(db, KGZ, shared, [older]).successes) == 1
    assert rows(db, older["id"])[0].signer_state == "UZB"

    # The adopted key checks what linked nodes forward, never a submission made here: the
    # operator cannot sign for a state by adopting a key.
    [key] = keys.keys(db, "UZB")
    assert key.adopted_from == "UZB's node, key list of today"
    assert keys.read(key).adopted_from == key.adopted_from
    body = submissions.sign_body(home, "cbm.notification", "UZB", {"kind": "exercise"})
    with pytest.raises(InvalidInput) as adopted:
        submissions.attest(
            db,
            Actor(label="uzb", role=Role.liaison, principal_id=None, state_code="UZB"),
            kind="cbm.notification",
            subject_key="1",
            state="UZB",
            signature=SubmissionSignatureIn.model_validate(body["signature"]),
            submission=submissions.Submission(body=body, allow_unsigned=False),
        )
    assert adopted.value.code == "signature_adopted"
    # Trust does not chain: a key another node adopted is not adopted from it.
    with pytest.raises(InvalidInput) as chained:
        keys.adopt(db, CONSOLE, [keys.read(key)], "a third node")
    assert chained.value.field == "keys[0].adopted_from"

    revoked = datetime.now(UTC) - timedelta(days=1)
    keys.adopt(db, CONSOLE, [listed.model_copy(update={"revoked_at": revoked, "revocation_reason": "lost"})], "again")  # fmt: skip
    # Running the old list again does not revive the key.
    keys.adopt(db, CONSOLE, [listed], "old list")
    after = signatures.sign(home, "UZB", indicator(10, object_marking_refs=GREEN))
    assert "was revoked" in (service.submit(db, KGZ, shared, [after]).failures[0].message or "")
    assert len(service.submit(db, KGZ, shared, [older]).successes) == 1  # "already stored"


def test_the_api_and_the_page_show_the_signer(
    client: TestClient, db: Session, accounts: dict[str, Account]
) -> None:
    reader = accounts["liaison"]
    state = ACCOUNT_SPECS["liaison"][1]
    assert state is not None
    private = new_key()
    answer = client.post(
        "/api/v1/auth/keys",
        json={"public_key": signing.public_b64(private)},
        headers=reader.headers,
    )
    assert answer.status_code == 201, answer.text
    target = collection(db, "api")
    db.commit()
    obj = signatures.sign(private, state, indicator(11, object_marking_refs=GREEN))
    sent = client.post(
        "/api/v1/sharing/objects",
        json={"collection": target.id, "objects": [obj]},
        headers=reader.headers,
    )
    assert sent.status_code == 200 and sent.json()["failures"] == [], sent.text
    view = client.get(f"/api/v1/sharing/objects/{obj['id']}", headers=reader.headers).json()
    assert view["release"]["signer_state"] == state
    assert submissions.check_offline(view["signature"]) == (True, "ok")
    definition = client.get("/api/v1/sharing/signature-extension", headers=reader.headers).json()
    assert definition["id"] == signatures.EXTENSION
    assert validate_instance(definition, ValidationOptions(version="2.1")).is_valid
    login(client, reader)
    page = client.get(f"/sharing/objects/{obj['id']}")
    assert f"Signed by {state} with key {view['release']['signer_key']}" in page.text


def test_sign_and_verify_objects_on_the_command_line(tmp_path: Path) -> None:
    runner = CliRunner()
    private_path = tmp_path / "kaz.pem"
    made = runner.invoke(cli, ["keys", "generate", "--out", str(private_path)])
    assert made.exit_code == 0, made.output
    public = made.output.split("\n")[1].strip()
    envelope = tmp_path / "envelope.json"
    envelope.write_text(json.dumps({"objects": [indicator(12), indicator(13)]}))
    signed = runner.invoke(
        cli, ["keys", "sign-objects", str(envelope), "--key", str(private_path), "--state", "KAZ"]
    )
    assert signed.exit_code == 0, signed.output
    out = tmp_path / "signed.json"
    out.write_text(signed.stdout)
    checked = runner.invoke(cli, ["keys", "verify-item", str(out), "--public-key", public])
    assert checked.exit_code == 0, checked.output
    assert checked.output.count("indivisible.stix.object\tKAZ") == 2
    data = json.loads(out.read_text())
    data["objects"][1]["name"] = "changed"
    out.write_text(json.dumps(data))
    failed = runner.invoke(cli, ["keys", "verify-item", str(out), "--public-key", public])
    assert failed.exit_code == 1
    assert "NOT VALID: the signature does not match" in failed.output
    refused = runner.invoke(
        cli, ["keys", "sign-objects", str(envelope), "--key", str(private_path), "--state", "kz"]
    )
    assert refused.exit_code == 2 and "--state" in refused.output


def test_a_node_that_requires_signed_objects_refuses_unsigned_ones_everywhere(
    app: FastAPI, client: TestClient, db: Session, accounts: dict[str, Account]
) -> None:
    """TAXII, the API and the web form (which cannot sign) all apply the node's rule."""
    reader = accounts["liaison"]
    target = collection(db, "strict")
    db.commit()
    original = app.state.settings
    app.state.settings = original.model_copy(update={"signed_objects_required": True})
    try:
        plain = indicator(20, object_marking_refs=GREEN)
        api = client.post(
            "/api/v1/sharing/objects",
            json={"collection": target.id, "objects": [plain]},
            headers=reader.headers,
        )
        assert "accepts only objects signed by their state" in api.json()["failures"][0]["message"]
        taxii = client.post(
            f"/taxii2/node/collections/{target.id}/objects/",
            json={"objects": [plain]},
            headers={**reader.headers, "Accept": TAXII, "Content-Type": TAXII},
        )
        assert taxii.status_code == 202 and taxii.json()["failure_count"] == 1, taxii.text
        login(client, reader)
        form = client.get("/sharing/submit")
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert csrf is not None
        form_data = {"csrf": csrf.group(1), "name": "Unsigned", "type": "indicator",
                     "pattern": "[ipv4-addr:value = '198.51.100.7']", "collection": target.id,
                     "distribution": "node"}  # fmt: skip
        sent = client.post("/sharing/submit", data=form_data)
        assert sent.status_code == 422
        # Under the form, not the pattern: the pattern is fine, the form cannot sign.
        refusal = re.search(r'id="error-form">([^<]*)<', sent.text)
        assert refusal is not None and "accepts only objects signed by their state" in refusal[1]
        assert 'id="error-pattern"' not in sent.text
        client.cookies.set("indivisible_lang", "ru")
        in_russian = client.post("/sharing/submit", data=form_data)
        assert in_russian.status_code == 422
        translated = translations("ru").gettext(signatures.REASONS["required"])
        assert translated != signatures.REASONS["required"]
        assert translated.format(extension=signatures.EXTENSION) in html.unescape(in_russian.text)
    finally:
        app.state.settings = original
    assert rows(db, plain["id"]) == []
