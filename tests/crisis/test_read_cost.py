"""What reading crises costs in SQL statements, counted rather than timed so the test means
the same on every machine: a crisis read answers with a fixed number of statements whatever
the number of its decisions and positions, and the list whatever the number of crises. The
answers are the same as each crisis read alone gives, and each reader sees the
crises the access rule lets it see, no more."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from indivisible.auth.principal import Role
from indivisible.crisis import operations, service
from indivisible.crisis.models import Crisis
from indivisible.registry import service as registry
from tests.conftest import bearer_tokens

USERS: dict[str, tuple[Role, str | None, str | None]] = {
    "kaz": (Role.liaison, "KAZ", None),
    "kaz-analyst": (Role.analyst, "KAZ", None),
    "rus": (Role.liaison, "RUS", None),
    "arm": (Role.liaison, "ARM", None),
    "tjk": (Role.liaison, "TJK", None),
    "usa": (Role.liaison, "USA", None),
    "chn-observer": (Role.observer, "CHN", None),
    "csto": (Role.secretariat, None, "CSTO-SECRETARIAT"),
    "sco": (Role.secretariat, None, "SCO-SECRETARIAT"),
    "admin": (Role.admin, None, None),
}
READERS = ("kaz", "kaz-analyst", "rus", "usa", "chn-observer", "csto", "sco", "admin")
# States whose liaison officers state positions on every decision the tests open.
VOTERS = ("kaz", "rus", "arm")


@pytest.fixture
def tokens(db: Session) -> dict[str, dict[str, str]]:
    return bearer_tokens(db, "rc", USERS)


@contextmanager
def statements(db: Session) -> Iterator[list[str]]:
    """The SQL statements sent while the block runs, on any connection of the test's engine."""
    engine = db.get_bind().engine
    sent: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        sent.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", seen)


def cost(client: TestClient, db: Session, path: str, headers: dict[str, str]) -> int:
    with statements(db) as sent:
        answer = client.get(path, headers=headers)
    assert answer.status_code in (200, 404), answer.text
    # A token's last use is written at most once a minute, whenever that falls in the test.
    return sum(1 for s in sent if not s.lstrip().upper().startswith("UPDATE API_TOKEN"))


def open_crisis(client: TestClient, tokens: dict[str, dict[str, str]], who: str = "kaz") -> int:
    body = {
        "organisation": "CSTO",
        "kind": "unrest",
        "summary": "Test crisis (fictional).",
        "agreement": "CST-1992",
        "article": "Article 4",
        "time_zone": "Asia/Almaty",
        "requested_at": "2022-01-05T23:00:00+06:00",
    }
    answer = client.post("/api/v1/crisis/requests", json=body, headers=tokens[who])
    assert answer.status_code == 201, answer.text
    number: int = answer.json()["id"]
    return number


def open_decision(
    client: TestClient,
    tokens: dict[str, dict[str, str]],
    crisis: int,
    session_on: str = "2022-01-06",
) -> int:
    answer = client.post(
        f"/api/v1/crisis/crises/{crisis}/decisions",
        json={"body": "CSTO-CSC", "session_on": session_on, "question": "Assist?"},
        headers=tokens["csto"],
    )
    assert answer.status_code == 201, answer.text
    number: int = answer.json()["id"]
    for who in VOTERS:
        stated = client.post(
            f"/api/v1/crisis/decisions/{number}/positions",
            json={"position": "in-favour"},
            headers=tokens[who],
        )
        assert stated.status_code == 200, stated.text
    return number


def costs(
    client: TestClient, db: Session, tokens: dict[str, dict[str, str]], path: str
) -> dict[str, int]:
    return {who: cost(client, db, path, tokens[who]) for who in READERS}


def one_at_a_time(db: Session, ids: list[int]) -> list[dict[str, Any]]:
    """Each crisis read alone, so that rows of one crisis showing in another's answer when
    they are read together would show as a difference."""
    db.expire_all()
    return [
        operations.read_model(db, crisis).model_dump(mode="json")
        for crisis in (db.get(Crisis, number) for number in ids)
        if crisis is not None
    ]


