"""Accounts and credentials: hashing, tokens shown once, revocation, expiry, roles."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from indivisible.audit.models import ChangeRecord
from indivisible.auth import service
from indivisible.auth.models import ApiToken, Principal
from indivisible.auth.principal import Actor, Role
from indivisible.auth.schemas import PrincipalCreate, TokenCreate
from indivisible.auth.secrets import digest
from indivisible.errors import InvalidInput, NotAuthenticated, PermissionDenied
from tests.conftest import Account


def test_passwords_and_tokens_are_stored_only_as_hashes(
    db: Session, accounts: dict[str, Account]
) -> None:
    principal = db.scalars(select(Principal).where(Principal.username == "t-analyst")).one()
    assert principal.password_hash and principal.password_hash.startswith("$argon2id$")
    assert "analyst-password-123" not in principal.password_hash
    token = db.scalars(select(ApiToken).where(ApiToken.principal_id == principal.id)).one()
    assert token.token_hash == digest(accounts["analyst"].token)
    assert accounts["analyst"].token not in {token.token_hash, token.prefix}
    logged = db.scalars(select(ChangeRecord).where(ChangeRecord.subject_type == "principal")).all()
    assert logged and all("password_hash" not in (r.after or {}) for r in logged)


def test_authenticate_password(db: Session, accounts: dict[str, Account]) -> None:
    assert (
        service.authenticate_password(db, "t-liaison", "liaison-password-123").username
        == "t-liaison"
    )
    for username, password in (("t-liaison", "nope"), ("nobody", "liaison-password-123")):
        with pytest.raises(NotAuthenticated):
            service.authenticate_password(db, username, password)


def test_token_lifecycle_over_http(client: TestClient, accounts: dict[str, Account]) -> None:
    headers = accounts["liaison"].headers
    issued = client.post(
        "/api/v1/auth/tokens",
        json={"name": "national system", "expires_in_days": 30},
        headers=headers,
    )
    assert issued.status_code == 201
    secret = issued.json()["token"]
    listed = client.get("/api/v1/auth/tokens", headers=headers).json()
    assert all("token" not in t for t in listed)
    mine = {"Authorization": f"Bearer {secret}"}
    me = client.get("/api/v1/auth/me", headers=mine).json()
    assert me == {
        "principal": "principal:t-liaison",
        "role": "liaison",
        "state": "KAZ",
        "body": None,
        "organisation": None,
    }
    # Another state's liaison cannot see or revoke it: it is simply not there for them.
    other = client.delete(
        f"/api/v1/auth/tokens/{issued.json()['id']}", headers=accounts["analyst"].headers
    )
    assert other.status_code == 404
    assert (
        client.delete(f"/api/v1/auth/tokens/{issued.json()['id']}", headers=headers).status_code
        == 200
    )
    refused = client.get("/api/v1/auth/me", headers=mine)
    assert refused.status_code == 401 and refused.json()["code"] == "token_revoked"


def test_expired_tokens_are_refused(db: Session, accounts: dict[str, Account]) -> None:
    issued = service.issue_token(
        db,
        Actor.console("t"),
        TokenCreate(name="short", expires_in_days=1),
        for_username="t-observer",
    )
    issued.token.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    db.flush()
    with pytest.raises(NotAuthenticated) as err:
        service.resolve_token(db, issued.secret)
    assert err.value.code == "token_expired"


def test_a_tokens_last_use_is_recorded_to_the_minute(
    db: Session, accounts: dict[str, Account]
) -> None:
    token = db.scalars(
        select(ApiToken).where(ApiToken.token_hash == digest(accounts["liaison"].token))
    ).one()
    assert token.last_used_at is None
    actor = service.resolve_token(db, accounts["liaison"].token)
    assert (actor.role, actor.state_code, actor.label) == (
        Role.liaison,
        "KAZ",
        "principal:t-liaison",
    )
    db.flush()
    db.refresh(token)
    first = token.last_used_at
    assert first is not None
    service.resolve_token(db, accounts["liaison"].token)
    db.flush()
    db.refresh(token)
    assert token.last_used_at == first, "within the minute: no write"
    token.last_used_at = first - timedelta(minutes=2)
    db.flush()
    service.resolve_token(db, accounts["liaison"].token)
    db.flush()
    db.refresh(token)
    assert token.last_used_at is not None
    assert service._aware(token.last_used_at) > service._aware(first)


def test_a_secretariat_principal_acts_for_its_organisation(
    db: Session, accounts: dict[str, Account]
) -> None:
    actor = service.resolve_token(db, accounts["secretariat"].token)
    assert actor.role is Role.secretariat
    assert actor.body_code == "SCO-SECRETARIAT"
    assert actor.organisation_code == "SCO"


def test_only_admins_create_accounts(db: Session) -> None:
    liaison = Actor(label="x", role=Role.liaison, principal_id=1, state_code="KAZ")
    data = PrincipalCreate(
        username="new-one",
        display_name="New",
        role=Role.analyst,
        state="RUS",
        password="long-enough-pw",
    )
    with pytest.raises(PermissionDenied):
        service.create_principal(db, liaison, data)
    with pytest.raises(InvalidInput) as err:
        service.create_principal(db, Actor.console("t"), data.model_copy(update={"state": None}))
    assert err.value.field == "state"


def test_admins_manage_accounts_over_http(client: TestClient, accounts: dict[str, Account]) -> None:
    body = {
        "username": "uzb-liaison",
        "display_name": "Uzbekistan",
        "role": "liaison",
        "state": "UZB",
        "password": "long-enough-pw",
    }
    assert (
        client.post(
            "/api/v1/auth/principals", json=body, headers=accounts["liaison"].headers
        ).status_code
        == 403
    )
    created = client.post("/api/v1/auth/principals", json=body, headers=accounts["admin"].headers)
    assert created.status_code == 201 and created.json()["state_code"] == "UZB"
    assert "password" not in created.text
    names = {
        p["username"]
        for p in client.get("/api/v1/auth/principals", headers=accounts["admin"].headers).json()
    }
    assert "uzb-liaison" in names
    assert (
        client.get("/api/v1/auth/principals", headers=accounts["analyst"].headers).status_code
        == 403
    )


def test_disabling_refuses_tokens_and_ends_sessions(
    db: Session, accounts: dict[str, Account]
) -> None:
    from datetime import timedelta as td

    principal = db.scalars(select(Principal).where(Principal.username == "t-liaison")).one()
    started = service.start_web_session(db, principal, td(hours=1))
    service.set_active(db, Actor.console("t"), "t-liaison", False)
    with pytest.raises(NotAuthenticated):
        service.resolve_token(db, accounts["liaison"].token)
    with pytest.raises(NotAuthenticated):
        service.resolve_web_session(db, started.cookie)
    service.set_active(db, Actor.console("t"), "t-liaison", True)
    assert service.resolve_token(db, accounts["liaison"].token).state_code == "KAZ"
    # The session ended with the disabling; enabling does not bring it back.
    with pytest.raises(NotAuthenticated):
        service.resolve_web_session(db, started.cookie)


def test_a_new_password_ends_sessions_and_is_logged_without_the_hash(
    db: Session, accounts: dict[str, Account]
) -> None:
    from datetime import timedelta as td

    principal = db.scalars(select(Principal).where(Principal.username == "t-analyst")).one()
    started = service.start_web_session(db, principal, td(hours=1))
    service.set_password(db, Actor.console("t"), "t-analyst", "a-brand-new-password")
    with pytest.raises(NotAuthenticated):
        service.resolve_web_session(db, started.cookie)
    assert service.authenticate_password(db, "t-analyst", "a-brand-new-password").id == principal.id
    record = db.scalars(
        select(ChangeRecord).where(
            ChangeRecord.action == "set_password", ChangeRecord.subject_key == "t-analyst"
        )
    ).one()
    assert record.before is None and record.after is None
