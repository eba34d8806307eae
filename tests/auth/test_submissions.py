"""Signed submissions over the API, on both databases: a notification signed on the user's
machine is checked, kept and shown with its signature; tampered, foreign, revoked, replayed,
stale and (where the node requires signatures) unsigned submissions are refused by name."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from indivisible.auth import keys, signing, submissions
from indivisible.auth.principal import Actor, Role
from indivisible.auth.schemas import KeyCreate, SubmissionSignatureIn
from indivisible.cli import app as cli_app
from tests.conftest import Account, bearer_tokens
from tests.web.test_pages import login

NEAR_ALMATY = [77.0, 43.3]


@pytest.fixture
def tokens(db: Session) -> dict[str, dict[str, str]]:
    return bearer_tokens(
        db, "sg", {"kaz": (Role.liaison, "KAZ", None), "rus": (Role.liaison, "RUS", None)}
    )


@pytest.fixture
def signed_only(app: FastAPI) -> Iterator[None]:
    original = app.state.settings
    app.state.settings = original.model_copy(update={"allow_unsigned_submissions": False})
    yield
    app.state.settings = original


def register(client: TestClient, headers: dict[str, str]) -> Ed25519PrivateKey:
    pem, public = signing.generate()
    answer = client.post(
        "/api/v1/auth/keys",
        json={"public_key": base64.b64encode(public).decode()},
        headers=headers,
    )
    assert answer.status_code == 201, answer.text
    return signing.load_private(pem)


def notification(days: int = 40) -> dict[str, Any]:
    start = datetime.now(UTC).date() + timedelta(days=days)
    return {
        "kind": "exercise",
        "start": start.isoformat(),
        "end": (start + timedelta(days=3)).isoformat(),
        "location": {"point": NEAR_ALMATY, "radius_km": 5},
        "forces": {"personnel": 1200},
        "purpose": "  spacing kept as sent  ",
    }


def post(client: TestClient, headers: dict[str, str], body: dict[str, Any]) -> Any:
    return client.post("/api/v1/cbm/notifications", json=body, headers=headers)


def test_a_signed_notification_is_kept_and_verifies_offline(
    client: TestClient, tokens: dict[str, dict[str, str]], signed_only: None
) -> None:
    key = register(client, tokens["kaz"])
    body = submissions.sign_body(key, "cbm.notification", "KAZ", notification())
    filed = post(client, tokens["kaz"], body)
    assert filed.status_code == 201, filed.text
    shown = filed.json()["signature"]
    assert shown["signed"] and shown["state"] == "KAZ"
    assert shown["key_id"] == body["signature"]["key_id"]
    # What was signed is the body as sent (untrimmed), and anyone re-checks it offline.
    assert shown["document"]["content"]["purpose"] == "  spacing kept as sent  "
    read = client.get(f"/api/v1/cbm/notifications/{filed.json()['id']}", headers=tokens["kaz"])
    assert submissions.check_offline(read.json()) == (True, "ok")
    forged = {**read.json()}
    forged["signature"] = {**shown, "document": {**shown["document"], "state": "RUS"}}
    assert not submissions.check_offline(forged)[0]

    # The same signed body again is a replay.
    again = post(client, tokens["kaz"], body)
    assert again.status_code == 409
    assert again.json()["code"] == "signature_replayed"


def test_an_exported_item_is_checked_offline_with_one_command(
    client: TestClient, tokens: dict[str, dict[str, str]], signed_only: None, tmp_path: Path
) -> None:
    key = register(client, tokens["kaz"])
    filed = post(
        client, tokens["kaz"], submissions.sign_body(key, "cbm.notification", "KAZ", notification())
    )
    assert filed.status_code == 201, filed.text
    read = client.get(f"/api/v1/cbm/notifications/{filed.json()['id']}", headers=tokens["kaz"])
    item = tmp_path / "item.json"
    item.write_text(json.dumps(read.json()))
    public = read.json()["signature"]["public_key"]
    runner = CliRunner()

    def check(path: Path, *extra: str) -> Any:
        return runner.invoke(cli_app, ["keys", "verify-item", str(path), *extra])

    answer = check(item)
    assert answer.exit_code == 0, answer.output
    assert "valid" in answer.output and "--public-key" in answer.output
    assert check(item, "--public-key", public).exit_code == 0
    # A list answer as the API pages it, with the same item twice.
    listed = tmp_path / "list.json"
    listed.write_text(json.dumps({"items": [read.json(), read.json()]}))
    assert check(listed, "--public-key", public).exit_code == 0

    # Content changed after signing; a key that is not the state's; an unsigned item.
    forged = read.json()
    forged["signature"]["document"]["content"]["forces"]["personnel"] = 12
    (tmp_path / "forged.json").write_text(json.dumps(forged))
    answer = check(tmp_path / "forged.json")
    assert answer.exit_code == 1 and "does not match" in answer.output
    _pem, other = signing.generate()
    answer = check(item, "--public-key", base64.b64encode(other).decode())
    assert answer.exit_code == 1 and "not the public key" in answer.output
    unsigned = {**read.json(), "signature": {"signed": False, "state": "KAZ"}}
    (tmp_path / "unsigned.json").write_text(json.dumps(unsigned))
    assert check(tmp_path / "unsigned.json").exit_code == 1
    (tmp_path / "broken.json").write_text('[1, {"signature": 2}]')
    assert check(tmp_path / "broken.json").exit_code == 2


def test_the_notification_page_shows_who_signed_with_which_key(
    client: TestClient, accounts: dict[str, Account], app: FastAPI
) -> None:
    kaz = {"Authorization": f"Bearer {accounts['liaison'].token}"}
    key = register(client, kaz)
    signed = post(
        client, kaz, submissions.sign_body(key, "cbm.notification", "KAZ", notification())
    )
    unsigned = post(client, kaz, notification(days=50))
    assert signed.status_code == unsigned.status_code == 201, (signed.text, unsigned.text)
    login(client, accounts["liaison"])
    page = client.get(f"/cbm/notifications/{signed.json()['id']}")
    assert page.status_code == 200
    shown = re.search(r'<span class="signature" data-signed="yes">(.*?)</span>', page.text)
    assert shown, page.text
    key_id = signed.json()["signature"]["key_id"]
    assert f"Signed by KAZ with key {key_id} (ed25519-jcs)" in shown.group(1)
    assert f'href="/api/v1/cbm/notifications/{signed.json()["id"]}"' in shown.group(1)
    page = client.get(f"/cbm/notifications/{unsigned.json()['id']}")
    assert '<span class="signature" data-signed="no">Unsigned' in page.text
    page = client.get(
        f"/cbm/notifications/{signed.json()['id']}", headers={"Accept-Language": "ru"}
    )
    assert f"Подписано KAZ ключом {key_id}" in page.text


def refused(answer: Any, code: str) -> None:
    assert answer.status_code == 422, answer.text
    error = answer.json()
    assert error["code"] == code
    assert error["errors"][0]["field"].startswith("signature")


def test_bad_signatures_are_refused_by_name(
    client: TestClient, tokens: dict[str, dict[str, str]], signed_only: None
) -> None:
    kaz_key = register(client, tokens["kaz"])
    rus_key = register(client, tokens["rus"])
    # Unsigned, on a node that requires signatures.
    refused(post(client, tokens["kaz"], notification()), "signature_required")
    # Changed after signing.
    body = submissions.sign_body(kaz_key, "cbm.notification", "KAZ", notification())
    refused(
        post(client, tokens["kaz"], {**body, "forces": {"personnel": 9}}), "signature_bad_signature"
    )
    # Signed with another state's key.
    foreign = submissions.sign_body(rus_key, "cbm.notification", "KAZ", notification())
    refused(post(client, tokens["kaz"], foreign), "signature_other_state")
    # Signed for another kind of submission: the type is part of what is signed.
    other_kind = submissions.sign_body(kaz_key, "crisis.request", "KAZ", notification())
    refused(post(client, tokens["kaz"], other_kind), "signature_bad_signature")
    # Too old, or from the future.
    stale = submissions.sign_body(
        kaz_key, "cbm.notification", "KAZ", notification(),
        signed_at=datetime.now(UTC) - timedelta(days=2),
    )  # fmt: skip
    refused(post(client, tokens["kaz"], stale), "signature_too_old")
    ahead = submissions.sign_body(
        kaz_key, "cbm.notification", "KAZ", notification(),
        signed_at=datetime.now(UTC) + timedelta(hours=1),
    )  # fmt: skip
    refused(post(client, tokens["kaz"], ahead), "signed_in_future")
    # Nothing of any refused submission was stored.
    assert client.get("/api/v1/cbm/notifications?box=sent", headers=tokens["kaz"]).json() == []


def test_a_revoked_key_signs_nothing_after_its_revocation(
    client: TestClient, tokens: dict[str, dict[str, str]], signed_only: None
) -> None:
    key = register(client, tokens["kaz"])
    key_id = submissions.sign_body(key, "cbm.notification", "KAZ", {})["signature"]["key_id"]
    revoked = client.post(
        f"/api/v1/auth/keys/{key_id}/revoke", json={"reason": "laptop lost"}, headers=tokens["kaz"]
    )
    assert revoked.status_code == 200, revoked.text
    body = submissions.sign_body(key, "cbm.notification", "KAZ", notification())
    refused(post(client, tokens["kaz"], body), "signature_revoked")


def test_unsigned_submissions_are_marked_where_the_node_allows_them(
    client: TestClient, tokens: dict[str, dict[str, str]]
) -> None:
    filed = post(client, tokens["kaz"], notification())
    assert filed.status_code == 201, filed.text
    assert filed.json()["signature"]["signed"] is False
    assert submissions.check_offline(filed.json()) == (False, "unsigned")


def test_a_whole_territory_is_a_valid_activity_area(
    client: TestClient, tokens: dict[str, dict[str, str]]
) -> None:
    """Found by the route walk: Russia's whole territory as the area crashed the geometry."""
    body = {**notification(), "location": {"state": "RUS"}}
    filed = post(client, tokens["rus"], body)
    assert filed.status_code == 201, filed.text


