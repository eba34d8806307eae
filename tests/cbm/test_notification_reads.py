"""Reading notifications in pages: the findings, recipients, clarifications and signatures of
a whole page are loaded in a fixed number of statements, and each item reads as it does alone."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from sqlalchemy import Connection, event
from sqlalchemy.orm import Session

from indivisible.auth import signing, submissions
from indivisible.auth.principal import Role
from tests.conftest import bearer_tokens

NEAR_BORDER = [80.0, 44.5]
PAGE = 20


@pytest.fixture
def tokens(db: Session) -> dict[str, dict[str, str]]:
    return bearer_tokens(
        db,
        "cbmq",
        {
            "kaz": (Role.liaison, "KAZ", None),
            "chn": (Role.liaison, "CHN", None),
            "usa": (Role.liaison, "USA", None),
        },
    )


@contextmanager
def counted(connection: Connection) -> Iterator[list[str]]:
    """The SQL statements sent on the test's connection (the app's sessions are bound to it)."""
    statements: list[str] = []

    def note(*args: Any) -> None:
        statements.append(args[2])

    event.listen(connection, "before_cursor_execute", note)
    try:
        yield statements
    finally:
        event.remove(connection, "before_cursor_execute", note)


def register(client: TestClient, headers: dict[str, str]) -> Ed25519PrivateKey:
    pem, public = signing.generate()
    answer = client.post(
        "/api/v1/auth/keys",
        json={"public_key": base64.b64encode(public).decode()},
        headers=headers,
    )
    assert answer.status_code == 201, answer.text
    return signing.load_private(pem)


def file_page(client: TestClient, tokens: dict[str, dict[str, str]]) -> list[int]:
    """A page of notifications from Kazakhstan to its Shanghai partners, every other one
    signed, each with clarifications from China (some answered)."""
    key = register(client, tokens["kaz"])
    first = datetime.now(UTC).date() + timedelta(days=40)
    numbers = []
    for i in range(PAGE):
        start = first + timedelta(days=i)
        body: dict[str, Any] = {
            "kind": "exercise",
            "start": start.isoformat(),
            "end": (start + timedelta(days=3)).isoformat(),
            "location": {"point": NEAR_BORDER, "radius_km": 20},
            "forces": {"personnel": 36000 + i, "battle-tanks": 120},
            "purpose": f"Exercise {i}",
        }
        if i % 2 == 0:
            body = submissions.sign_body(key, "cbm.notification", "KAZ", body)
        filed = client.post("/api/v1/cbm/notifications", json=body, headers=tokens["kaz"])
        assert filed.status_code == 201, filed.text
        number = filed.json()["id"]
        numbers.append(number)
        for question in range(1 + i % 3):
            asked = client.post(
                f"/api/v1/cbm/notifications/{number}/clarifications",
                json={"question": f"Units {question}?", "urgent": question == 1},
                headers=tokens["chn"],
            )
            assert asked.status_code == 201, asked.text
            if question == 0:
                answered = client.post(
                    f"/api/v1/cbm/clarifications/{asked.json()['id']}/answer",
                    json={"answer": "Two brigades."},
                    headers=tokens["kaz"],
                )
                assert answered.status_code == 200, answered.text
        if i % 4 == 0:
            acknowledged = client.post(
                f"/api/v1/cbm/notifications/{number}/acknowledgement", headers=tokens["chn"]
            )
            assert acknowledged.status_code == 200, acknowledged.text
    return numbers


def test_an_inbox_page_takes_the_same_statements_whatever_its_size(
    client: TestClient, tokens: dict[str, dict[str, str]], connection: Connection
) -> None:
    numbers = file_page(client, tokens)
    counts = {}
    for size in (1, 5, PAGE):
        with counted(connection) as statements:
            page = client.get(
                f"/api/v1/cbm/notifications?box=inbox&limit={size}", headers=tokens["chn"]
            )
        assert page.status_code == 200, page.text
        assert [n["id"] for n in page.json()] == sorted(numbers, reverse=True)[:size]
        counts[size] = len(statements)
    assert counts[1] == counts[5] == counts[PAGE], counts


def test_a_listed_notification_reads_as_it_does_alone(
    client: TestClient, tokens: dict[str, dict[str, str]]
) -> None:
    numbers = file_page(client, tokens)
    listed = client.get(f"/api/v1/cbm/notifications?box=inbox&limit={PAGE}", headers=tokens["chn"])
    assert listed.status_code == 200, listed.text
    items = listed.json()
    assert [n["id"] for n in items] == sorted(numbers, reverse=True)
    for item in items:
        alone = client.get(f"/api/v1/cbm/notifications/{item['id']}", headers=tokens["chn"])
        # Whole answers compared: the clarifications' "overdue" is computed at reading time,
        # but no deadline here falls between the two reads.
        assert alone.json() == item
        assert [r["state"] for r in item["recipients"]] == sorted(
            r["state"] for r in item["recipients"]
        )
        ids = [c["id"] for c in item["clarifications"]]
        assert ids == sorted(ids)
        assert item["signature"]["signed"] == (int(item["purpose"].split()[-1]) % 2 == 0)
    # Each notification's own rows, none of another's.
    questions = {item["id"]: len(item["clarifications"]) for item in items}
    assert sorted(questions.values()) == sorted(1 + i % 3 for i in range(PAGE))
    # Outsiders still see nothing in a page.
    assert client.get("/api/v1/cbm/notifications", headers=tokens["usa"]).json() == []
    assert client.get("/api/v1/cbm/notifications?box=inbox", headers=tokens["kaz"]).json() == []
