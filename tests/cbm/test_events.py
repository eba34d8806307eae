"""Telling states at once, on both databases: the outbox written with each change, the
server-sent event stream, and webhooks signed with HMAC and retried against a real HTTP
server on loopback."""

from __future__ import annotations

import hmac
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from indivisible.auth.principal import Role
from indivisible.cbm import events
from indivisible.cbm.models import CbmEvent, WebhookDelivery
from tests.conftest import bearer_tokens

USERS = {
    "kaz": (Role.liaison, "KAZ"),
    "chn": (Role.liaison, "CHN"),
    "chn-analyst": (Role.analyst, "CHN"),
    "chn-observer": (Role.observer, "CHN"),
    "usa": (Role.liaison, "USA"),
}


@pytest.fixture
def tokens(db: Session) -> dict[str, dict[str, str]]:
    return bearer_tokens(
        db, "ev", {name: (role, state, None) for name, (role, state) in USERS.items()}
    )


def notify(client: TestClient, headers: dict[str, str], **overrides: Any) -> Any:
    body = {
        "kind": "exercise",
        "start": "2026-06-01",
        "end": "2026-06-05",
        "location": {"point": [80.0, 44.5], "radius_km": 10},
        "forces": {"personnel": 36000},
        **overrides,
    }
    return client.post("/api/v1/cbm/notifications", json=body, headers=headers)


def read_stream(client: TestClient, headers: dict[str, str], query: str) -> list[dict[str, Any]]:
    found = []
    with client.stream("GET", f"/api/v1/cbm/events?{query}", headers=headers) as answer:
        assert answer.status_code == 200, answer.read()
        assert answer.headers["content-type"].startswith("text/event-stream")
        kind = None
        for line in answer.iter_lines():
            if line.startswith("event: "):
                kind = line.removeprefix("event: ")
            elif line.startswith("data: "):
                data = json.loads(line.removeprefix("data: "))
                assert data["kind"] == kind
                found.append(data)
    return found


def test_a_notification_is_streamed_to_the_recipients_only(
    client: TestClient, tokens: dict[str, dict[str, str]]
) -> None:
    filed = notify(client, tokens["kaz"])
    assert filed.status_code == 201
    seen = read_stream(client, tokens["chn"], "after=0&max_seconds=1")
    assert [(e["kind"], e["subject_id"], e["from_state"]) for e in seen] == [
        ("notification", filed.json()["id"], "KAZ")
    ]
    assert read_stream(client, tokens["chn-analyst"], "after=0&max_seconds=1") == seen
    # Resuming after the last id seen gives nothing twice.
    resumed = {**tokens["chn"], "Last-Event-ID": str(seen[-1]["id"])}
    assert read_stream(client, resumed, "max_seconds=1") == []
    # The notifying state and a state that is no party are told nothing of it.
    assert read_stream(client, tokens["kaz"], "after=0&max_seconds=1") == []
    assert read_stream(client, tokens["usa"], "after=0&max_seconds=1") == []
    assert client.get("/api/v1/cbm/events", headers=tokens["chn-observer"]).status_code == 403


def test_a_refused_filing_announces_nothing(
    client: TestClient, tokens: dict[str, dict[str, str]], db: Session
) -> None:
    before = db.scalars(select(CbmEvent.id)).all()
    # An unknown state (QZQ: ISO keeps Q codes for user assignment) among those invited: refused after the checks began, in the service.
    refused = notify(client, tokens["kaz"], observers_invited=["QZQ"])
    assert refused.status_code == 404, refused.text
    assert db.scalars(select(CbmEvent.id)).all() == before


def test_clarifications_and_answers_are_announced_to_the_other_side(
    client: TestClient, tokens: dict[str, dict[str, str]]
) -> None:
    filed = notify(client, tokens["kaz"]).json()
    asked = client.post(
        f"/api/v1/cbm/notifications/{filed['id']}/clarifications",
        json={"question": "Why?"},
        headers=tokens["chn"],
    ).json()
    client.post(
        f"/api/v1/cbm/clarifications/{asked['id']}/answer",
        json={"answer": "Because."},
        headers=tokens["kaz"],
    )
    to_kaz = read_stream(client, tokens["kaz"], "after=0&max_seconds=1")
    assert [(e["kind"], e["from_state"]) for e in to_kaz] == [("clarification", "CHN")]
    to_chn = read_stream(client, tokens["chn"], "after=0&max_seconds=1")
    assert [e["kind"] for e in to_chn] == ["notification", "answer"]


