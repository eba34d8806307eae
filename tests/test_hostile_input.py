"""Input that must be refused cleanly on both databases: never a 500, never a partial write."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.conftest import Account
from tests.registry.test_api import assert_problem, fingerprint

ORG = {"code": "LONGORG", "name": {"en": "x"}, "kind": "forum", "sources": ["iso-3166-1"]}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("patch", "/api/v1/registry/memberships/99999999999999999999"),
        ("delete", "/api/v1/registry/memberships/2147483648"),
        ("delete", "/api/v1/auth/tokens/99999999999999999999"),
        ("delete", "/api/v1/auth/tokens/0"),
    ],
)
def test_absurd_ids_are_422(
    client: TestClient, accounts: dict[str, Account], method: str, path: str
) -> None:
    assert_problem(client.request(method, path, json={}, headers=accounts["admin"].headers), 422)


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/registry/states/%00/standing",
        "/api/v1/registry/overlap?a=SC%00O&b=CSTO",
        "/organisations/%00",
    ],
)
def test_nul_in_urls_is_refused(
    client: TestClient, accounts: dict[str, Account], path: str
) -> None:
    assert_problem(client.get(path, headers=accounts["analyst"].headers), 422)


def test_nul_in_bodies_and_forms_is_refused(
    client: TestClient, accounts: dict[str, Account], db: Session
) -> None:
    before = fingerprint(db)
    headers = accounts["admin"].headers
    assert_problem(
        client.post(
            "/api/v1/registry/organisations",
            json={**ORG, "name": {"en": "x\u0000y"}},
            headers=headers,
        ),
        422,
        "name.en",
    )
    assert_problem(
        client.post("/api/v1/auth/tokens", json={"name": "a\u0000"}, headers=headers), 422, "name"
    )
    client.get("/login")
    csrf = client.cookies.get("indivisible_login_csrf")
    r = client.post("/login", data={"username": "adm\u0000in", "password": "x", "csrf": csrf})
    assert r.status_code == 422
    assert fingerprint(db) == before


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"abbreviation": {"en": "A" * 41}}, "abbreviation.en"),
        ({"seat_city": "C" * 121}, "seat_city"),
        ({"name": {"en": "N" * 301}}, "name.en"),
    ],
)
def test_values_longer_than_their_column_are_422(
    client: TestClient,
    accounts: dict[str, Account],
    db: Session,
    change: dict[str, object],
    field: str,
) -> None:
    before = fingerprint(db)
    assert_problem(
        client.post(
            "/api/v1/registry/organisations",
            json={**ORG, **change},
            headers=accounts["admin"].headers,
        ),
        422,
        field,
    )
    assert fingerprint(db) == before


def test_values_at_their_column_length_are_stored(
    client: TestClient, accounts: dict[str, Account]
) -> None:
    body = {
        **ORG,
        "abbreviation": {"en": "A" * 40},
        "seat_city": "C" * 120,
        "name": {"en": "N" * 300},
    }
    assert (
        client.post(
            "/api/v1/registry/organisations", json=body, headers=accounts["admin"].headers
        ).status_code
        == 201
    )
    agreement = {
        "code": "LONG-AGREEMENT",
        "title": {"en": "T" * 300},
        "kind": "treaty",
        "signed_at": "P" * 120,
        "sources": ["iso-3166-1"],
        "parties": [
            {
                "members_of": "LONGORG",
                "statuses": [
                    "member",
                    "observer",
                    "dialogue-partner",
                    "partner",
                    "suspended",
                    "frozen",
                    "withdrawn",
                ],
                "sources": ["iso-3166-1"],
            }
        ],
        "obligations": [
            {
                "kind": "other",
                "article": "A" * 120,
                "summary": "S" * 4000,
                "sources": ["iso-3166-1"],
            }
        ],
    }
    r = client.post(
        "/api/v1/registry/agreements", json=agreement, headers=accounts["admin"].headers
    )
    assert r.status_code == 201, r.text


def test_a_streamed_oversize_body_is_413_with_security_headers(
    client: TestClient, accounts: dict[str, Account], db: Session
) -> None:
    before = fingerprint(db)

    def chunks() -> Iterator[bytes]:
        yield b'{"name": "'
        for _ in range(100):
            yield b"x" * 1000
        yield b'"}'

    r = client.post(
        "/api/v1/auth/tokens",
        content=chunks(),
        headers={**accounts["admin"].headers, "content-type": "application/json"},
    )
    assert_problem(r, 413)
    assert r.headers["x-content-type-options"] == "nosniff"
    assert fingerprint(db) == before


def test_401_names_the_scheme_and_broken_json_names_the_body(
    client: TestClient, accounts: dict[str, Account]
) -> None:
    r = client.get("/api/v1/auth/me")
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
    r = client.post(
        "/api/v1/auth/tokens",
        content=b"[1",
        headers={**accounts["admin"].headers, "content-type": "application/json"},
    )
    assert_problem(r, 422, "body")


def test_tokens_always_expire(client: TestClient, accounts: dict[str, Account]) -> None:
    r = client.post(
        "/api/v1/auth/tokens",
        json={"name": "forever", "expires_in_days": None},
        headers=accounts["observer"].headers,
    )
    assert_problem(r, 422, "expires_in_days")
    r = client.post(
        "/api/v1/auth/tokens", json={"name": "default"}, headers=accounts["observer"].headers
    )
    assert r.status_code == 201 and r.json()["expires_at"] is not None


def test_a_client_that_leaves_mid_upload_is_never_served() -> None:
    import asyncio
    from collections.abc import MutableMapping
    from typing import Any

    from indivisible.app import Guard

    reached: list[object] = []

    async def app(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        reached.append(scope)

    messages: list[MutableMapping[str, Any]] = [
        {"type": "http.request", "body": b"username=a&pass", "more_body": True},
        {"type": "http.disconnect"},
    ]

    async def receive() -> MutableMapping[str, Any]:
        return messages.pop(0)

    async def send(message: MutableMapping[str, Any]) -> None:
        reached.append(message)

    scope: MutableMapping[str, Any] = {
        "type": "http",
        "method": "POST",
        "path": "/login",
        "query_string": b"",
        "headers": [],
    }
    asyncio.run(Guard(app, 1000, 1000)(scope, receive, send))
    assert reached == []