def test_a_restated_submission_reads_as_its_latest_signature_only(db: Session) -> None:
    """A position restated again and again is signed each time; a read gives the latest
    signature of each subject, of the kind asked for, whatever the history holds."""
    liaison = Actor(label="test", role=Role.liaison, state_code="KAZ")
    pem, public = signing.generate()
    keys.register(db, liaison, KeyCreate(public_key=base64.b64encode(public).decode()))
    private = signing.load_private(pem)

    def attest(kind: str, subject: str, body: dict[str, Any], signed: bool = True) -> None:
        sent = submissions.sign_body(private, kind, "KAZ", body) if signed else body
        submission = submissions.Submission(body=sent, allow_unsigned=True)
        block = sent.get("signature")
        submissions.attest(
            db, liaison, kind=kind, subject_key=subject, state="KAZ",
            signature=SubmissionSignatureIn.model_validate(block) if block else None,
            submission=submission,
        )  # fmt: skip

    for n, position in enumerate(("in-favour", "against", "abstain", "in-favour", "against")):
        attest("crisis.position", "7/KAZ", {"position": position, "round": n})
    attest("crisis.position", "8/KAZ", {"position": "abstain"})
    attest("crisis.position", "8/KAZ", {"position": "against"}, signed=False)
    attest("crisis.request", "7/KAZ", {"summary": "another kind, same subject key"})

    read = submissions.reads(db, "crisis.position", ["7/KAZ", "8/KAZ", "9/KAZ"])
    assert sorted(read) == ["7/KAZ", "8/KAZ"]
    latest = read["7/KAZ"]
    assert latest.signed and latest.document is not None
    assert latest.document["content"] == {"position": "against", "round": 4}
    assert latest.public_key == base64.b64encode(public).decode()
    assert submissions.check_offline(latest.model_dump(mode="json"))[0]
    # The latest statement was unsigned, so the read says so, though signed ones came before.
    assert not read["8/KAZ"].signed and read["8/KAZ"].signature is None
    other = submissions.reads(db, "crisis.request", ["7/KAZ"])["7/KAZ"]
    assert other.document is not None and other.document["type"] == "indivisible.crisis.request"