def attached(db: Session, organisation: str, on: date) -> set[str]:
    """The registry's own answer, not the crisis service's shortcut to it."""
    return {m.state_code for m in registry.members_on(db, organisation, on).members}


def may_see(db: Session, who: str) -> list[int]:
    """The crises the access rule, applied crisis by crisis, lets the reader see, newest
    first as the list orders them."""
    role, state, body = USERS[who]
    crises = db.scalars(select(Crisis).order_by(Crisis.started_on.desc(), Crisis.id.desc()))
    seen = []
    for crisis in crises:
        if role is Role.admin:
            seen.append(crisis.id)
        elif role is Role.secretariat:
            if body == f"{crisis.organisation_code}-SECRETARIAT":
                seen.append(crisis.id)
        elif (
            role in (Role.liaison, Role.analyst)
            and state is not None
            and (
                crisis.affected_state == state
                or state in attached(db, crisis.organisation_code, crisis.started_on)
            )
        ):
            seen.append(crisis.id)
    return seen


def test_reading_a_crisis_costs_the_same_however_many_decisions_it_has(
    client: TestClient, db: Session, tokens: dict[str, dict[str, str]]
) -> None:
    crisis = open_crisis(client, tokens)
    open_decision(client, tokens, crisis)
    path = f"/api/v1/crisis/crises/{crisis}"
    one = costs(client, db, tokens, path)
    for _ in range(3):
        open_decision(client, tokens, crisis)
    assert costs(client, db, tokens, path) == one
    # Members are looked up once for each day that decides who counts, not once per decision.
    open_decision(client, tokens, crisis, session_on="2022-01-07")
    more_days = costs(client, db, tokens, path)
    assert all(more_days[who] <= one[who] + 1 for who in READERS), (one, more_days)
    # A fixed handful: authentication, the access rule, then one statement per kind of row.
    assert max(more_days.values()) <= 16, more_days

    answer = client.get(path, headers=tokens["rus"]).json()
    assert len(answer["decisions"]) == 5
    assert answer == one_at_a_time(db, [crisis])[0]


def test_listing_crises_costs_the_same_however_many_there_are(
    client: TestClient, db: Session, tokens: dict[str, dict[str, str]]
) -> None:
    first = open_crisis(client, tokens)
    open_decision(client, tokens, first)
    path = "/api/v1/crisis/crises"
    one = costs(client, db, tokens, path)
    # The same start and session days as the first: members are looked up once per
    # (organisation, day), which the test of one crisis counts.
    for who in ("kaz", "tjk", "rus"):
        crisis = open_crisis(client, tokens, who)
        open_decision(client, tokens, crisis)
        open_decision(client, tokens, crisis)
    assert costs(client, db, tokens, path) == one
    assert max(one.values()) <= 16, one

    for who in READERS:
        answer = client.get(path, headers=tokens[who]).json()
        ids = [c["id"] for c in answer]
        assert ids == may_see(db, who), who
        assert answer == one_at_a_time(db, ids), who
    assert len(client.get(path, headers=tokens["kaz"]).json()) == 4
    assert client.get(path, headers=tokens["usa"]).json() == []


