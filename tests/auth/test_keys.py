"""States' signing keys, on both databases: canonical JSON signed with Ed25519, checked
against the key valid when the signature was made (retired keys keep verifying the past,
revoked ones verify nothing after), and offline verification from the command line."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from indivisible.auth import signing
from indivisible.auth.principal import Role
from indivisible.cli import app
from tests.conftest import bearer_tokens

DOCUMENT = {
    "kind": "exercise",
    "state": "KAZ",
    "forces": {"personnel": 9000},
    "note": "Test (fictional).",
}
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.text(max_size=6), json_values, max_size=6))
def test_the_signature_covers_the_meaning_not_the_spelling(document: dict[str, Any]) -> None:
    pem, public = signing.generate()
    signed = signing.sign(signing.load_private(pem), document)
    # The same document with keys in another order and other spacing verifies.
    respelled = json.loads(json.dumps(dict(reversed(list(document.items()))), indent=3))
    assert signing.verify(public, respelled, signed["signature"])
    assert not signing.verify(public, {**document, "added": 1}, signed["signature"])


@pytest.fixture
def tokens(db: Session) -> dict[str, dict[str, str]]:
    return bearer_tokens(
        db, "ky", {"kaz": (Role.liaison, "KAZ", None), "rus": (Role.liaison, "RUS", None),
                   "kaz-analyst": (Role.analyst, "KAZ", None)},
    )  # fmt: skip


def check(client: TestClient, headers: dict[str, str], signature: dict[str, str], at: datetime, document: Any = DOCUMENT, state: str = "KAZ") -> str:  # fmt: skip
    answer = client.post(
        "/api/v1/auth/keys/verify",
        json={
            "state": state,
            "document": document,
            "signature": signature,
            "signed_at": at.isoformat(),
        },
        headers=headers,
    )
    assert answer.status_code == 200, answer.text
    result: str = answer.json()["reason"]
    return result


def test_keys_are_registered_rotated_and_revoked(
    client: TestClient, tokens: dict[str, dict[str, str]]
) -> None:
    pem, public = signing.generate()
    private = signing.load_private(pem)
    made = client.post(
        "/api/v1/auth/keys",
        json={"public_key": base64.b64encode(public).decode()},
        headers=tokens["kaz"],
    )
    assert made.status_code == 201, made.text
    key = made.json()
    assert key["id"] == signing.key_id(public) and key["state"] == "KAZ"
    signature = signing.sign(private, DOCUMENT)
    now = datetime.now(UTC)
    assert check(client, tokens["rus"], signature, now) == "ok"
    assert (
        check(client, tokens["rus"], signature, now, {**DOCUMENT, "note": "changed"})
        == "bad_signature"
    )
    assert check(client, tokens["rus"], signature, now, state="RUS") == "other_state"
    # A key cannot sign what was before it was registered.
    assert check(client, tokens["rus"], signature, now - timedelta(days=2)) == "not_yet_valid"
    other_pem, other_public = signing.generate()
    assert (
        check(client, tokens["rus"], signing.sign(signing.load_private(other_pem), DOCUMENT), now)
        == "unknown_key"
    )
    # Only Kazakhstan's liaison officers manage its keys; everyone reads them.
    again = client.post(
        "/api/v1/auth/keys",
        json={"public_key": base64.b64encode(public).decode()},
        headers=tokens["kaz"],
    )
    assert again.status_code == 409
    assert (
        client.post(
            f"/api/v1/auth/keys/{key['id']}/revoke", json={"reason": "x"}, headers=tokens["rus"]
        ).status_code
        == 404
    )
    assert (
        client.post(
            "/api/v1/auth/keys",
            json={"public_key": base64.b64encode(other_public).decode()},
            headers=tokens["kaz-analyst"],
        ).status_code
        == 403
    )
    listed = client.get("/api/v1/auth/keys?state=KAZ", headers=tokens["rus"]).json()
    assert [k["id"] for k in listed] == [key["id"]]
    # Revoked: what it signs from now on does not verify; what was signed before still does.
    revoked = client.post(
        f"/api/v1/auth/keys/{key['id']}/revoke",
        json={"reason": "Laptop lost."},
        headers=tokens["kaz"],
    )
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    assert check(client, tokens["rus"], signature, now) == "ok"
    assert (
        check(client, tokens["rus"], signature, datetime.now(UTC) + timedelta(seconds=1))
        == "revoked"
    )
    assert (
        client.post(
            f"/api/v1/auth/keys/{key['id']}/retire", json={"reason": "x"}, headers=tokens["kaz"]
        ).status_code
        == 409
    )


@pytest.mark.parametrize(
    "public_key",
    ["not base64 at all!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!", base64.b64encode(b"x" * 31).decode() + "=" * 4,
     "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"],
)  # fmt: skip
def test_a_key_that_is_not_ed25519_is_refused(
    client: TestClient, tokens: dict[str, dict[str, str]], public_key: str
) -> None:
    answer = client.post(
        "/api/v1/auth/keys", json={"public_key": public_key}, headers=tokens["kaz"]
    )
    assert answer.status_code == 422, answer.text
    assert [e["field"] for e in answer.json()["errors"]] == ["public_key"]


def test_anyone_verifies_offline_with_one_command(tmp_path: Path) -> None:
    runner = CliRunner()
    key = tmp_path / "kaz.pem"
    generated = runner.invoke(app, ["keys", "generate", "--out", str(key)])
    assert generated.exit_code == 0, generated.output
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    public = generated.output.strip().splitlines()[-1]
    document = tmp_path / "notification.json"
    document.write_text(json.dumps(DOCUMENT), encoding="utf-8")
    signed = runner.invoke(app, ["keys", "sign", str(document), "--key", str(key)])
    assert signed.exit_code == 0, signed.output
    signature = tmp_path / "notification.sig.json"
    signature.write_text(signed.output, encoding="utf-8")
    ok = runner.invoke(
        app,
        ["keys", "verify", str(document), "--signature", str(signature), "--public-key", public],
    )
    assert ok.exit_code == 0 and "valid" in ok.output
    document.write_text(json.dumps({**DOCUMENT, "forces": {"personnel": 90000}}), encoding="utf-8")
    tampered = runner.invoke(
        app,
        ["keys", "verify", str(document), "--signature", str(signature), "--public-key", public],
    )
    assert tampered.exit_code == 1 and "NOT VALID" in tampered.output
    refused = runner.invoke(app, ["keys", "generate", "--out", str(key)])
    assert refused.exit_code == 2
