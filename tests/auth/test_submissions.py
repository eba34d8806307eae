"""Signed submissions over the API, on both databases: a notification signed on the user's
machine is checked, kept and shown with its signature; tampered, foreign, revoked, replayed,
stale and (where the node requires signatures) unsigned submissions are refused by name."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from indivisible.auth import signing, submissions
from indivisible.auth.principal import Role
from tests.conftest import bearer_tokens

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