def open_operation(
    client: TestClient, tokens: dict[str, dict[str, str]], crisis: int, contributor: str = "rus"
) -> None:
    """An adopted decision on the crisis and an operation with a row of every kind it has:
    a task, a withdrawal plan, a pledge and a contingent with its steps (of ``contributor``,
    not the affected state), a situation report."""
    decision = open_decision(client, tokens, crisis)
    closed = client.post(
        f"/api/v1/crisis/decisions/{decision}/close",
        json={"time_zone": "Asia/Almaty", "decided_at": "2022-01-06T12:00:00+06:00"},
        headers=tokens["csto"],
    )
    assert closed.json()["result"] == "adopted", closed.text
    zone = {"time_zone": "Asia/Almaty"}
    made = client.post(
        f"/api/v1/crisis/crises/{crisis}/operation",
        json={
            **zone, "decision": decision, "name": "Test operation", "mandate": "Guard (fictional).",
            "area": "Almaty", "planned_start": "2022-01-07T08:00:00+06:00",
            "planned_end": "2022-01-20T08:00:00+06:00",
            "tasks": [{"title": "Guard the airport", "place": "Almaty"}],
        },
        headers=tokens["csto"],
    )  # fmt: skip
    assert made.status_code == 201, made.text
    base = f"/api/v1/crisis/operations/{made.json()['id']}"
    steps = [
        ("put", f"{base}/withdrawal-plan", "csto", {
            **zone, "planned_start": "2022-01-13T08:00:00+06:00",
            "planned_end": "2022-01-19T08:00:00+06:00", "text": "Leave by road."}),
        ("post", f"{base}/pledges", contributor, {
            **zone, "pledged_at": "2022-01-06T14:00:00+06:00", "personnel_low": 400,
            "personnel_high": 500, "readiness_hours": 24}),
        ("post", f"{base}/contingents", contributor, {
            "name": "Battalion", "personnel_low": 450, "personnel_high": 450}),
        ("post", f"{base}/reports", "csto", {
            **zone, "at": "2022-01-07T10:00:00+06:00", "text": "Calm."}),
    ]  # fmt: skip
    for method, path, who, body in steps:
        answer = client.request(method, path, json=body, headers=tokens[who])
        assert answer.status_code in (200, 201), answer.text
    contingent = answer.json()["contingents"][0]["id"]
    for kind, at in (
        ("departed", "2022-01-06T20:00:00+06:00"),
        ("arrived", "2022-01-07T02:00:00+06:00"),
    ):
        answer = client.post(
            f"/api/v1/crisis/contingents/{contingent}/steps",
            json={**zone, "kind": kind, "at": at},
            headers=tokens[contributor],
        )
        assert answer.status_code == 201, answer.text


def test_listing_crises_with_operations_costs_the_same_however_many_there_are(
    client: TestClient, db: Session, tokens: dict[str, dict[str, str]]
) -> None:
    first = open_crisis(client, tokens)
    open_operation(client, tokens, first)
    path = "/api/v1/crisis/crises"
    one = costs(client, db, tokens, path)
    for who in ("tjk", "rus"):
        open_operation(client, tokens, open_crisis(client, tokens, who), "kaz")
    assert costs(client, db, tokens, path) == one

    listed = client.get(path, headers=tokens["kaz"]).json()
    assert len(listed) == 3
    for crisis in listed:
        operation = crisis["operation"]
        assert [len(operation[k]) for k in ("tasks", "pledges", "situation_reports")] == [1, 1, 1]
        assert operation["withdrawal_plan"]["text"] == "Leave by road."
        assert [e["kind"] for e in operation["contingents"][0]["events"]] == [
            "departed",
            "arrived",
        ]
    assert listed == one_at_a_time(db, [c["id"] for c in listed])


def test_the_replayed_scenario_reads_as_the_one_crisis_read_model_gives(
    client: TestClient, db: Session, replayed: tuple[int, dict[str, dict[str, str]]]
) -> None:
    crisis, headers = replayed
    for who in sorted(headers):
        listed = client.get("/api/v1/crisis/crises", headers=headers[who]).json()
        assert listed == one_at_a_time(db, [c["id"] for c in listed]), who
        one = client.get(f"/api/v1/crisis/crises/{crisis}", headers=headers[who])
        if who == "USA":
            assert one.status_code == 404 and listed == []
        else:
            assert one.json() == one_at_a_time(db, [crisis])[0], who


@pytest.mark.parametrize("organisation", ["CSTO", "SCO", "CIS"])
@pytest.mark.parametrize("on", [date(1995, 1, 1), date(2022, 1, 5), date(2025, 3, 2)])
def test_attached_states_are_the_registrys_members_on_the_day(
    db: Session, organisation: str, on: date
) -> None:
    members = registry.members_on(db, organisation, on).members
    assert service.attached_states(db, organisation, on) == {
        m.state_code: m.status for m in members
    }
