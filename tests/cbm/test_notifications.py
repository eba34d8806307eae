"""Notifications over the API on both databases: filed, checked against the agreements in
force, routed to the other parties' inboxes, acknowledged; invisible to everyone else."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from indivisible.auth.principal import Role
from indivisible.cbm import service
from indivisible.cbm.models import Clarification, Notification
from tests.conftest import bearer_tokens

# Near the Sino-Kazakh border (Almaty region), and Astana, far from it.
NEAR_BORDER = [80.0, 44.5]
ASTANA = [71.45, 51.17]

USERS = {
    "kaz": (Role.liaison, "KAZ"),
    "kaz-analyst": (Role.analyst, "KAZ"),
    "chn": (Role.liaison, "CHN"),
    "chn-observer": (Role.observer, "CHN"),
    "usa": (Role.liaison, "USA"),
}


@pytest.fixture
def tokens(db: Session) -> dict[str, dict[str, str]]:
    return bearer_tokens(
        db, "cbm", {name: (role, state, None) for name, (role, state) in USERS.items()}
    )


def exercise(**overrides: Any) -> dict[str, Any]:
    return {
        "kind": "exercise",
        "start": "2026-06-01",
        "end": "2026-06-10",
        "location": {"point": NEAR_BORDER, "radius_km": 20},
        "forces": {"personnel": 36000, "battle-tanks": 120},
        "purpose": "Command-staff exercise",
        **overrides,
    }


def test_a_filed_notification_reaches_the_other_parties_and_no_one_else(
    client: TestClient, tokens: dict[str, dict[str, str]]
) -> None:
    filed = client.post("/api/v1/cbm/notifications", json=exercise(), headers=tokens["kaz"])
    assert filed.status_code == 201, filed.text
    body = filed.json()
    # Both Shanghai Five agreements bind Kazakhstan with China, Kyrgyzstan, Russia, Tajikistan.
    assert {r["state"] for r in body["recipients"]} == {"CHN", "KGZ", "RUS", "TJK"}
    assert {a for r in body["recipients"] for a in r["agreements"]} == {
        "SHANGHAI-CBM-1996",
        "MOSCOW-REDUCTION-1997",
    }
    findings = {(f["rule_set"], f["rule"]): f for f in body["findings"]}
    assert findings[("SHANGHAI-CBM-1996", "area")]["outcome"] == "inside"
    invite = findings[("SHANGHAI-CBM-1996", "art-6.1")]
    assert (invite["outcome"], invite["cite"]) == ("invite", "Art. 6.1")
    assert invite["text"].startswith("Art. 6.1: observers must be invited")
    # The 1996 agreement's notification articles are not encoded: undecided, so not voluntary.
    assert not body["voluntary"]
    number = body["id"]

    inbox = client.get("/api/v1/cbm/notifications?box=inbox", headers=tokens["chn"]).json()
    assert [n["id"] for n in inbox] == [number]
    acknowledged = client.post(
        f"/api/v1/cbm/notifications/{number}/acknowledgement", headers=tokens["chn"]
    )
    assert acknowledged.status_code == 200 and acknowledged.json()["acknowledged_at"]
    again = client.post(
        f"/api/v1/cbm/notifications/{number}/acknowledgement", headers=tokens["chn"]
    )
    assert again.json()["acknowledged_at"] == acknowledged.json()["acknowledged_at"]
    shown = client.get(f"/api/v1/cbm/notifications/{number}", headers=tokens["kaz-analyst"]).json()
    assert [
        r["acknowledged_at"] is not None for r in shown["recipients"] if r["state"] == "CHN"
    ] == [True]

    # The notifier sees it as sent, not in its inbox, and cannot acknowledge it.
    assert client.get("/api/v1/cbm/notifications?box=inbox", headers=tokens["kaz"]).json() == []
    assert [
        n["id"]
        for n in client.get("/api/v1/cbm/notifications?box=sent", headers=tokens["kaz"]).json()
    ] == [number]
    own = client.post(f"/api/v1/cbm/notifications/{number}/acknowledgement", headers=tokens["kaz"])
    assert own.status_code == 403
    # A state that is no party, and a role that does not read notifications, see nothing.
    for outsider in ("usa", "chn-observer"):
        assert client.get("/api/v1/cbm/notifications", headers=tokens[outsider]).json() == []
        hidden = client.get(f"/api/v1/cbm/notifications/{number}", headers=tokens[outsider])
        missing = client.get("/api/v1/cbm/notifications/999999", headers=tokens[outsider])
        assert hidden.status_code == missing.status_code == 404
        assert hidden.json()["detail"].replace(str(number), "N") == missing.json()[
            "detail"
        ].replace("999999", "N")


def test_an_activity_outside_every_area_is_voluntary_and_goes_nowhere(
    client: TestClient, tokens: dict[str, dict[str, str]]
) -> None:
    filed = client.post(
        "/api/v1/cbm/notifications",
        json=exercise(location={"point": ASTANA}),
        headers=tokens["kaz"],
    )
    body = filed.json()
    assert filed.status_code == 201 and body["voluntary"] and body["recipients"] == []
    assert {f["outcome"] for f in body["findings"] if f["topic"] == "area"} == {"outside"}
    # Art. 6.3 of the 1996 agreement reaches beyond the zone, but only as a voluntary invitation.
    assert [(f["rule"], f["outcome"]) for f in body["findings"] if f["topic"] == "observation"] == [
        ("art-6.3", "voluntary")
    ]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"end": "2026-05-01"}, "end"),
        ({"forces": {"personnel": -5}}, "forces.personnel"),
        ({"forces": {"spearmen": 5}}, "forces.spearmen"),
        ({"kind": "parade"}, "kind"),
        ({"location": {"polygon": [[80, 44], [81, 44], [81, 45], [80, 45]]}}, "location"),
        ({"location": {"polygon": [[80, 44], [81, 45], [81, 44], [80, 45], [80, 44]]}}, "location"),
        ({"location": {"point": [200, 44]}}, "location"),
        ({"location": {"state": "ZZZ"}}, "location.state"),
        ({"observers_invited": ["ZZZ"]}, "observers_invited"),
    ],
)
def test_bad_notifications_name_the_field_and_write_nothing(
    client: TestClient,
    tokens: dict[str, dict[str, str]],
    db: Session,
    change: dict[str, Any],
    field: str,
) -> None:
    before = db.scalar(select(func.count()).select_from(Notification))
    answer = client.post(
        "/api/v1/cbm/notifications", json=exercise(**change), headers=tokens["kaz"]
    )
    assert answer.status_code in (404, 422), answer.text
    problems = answer.json().get("errors", [])
    assert any(p["field"].startswith(field) for p in problems), problems
    assert db.scalar(select(func.count()).select_from(Notification)) == before


def test_only_liaison_officers_file(client: TestClient, tokens: dict[str, dict[str, str]]) -> None:
    answer = client.post(
        "/api/v1/cbm/notifications", json=exercise(), headers=tokens["kaz-analyst"]
    )
    assert answer.status_code == 403


def test_a_clarification_thread_with_its_deadline(
    client: TestClient, tokens: dict[str, dict[str, str]]
) -> None:
    number = client.post(
        "/api/v1/cbm/notifications", json=exercise(), headers=tokens["kaz"]
    ).json()["id"]
    asked = client.post(
        f"/api/v1/cbm/notifications/{number}/clarifications",
        json={"question": "Which units take part?", "urgent": True},
        headers=tokens["chn"],
    )
    assert asked.status_code == 201, asked.text
    request = asked.json()
    # Art. 9 of the 1996 agreement: 2 days when urgent.
    assert request["due_rule"] == "SHANGHAI-CBM-1996 Art. 9"
    due = datetime.fromisoformat(request["due_at"]) - datetime.fromisoformat(request["asked_at"])
    assert due == timedelta(days=2)
    assert not request["overdue"]
    # Only the notifying state answers, once; outsiders cannot ask.
    url = f"/api/v1/cbm/clarifications/{request['id']}/answer"
    assert client.post(url, json={"answer": "No."}, headers=tokens["chn"]).status_code == 403
    assert client.post(url, json={"answer": "No."}, headers=tokens["usa"]).status_code == 404
    answered = client.post(url, json={"answer": "Two brigades."}, headers=tokens["kaz"])
    assert answered.status_code == 200 and answered.json()["answer"] == "Two brigades."
    assert client.post(url, json={"answer": "Again"}, headers=tokens["kaz"]).status_code == 409
    outsider = client.post(
        f"/api/v1/cbm/notifications/{number}/clarifications",
        json={"question": "?"},
        headers=tokens["usa"],
    )
    assert outsider.status_code == 404
    thread = client.get(f"/api/v1/cbm/notifications/{number}", headers=tokens["chn"]).json()
    assert [(c["question"], c["answer"]) for c in thread["clarifications"]] == [
        ("Which units take part?", "Two brigades.")
    ]


def test_overdue_is_computed_when_read() -> None:
    asked = datetime(2026, 1, 1, tzinfo=UTC)
    row = Clarification(
        id=1,
        notification_id=1,
        asked_by_state="CHN",
        question="?",
        urgent=False,
        asked_at=asked,
        due_at=asked + timedelta(days=7),
    )
    assert not service.clarification_read(row, now=asked + timedelta(days=6)).overdue
    assert service.clarification_read(row, now=asked + timedelta(days=8)).overdue
    row.answered_at = asked + timedelta(days=9)
    assert not service.clarification_read(row, now=asked + timedelta(days=10)).overdue