class Receiver:
    """A webhook endpoint on loopback answering with the statuses it is given, in turn."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.received: list[tuple[dict[str, str], bytes]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.received.append((dict(self.headers), body))
                status = outer.statuses.pop(0) if len(outer.statuses) > 1 else outer.statuses[0]
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def flaky() -> Iterator[Receiver]:
    receiver = Receiver([500, 204])
    yield receiver
    receiver.close()


def test_webhooks_are_signed_and_retried_with_back_off(
    client: TestClient, tokens: dict[str, dict[str, str]], db: Session, flaky: Receiver
) -> None:
    created = client.post("/api/v1/cbm/webhooks", json={"url": flaky.url}, headers=tokens["chn"])
    assert created.status_code == 201, created.text
    secret = created.json()["secret"]
    assert "secret" not in client.get("/api/v1/cbm/webhooks", headers=tokens["chn"]).json()[0]
    filed = notify(client, tokens["kaz"]).json()

    now = datetime.now(UTC)
    assert events.deliver_due(db, now=now) == (0, 1)
    delivery = db.scalars(select(WebhookDelivery)).one()
    assert delivery.attempts == 1 and delivery.last_status == 500
    due = delivery.next_attempt_at
    assert due is not None and (due if due.tzinfo else due.replace(tzinfo=UTC)) == now + timedelta(
        seconds=30
    )
    # Not due again before its back-off has passed.
    assert events.deliver_due(db, now=now + timedelta(seconds=10)) == (0, 0)
    assert events.deliver_due(db, now=now + timedelta(seconds=31)) == (1, 0)
    assert events.deliver_due(db, now=now + timedelta(hours=1)) == (0, 0)

    headers, body = flaky.received[-1]
    assert json.loads(body)["subject_id"] == filed["id"]
    assert headers["X-Indivisible-Event"] == "notification"
    stamp = int(headers["X-Indivisible-Timestamp"])
    expected = events.signature(secret, stamp, body)
    assert hmac.compare_digest(headers["X-Indivisible-Signature"], expected)
    assert not hmac.compare_digest(expected, events.signature("another secret", stamp, body))
    listed = client.get("/api/v1/cbm/webhooks", headers=tokens["chn"]).json()
    assert (listed[0]["pending"], listed[0]["failed"]) == (0, 0)


def test_a_webhook_that_never_answers_is_given_up_after_the_last_attempt(
    client: TestClient, tokens: dict[str, dict[str, str]], db: Session
) -> None:
    down = Receiver([503])
    try:
        client.post("/api/v1/cbm/webhooks", json={"url": down.url}, headers=tokens["chn"])
        notify(client, tokens["kaz"])
        moment = datetime.now(UTC)
        for _ in range(events.MAX_ATTEMPTS):
            assert events.deliver_due(db, now=moment) == (0, 1)
            moment += events.LONGEST_WAIT
        delivery = db.scalars(select(WebhookDelivery)).one()
        assert delivery.failed and delivery.attempts == events.MAX_ATTEMPTS
        assert events.deliver_due(db, now=moment + timedelta(days=30)) == (0, 0)
        assert len(down.received) == events.MAX_ATTEMPTS
    finally:
        down.close()


def test_webhooks_are_managed_by_their_own_states_liaison_officers(
    client: TestClient, tokens: dict[str, dict[str, str]]
) -> None:
    bad = client.post("/api/v1/cbm/webhooks", json={"url": "ftp://example.org/x"}, headers=tokens["chn"])  # fmt: skip
    assert bad.status_code == 422
    assert client.post("/api/v1/cbm/webhooks", json={"url": "https://example.org/x"}, headers=tokens["chn-analyst"]).status_code == 403  # fmt: skip
    made = client.post("/api/v1/cbm/webhooks", json={"url": "https://example.org/x"}, headers=tokens["chn"]).json()  # fmt: skip
    assert (
        client.delete(f"/api/v1/cbm/webhooks/{made['id']}", headers=tokens["kaz"]).status_code
        == 404
    )
    assert client.get("/api/v1/cbm/webhooks", headers=tokens["kaz"]).json() == []
    assert (
        client.delete(f"/api/v1/cbm/webhooks/{made['id']}", headers=tokens["chn"]).status_code
        == 204
    )
    assert client.get("/api/v1/cbm/webhooks", headers=tokens["chn"]).json() == []


@given(st.integers(min_value=1, max_value=50))
def test_back_off_grows_and_is_capped(attempts: int) -> None:
    assert events.FIRST_RETRY <= events.backoff(attempts) <= events.LONGEST_WAIT
    assert events.backoff(attempts + 1) >= events.backoff(attempts)
