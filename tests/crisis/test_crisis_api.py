"""Crisis response over the API on both databases: a request opens a crisis, the
secretariat puts it to the Council, members state positions, closing fixes the computed
result; steps out of order, by the wrong role or state, or with bad input are refused and
change nothing; states outside the organisation see nothing."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from indivisible.auth.principal import Role
from indivisible.crisis.models import Crisis, Decision, DecisionPosition
from tests.conftest import bearer_tokens

USERS: dict[str, tuple[Role, str | None, str | None]] = {
    "kaz": (Role.liaison, "KAZ", None),
    "kaz-analyst": (Role.analyst, "KAZ", None),
    "rus": (Role.liaison, "RUS", None),
    "arm": (Role.liaison, "ARM", None),
    "tjk": (Role.liaison, "TJK", None),
    "usa": (Role.liaison, "USA", None),
    "csto": (Role.secretariat, None, "CSTO-SECRETARIAT"),
    "sco": (Role.secretariat, None, "SCO-SECRETARIAT"),
}


@pytest.fixture
def tokens(db: Session) -> dict[str, dict[str, str]]:
    return bearer_tokens(db, "cr", USERS)


def request(**overrides: Any) -> dict[str, Any]:
    return {
        "organisation": "CSTO",
        "kind": "unrest",
        "summary": "Test crisis (fictional).",
        "agreement": "CST-1992",
        "article": "Article 4",
        "time_zone": "Asia/Almaty",
        "requested_at": "2022-01-05T23:00:00+06:00",
        **overrides,
    }


def fields(answer: Any) -> list[str]:
    return [e["field"] for e in answer.json().get("errors", [])]


def counts(db: Session) -> tuple[int, int, int]:
    return tuple(  # type: ignore[return-value]
        db.scalar(select(func.count()).select_from(t)) or 0
        for t in (Crisis, Decision, DecisionPosition)
    )


def test_from_request_to_a_closed_decision(
    client: TestClient, tokens: dict[str, dict[str, str]]
) -> None:
    opened = client.post("/api/v1/crisis/requests", json=request(), headers=tokens["kaz"])
    assert opened.status_code == 201, opened.text
    crisis = opened.json()
    assert crisis["started_on"] == "2022-01-05"
    assert crisis["requests"][0]["requested_at"].startswith("2022-01-05T17:00:00")
    assert crisis["requests"][0]["requested_local"] == "2022-01-05T23:00+06:00"

    decision = client.post(
        f"/api/v1/crisis/crises/{crisis['id']}/decisions",
        json={"body": "CSTO-CSC", "session_on": "2022-01-06", "question": "Send peacekeepers?"},
        headers=tokens["csto"],
    )
    assert decision.status_code == 201, decision.text
    number = decision.json()["id"]
    assert decision.json()["result"] == "not-adopted" and decision.json()["final"] is False
    assert {"ARM", "KAZ", "RUS", "TJK"} <= set(decision.json()["eligible"])

    for who in ("kaz", "rus", "arm"):
        stated = client.post(
            f"/api/v1/crisis/decisions/{number}/positions",
            json={"position": "in-favour"},
            headers=tokens[who],
        )
        assert stated.status_code == 200, stated.text
    assert stated.json()["result"] == "adopted"
    # A state that is no member of the organisation has no position to state.
    outsider = client.post(
        f"/api/v1/crisis/decisions/{number}/positions",
        json={"position": "against"},
        headers=tokens["usa"],
    )
    assert outsider.status_code == 404
    # Only the secretariat closes; then the result is final and positions are closed.
    close = f"/api/v1/crisis/decisions/{number}/close"
    # Announced overnight, 6 January 2022 at 01:30 in Yerevan (fictional minute, test only).
    when = {"time_zone": "Asia/Yerevan", "decided_at": "2022-01-06T01:30:00+04:00"}
    assert client.post(close, json=when, headers=tokens["kaz"]).status_code == 403
    before_request = client.post(
        close, json={**when, "decided_at": "2022-01-05T20:00:00+04:00"}, headers=tokens["csto"]
    )
    assert before_request.status_code == 422 and fields(before_request) == ["decided_at"]
    wrong_offset = client.post(
        close, json={**when, "decided_at": "2022-01-06T01:30:00+03:00"}, headers=tokens["csto"]
    )
    assert wrong_offset.status_code == 422 and fields(wrong_offset) == ["decided_at"]
    closed = client.post(close, json=when, headers=tokens["csto"])
    assert closed.status_code == 200 and closed.json()["result"] == "adopted"
    assert closed.json()["final"] is True
    assert closed.json()["decided_local"] == "2022-01-06T01:30+04:00"
    # Requested 2022-01-05 17:00 UTC, decided 2022-01-05 21:30 UTC: 270 minutes.
    assert closed.json()["minutes_from_request"] == 270
    late = client.post(
        f"/api/v1/crisis/decisions/{number}/positions",
        json={"position": "against"},
        headers=tokens["tjk"],
    )
    assert late.status_code == 409

    # Members of the organisation on the start date see the crisis; others do not.
    assert (
        client.get(
            f"/api/v1/crisis/crises/{crisis['id']}", headers=tokens["kaz-analyst"]
        ).status_code
        == 200
    )
    assert (
        client.get(f"/api/v1/crisis/crises/{crisis['id']}", headers=tokens["usa"]).status_code
        == 404
    )
    assert client.get("/api/v1/crisis/crises", headers=tokens["usa"]).json() == []
    assert client.get("/api/v1/crisis/crises", headers=tokens["sco"]).json() == []
    assert [
        c["id"] for c in client.get("/api/v1/crisis/crises", headers=tokens["csto"]).json()
    ] == [crisis["id"]]


def test_one_member_against_blocks_and_a_frozen_members_position_does_not_count(
    client: TestClient, tokens: dict[str, dict[str, str]]
) -> None:
    # Armenia's participation in the CSTO is frozen from 2024-02-22 in the registry.
    later = request(
        requested_at="2025-03-01T10:00:00+05:00",
        time_zone="Asia/Dushanbe",
        summary="Test crisis (fictional), 2025.",
    )
    crisis = client.post("/api/v1/crisis/requests", json=later, headers=tokens["tjk"]).json()
    number = client.post(
        f"/api/v1/crisis/crises/{crisis['id']}/decisions",
        json={"body": "CSTO-CSC", "session_on": "2025-03-02", "question": "Assist?"},
        headers=tokens["csto"],
    ).json()["id"]
    for who, position in (("rus", "in-favour"), ("arm", "against")):
        client.post(
            f"/api/v1/crisis/decisions/{number}/positions",
            json={"position": position},
            headers=tokens[who],
        )
    read = client.get(f"/api/v1/crisis/crises/{crisis['id']}", headers=tokens["rus"]).json()
    decision = read["decisions"][0]
    assert "ARM" not in decision["eligible"]
    assert {p["state"]: p["counted"] for p in decision["positions"]} == {"ARM": False, "RUS": True}
    assert decision["result"] == "adopted"
    client.post(
        f"/api/v1/crisis/decisions/{number}/positions",
        json={"position": "against"},
        headers=tokens["kaz"],
    )
    blocked = client.post(
        f"/api/v1/crisis/decisions/{number}/close",
        json={"time_zone": "Europe/Moscow", "decided_at": "2025-03-02T12:00:00+03:00"},
        headers=tokens["csto"],
    )
    assert blocked.json()["result"] == "blocked"


@pytest.mark.parametrize(
    ("who", "body", "status", "field"),
    [
        ("kaz", request(requested_at="2022-01-05T23:00:00"), 422, "requested_at"),
        ("kaz", request(requested_at="2022-01-05T23:00:00+03:00"), 422, "requested_at"),
        ("kaz", request(time_zone="Mars/Olympus"), 422, "time_zone"),
        ("kaz", request(article="Article 44"), 422, "article"),
        ("kaz", request(agreement="NO-SUCH"), 422, "agreement"),
        ("kaz", request(organisation="NATO"), 404, None),
        ("usa", request(), 422, "organisation"),
        ("kaz-analyst", request(), 403, None),
        ("csto", request(), 403, None),
    ],
)
def test_bad_requests_are_refused_and_change_nothing(
    client: TestClient,
    tokens: dict[str, dict[str, str]],
    db: Session,
    who: str,
    body: dict[str, Any],
    status: int,
    field: str | None,
) -> None:
    before = counts(db)
    answer = client.post("/api/v1/crisis/requests", json=body, headers=tokens[who])
    assert answer.status_code == status, answer.text
    if field is not None:
        assert field in fields(answer), answer.text
    assert counts(db) == before


def test_decisions_out_of_order_or_of_the_wrong_body_are_refused(
    client: TestClient, tokens: dict[str, dict[str, str]], db: Session
) -> None:
    crisis = client.post("/api/v1/crisis/requests", json=request(), headers=tokens["kaz"]).json()
    before = counts(db)
    path = f"/api/v1/crisis/crises/{crisis['id']}/decisions"
    early = client.post(path, json={"body": "CSTO-CSC", "session_on": "2022-01-04", "question": "?"}, headers=tokens["csto"])  # fmt: skip
    assert early.status_code == 422 and fields(early) == ["session_on"]
    foreign = client.post(path, json={"body": "SCO-SECRETARIAT", "session_on": "2022-01-06", "question": "?"}, headers=tokens["csto"])  # fmt: skip
    assert foreign.status_code == 422 and fields(foreign) == ["body"]
    # Another organisation's secretariat does not even see the crisis.
    other = client.post(path, json={"body": "CSTO-CSC", "session_on": "2022-01-06", "question": "?"}, headers=tokens["sco"])  # fmt: skip
    assert other.status_code == 404
    member = client.post(path, json={"body": "CSTO-CSC", "session_on": "2022-01-06", "question": "?"}, headers=tokens["rus"])  # fmt: skip
    assert member.status_code == 403
    assert client.post("/api/v1/crisis/crises/999999/decisions", json={"body": "CSTO-CSC", "session_on": "2022-01-06", "question": "?"}, headers=tokens["csto"]).status_code == 404  # fmt: skip
    assert counts(db) == before
