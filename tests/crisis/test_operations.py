"""After the decision, over the API on both databases: the operation, pledges, contingents
and their steps. Steps out of order, by the wrong role or state, or with bad input get a
clear 4xx that names the rule, and change nothing."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from indivisible.auth.principal import Role
from indivisible.crisis.models import (
    Consultation,
    Contingent,
    DeploymentEvent,
    Operation,
    OperationTask,
    Pledge,
    SituationReport,
    WithdrawalPlan,
)
from tests.conftest import bearer_tokens

USERS: dict[str, tuple[Role, str | None, str | None]] = {
    "tjk": (Role.liaison, "TJK", None),
    "rus": (Role.liaison, "RUS", None),
    "kgz": (Role.liaison, "KGZ", None),
    "kaz": (Role.liaison, "KAZ", None),
    "arm": (Role.liaison, "ARM", None),
    "usa": (Role.liaison, "USA", None),
    "csto": (Role.secretariat, None, "CSTO-SECRETARIAT"),
    "sco": (Role.secretariat, None, "SCO-SECRETARIAT"),
}
TABLES = (Consultation, Operation, OperationTask, WithdrawalPlan, Pledge, Contingent, DeploymentEvent, SituationReport)  # fmt: skip


def counts(db: Session) -> tuple[int, ...]:
    db.expire_all()
    return tuple(db.scalar(select(func.count()).select_from(t)) or 0 for t in TABLES)


def fields(answer: Any) -> list[str]:
    return [e["field"] for e in answer.json().get("errors", [])]


@pytest.fixture
def tokens(db: Session) -> dict[str, dict[str, str]]:
    return bearer_tokens(db, "op", USERS)


@pytest.fixture
def decided(client: TestClient, tokens: dict[str, dict[str, str]]) -> tuple[int, int]:
    """A fictional 2025 crisis in Tajikistan with an adopted decision: (crisis, decision)."""
    crisis = client.post(
        "/api/v1/crisis/requests",
        json={
            "organisation": "CSTO", "kind": "unrest", "summary": "Test crisis (fictional).",
            "agreement": "CST-1992", "article": "Article 4", "time_zone": "Asia/Dushanbe",
            "requested_at": "2025-03-01T10:00:00+05:00",
        },
        headers=tokens["tjk"],
    ).json()  # fmt: skip
    decision = client.post(
        f"/api/v1/crisis/crises/{crisis['id']}/decisions",
        json={"body": "CSTO-CSC", "session_on": "2025-03-01", "question": "Assist?"},
        headers=tokens["csto"],
    ).json()
    for who in ("rus", "kgz", "kaz", "tjk"):
        client.post(
            f"/api/v1/crisis/decisions/{decision['id']}/positions",
            json={"position": "in-favour"},
            headers=tokens[who],
        )
    closed = client.post(
        f"/api/v1/crisis/decisions/{decision['id']}/close",
        json={"time_zone": "Europe/Moscow", "decided_at": "2025-03-01T12:00:00+03:00"},
        headers=tokens["csto"],
    )
    assert closed.json()["result"] == "adopted", closed.text
    return crisis["id"], decision["id"]


def operation_body(decision: int, **overrides: Any) -> dict[str, Any]:
    return {
        "decision": decision, "name": "Test operation", "mandate": "Protect the test site.",
        "area": "Dushanbe", "time_zone": "Asia/Dushanbe",
        "planned_start": "2025-03-02T08:00:00+05:00", "planned_end": "2025-03-20T08:00:00+05:00",
        "tasks": [{"title": "Protect the airport", "place": "Dushanbe"}],
        **overrides,
    }  # fmt: skip


def step(kind: str, at: str, **extra: Any) -> dict[str, Any]:
    return {"kind": kind, "time_zone": "Asia/Dushanbe", "at": at, **extra}


def test_an_operation_from_pledge_to_home_and_its_measures(
    client: TestClient, tokens: dict[str, dict[str, str]], decided: tuple[int, int]
) -> None:
    crisis, decision = decided
    made = client.post(
        f"/api/v1/crisis/crises/{crisis}/operation", json=operation_body(decision), headers=tokens["csto"]
    )  # fmt: skip
    assert made.status_code == 201, made.text
    operation = made.json()
    task = operation["tasks"][0]["id"]
    base = f"/api/v1/crisis/operations/{operation['id']}"
    pledged = client.post(
        f"{base}/pledges",
        json={"time_zone": "Europe/Moscow", "pledged_at": "2025-03-01T14:00:00+03:00",
              "personnel_low": 400, "personnel_high": 500, "equipment": {"vehicles": 20},
              "readiness_hours": 24},
        headers=tokens["rus"],
    )  # fmt: skip
    assert pledged.status_code == 201, pledged.text
    formed = client.post(
        f"{base}/contingents",
        json={"name": "Airborne battalion", "personnel_low": 450, "personnel_high": 450},
        headers=tokens["rus"],
    )
    contingent = formed.json()["contingents"][0]["id"]
    path = f"/api/v1/crisis/contingents/{contingent}/steps"
    for body in (
        step("departed", "2025-03-01T20:00:00+05:00"),
        step("arrived", "2025-03-02T02:00:00+05:00"),
        step("task-taken-over", "2025-03-02T06:00:00+05:00", task=task),
        step("withdrawal-started", "2025-03-10T08:00:00+05:00"),
        step("home", "2025-03-10T20:00:00+05:00"),
    ):
        answer = client.post(path, json=body, headers=tokens["rus"])
        assert answer.status_code == 201, answer.text
    m = client.get(f"/api/v1/crisis/crises/{crisis}/measures", headers=tokens["kgz"]).json()
    # Requested 05:00 UTC, decided 09:00 UTC, first arrival 21:00 UTC, task at 01:00 UTC.
    assert m["request_to_decision"]["minutes"] == 240
    assert m["decision_to_first_arrival"]["minutes"] == 12 * 60
    assert m["decision_to_full_deployment"]["minutes"] == 12 * 60
    assert m["tasks"][0]["from_decision"]["minutes"] == 16 * 60
    assert m["mission"]["minutes"] == (8 * 24 + 6) * 60
    assert m["withdrawal"]["minutes"] == 12 * 60
    # Planned start 03:00 UTC on the 2nd; the first arrival came 6 hours before it.
    assert m["start_delay_minutes"] == -6 * 60
    assert (m["supported"]["count"], m["pledged"]["count"], m["deployed"]["count"]) == (3, 1, 1)
    # Eligible: CSTO members active on the day other than Tajikistan (Armenia is frozen).
    assert m["eligible"] == ["BLR", "KAZ", "KGZ", "RUS"]
    assert m["pledges_fulfilled"] == {"low": 450 / 500, "high": 450 / 400, "unreported": []}
    assert m["complete"] is True


@pytest.fixture
def operation(
    client: TestClient, tokens: dict[str, dict[str, str]], decided: tuple[int, int]
) -> dict[str, Any]:
    crisis, decision = decided
    made = client.post(
        f"/api/v1/crisis/crises/{crisis}/operation", json=operation_body(decision), headers=tokens["csto"]
    ).json()  # fmt: skip
    formed = client.post(
        f"/api/v1/crisis/operations/{made['id']}/contingents",
        json={"name": "Company"},
        headers=tokens["kgz"],
    ).json()
    return {
        **made,
        "contingent": formed["contingents"][0]["id"],
        "crisis": crisis,
        "decision": decision,
    }


@pytest.mark.parametrize(
    ("who", "body", "status", "field"),
    [
        # Arrival before departure, withdrawal or home of a contingent that never arrived.
        ("kgz", step("arrived", "2025-03-02T02:00:00+05:00"), 409, "kind"),
        ("kgz", step("withdrawal-started", "2025-03-02T02:00:00+05:00"), 409, "kind"),
        ("kgz", step("home", "2025-03-02T02:00:00+05:00"), 409, "kind"),
        ("kgz", step("task-taken-over", "2025-03-02T02:00:00+05:00", task=1), 409, "kind"),
        # Before the decision that set the operation up.
        ("kgz", step("departed", "2025-03-01T08:00:00+05:00"), 422, "at"),
        # Not yet happened.
        ("kgz", step("departed", "2099-03-01T08:00:00+05:00"), 422, "at"),
        # Another state's contingent; a state outside the organisation sees nothing.
        ("rus", step("departed", "2025-03-01T20:00:00+05:00"), 403, None),
        ("usa", step("departed", "2025-03-01T20:00:00+05:00"), 404, None),
        ("csto", step("departed", "2025-03-01T20:00:00+05:00"), 403, None),
        # Bad input: offset not of the zone, unknown kind, a task for a plain step.
        ("kgz", step("departed", "2025-03-01T20:00:00+03:00"), 422, "at"),
        ("kgz", step("landed", "2025-03-01T20:00:00+05:00"), 422, "kind"),
        ("kgz", step("departed", "2025-03-01T20:00:00+05:00", task=1), 422, "task"),
    ],
)
def test_steps_out_of_order_or_by_the_wrong_hand_are_refused(
    client: TestClient,
    tokens: dict[str, dict[str, str]],
    db: Session,
    operation: dict[str, Any],
    who: str,
    body: dict[str, Any],
    status: int,
    field: str | None,
) -> None:
    before = counts(db)
    answer = client.post(
        f"/api/v1/crisis/contingents/{operation['contingent']}/steps",
        json=body,
        headers=tokens[who],
    )
    assert answer.status_code == status, answer.text
    if field is not None:
        assert field in fields(answer), answer.text
    assert counts(db) == before


def test_an_arrival_timed_before_the_departure_is_refused(
    client: TestClient, tokens: dict[str, dict[str, str]], db: Session, operation: dict[str, Any]
) -> None:
    path = f"/api/v1/crisis/contingents/{operation['contingent']}/steps"
    assert client.post(path, json=step("departed", "2025-03-02T10:00:00+05:00"), headers=tokens["kgz"]).status_code == 201  # fmt: skip
    before = counts(db)
    early = client.post(path, json=step("arrived", "2025-03-02T09:00:00+05:00"), headers=tokens["kgz"])  # fmt: skip
    assert early.status_code == 422 and fields(early) == ["at"]
    assert early.json()["code"] == "before_previous_step"
    # A task of another operation is not this one's.
    assert client.post(path, json=step("arrived", "2025-03-02T11:00:00+05:00"), headers=tokens["kgz"]).status_code == 201  # fmt: skip
    before = counts(db)
    foreign = client.post(path, json=step("task-taken-over", "2025-03-02T12:00:00+05:00", task=999999), headers=tokens["kgz"])  # fmt: skip
    assert foreign.status_code == 422 and fields(foreign) == ["task"]
    task = operation["tasks"][0]["id"]
    assert client.post(path, json=step("task-taken-over", "2025-03-02T12:00:00+05:00", task=task), headers=tokens["kgz"]).status_code == 201  # fmt: skip
    before = counts(db)
    twice = client.post(path, json=step("task-taken-over", "2025-03-02T13:00:00+05:00", task=task), headers=tokens["kgz"])  # fmt: skip
    assert twice.status_code == 409 and twice.json()["code"] == "task_taken_already"
    assert counts(db) == before


def test_operation_pledges_and_reports_refuse_the_wrong_order_and_hand(
    client: TestClient, tokens: dict[str, dict[str, str]], db: Session, operation: dict[str, Any]
) -> None:
    crisis, decision = operation["crisis"], operation["decision"]
    base = f"/api/v1/crisis/operations/{operation['id']}"
    pledge = {"time_zone": "Europe/Moscow", "pledged_at": "2025-03-01T14:00:00+03:00", "personnel_low": 1, "personnel_high": 2}  # fmt: skip
    before = counts(db)
    cases = [
        # A second operation for the same crisis.
        (
            client.post(
                f"/api/v1/crisis/crises/{crisis}/operation",
                json=operation_body(decision),
                headers=tokens["csto"],
            ),
            409,
        ),
        # A member state cannot set one up; another organisation's secretariat sees nothing.
        (
            client.post(
                f"/api/v1/crisis/crises/{crisis}/operation",
                json=operation_body(decision),
                headers=tokens["rus"],
            ),
            403,
        ),
        (
            client.post(
                f"/api/v1/crisis/crises/{crisis}/operation",
                json=operation_body(decision),
                headers=tokens["sco"],
            ),
            404,
        ),
        # Armenia's participation is frozen in 2025, Tajikistan is the state in crisis.
        (client.post(f"{base}/pledges", json=pledge, headers=tokens["arm"]), 422),
        (client.post(f"{base}/pledges", json=pledge, headers=tokens["tjk"]), 422),
        (client.post(f"{base}/pledges", json=pledge, headers=tokens["usa"]), 404),
        # Only the secretariat reports for the headquarters; a state only for its own.
        (
            client.post(
                f"{base}/reports",
                json={"time_zone": "Asia/Dushanbe", "at": "2025-03-02T10:00:00+05:00", "text": "x"},
                headers=tokens["rus"],
            ),
            403,
        ),
        (
            client.post(
                f"{base}/reports",
                json={
                    "time_zone": "Asia/Dushanbe",
                    "at": "2025-03-02T10:00:00+05:00",
                    "contingent": operation["contingent"],
                    "text": "x",
                },
                headers=tokens["rus"],
            ),
            403,
        ),
        (
            client.post(
                f"{base}/reports",
                json={"time_zone": "Asia/Dushanbe", "at": "2025-02-01T10:00:00+05:00", "text": "x"},
                headers=tokens["csto"],
            ),
            422,
        ),
        # A withdrawal planned before the operation starts.
        (
            client.put(
                f"{base}/withdrawal-plan",
                json={
                    "time_zone": "Asia/Dushanbe",
                    "planned_start": "2025-03-01T10:00:00+05:00",
                    "planned_end": "2025-03-05T10:00:00+05:00",
                    "text": "x",
                },
                headers=tokens["csto"],
            ),
            422,
        ),
        # Consultations with a state outside the organisation.
        (
            client.post(
                f"/api/v1/crisis/crises/{crisis}/consultations",
                json={
                    "time_zone": "Asia/Dushanbe",
                    "held_at": "2025-03-01T11:00:00+05:00",
                    "format": "call",
                    "participants": ["RUS", "USA"],
                    "summary": "x",
                },
                headers=tokens["csto"],
            ),
            422,
        ),
    ]
    for answer, status in cases:
        assert answer.status_code == status, answer.text
    assert counts(db) == before
    assert client.post(f"{base}/pledges", json=pledge, headers=tokens["kgz"]).status_code == 201
    again = client.post(f"{base}/pledges", json=pledge, headers=tokens["kgz"])
    assert again.status_code == 409 and again.json()["code"] == "pledged_already"


def test_only_an_adopted_decision_sets_up_an_operation(
    client: TestClient, tokens: dict[str, dict[str, str]], db: Session
) -> None:
    crisis = client.post(
        "/api/v1/crisis/requests",
        json={"organisation": "CSTO", "kind": "unrest", "summary": "Test (fictional).",
              "agreement": "CST-1992", "article": "Article 4", "time_zone": "Asia/Almaty",
              "requested_at": "2025-04-01T10:00:00+05:00"},
        headers=tokens["kaz"],
    ).json()  # fmt: skip
    decision = client.post(
        f"/api/v1/crisis/crises/{crisis['id']}/decisions",
        json={"body": "CSTO-CSC", "session_on": "2025-04-01", "question": "Assist?"},
        headers=tokens["csto"],
    ).json()
    before = counts(db)
    body = operation_body(
        decision["id"], planned_start=None, planned_end=None, time_zone="Asia/Almaty"
    )
    still_open = client.post(f"/api/v1/crisis/crises/{crisis['id']}/operation", json=body, headers=tokens["csto"])  # fmt: skip
    assert still_open.status_code == 409 and still_open.json()["code"] == "decision_not_adopted"
    client.post(f"/api/v1/crisis/decisions/{decision['id']}/positions", json={"position": "against"}, headers=tokens["rus"])  # fmt: skip
    client.post(f"/api/v1/crisis/decisions/{decision['id']}/close", json={"time_zone": "Europe/Moscow", "decided_at": "2025-04-01T12:00:00+03:00"}, headers=tokens["csto"])  # fmt: skip
    blocked = client.post(f"/api/v1/crisis/crises/{crisis['id']}/operation", json=body, headers=tokens["csto"])  # fmt: skip
    assert blocked.status_code == 409 and blocked.json()["code"] == "decision_not_adopted"
    assert counts(db) == before
