"""A demonstration year of confidence-building among the Shanghai Five: notifications,
calendars, annual data under the 1997 agreement, inspections and clarification requests.

Every activity, figure and exchange here is invented for the demo and says so in its text;
the rules they are checked against are the shipped rule sets. The year is chosen so that a
compliance report has a full record: observers not invited over the 1996 thresholds, an
unanswered clarification past its deadline, a Joint Party ceiling exceeded in the western
sector, a refused inspection. No "late" notification can appear: the shipped rule sets
encode no notice period, because none could be read in the texts (docs/cbm.md).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from indivisible.auth.principal import Actor, Role
from indivisible.auth.submissions import Submission
from indivisible.cbm import exchange, service
from indivisible.cbm.models import Notification
from indivisible.cbm.schemas import (
    AnnualDataCreate,
    AnswerCreate,
    CalendarCreate,
    ClarificationCreate,
    NotificationCreate,
    VerificationCreate,
    VerificationDecision,
    VerificationReport,
)

DEMO_YEAR = 2026
DEMO_NOTE = "Demonstration data, not a real activity."
# Demo filings are made at the console with no state's key: they are marked unsigned.
DEMO_SUBMISSION = Submission(body={}, allow_unsigned=True)
# Points inside each state, within the 100 km zones along its border with China (checked by
# tests/cbm/test_demo.py against the map).
NEAR_CHINA = {
    "KAZ": (80.0, 44.5),
    "KGZ": (75.3, 40.9),
    "TJK": (74.4, 38.3),
    "RUS": (135.2, 48.3),
    "CHN": (81.6, 44.0),
}

# state, kind, start, days, forces, observers invited, days notified ahead
NOTIFICATIONS: list[tuple[str, str, str, int, dict[str, int], list[str], int]] = [
    ("KAZ", "exercise", "2026-03-10", 6, {"personnel": 14000, "battle-tanks": 80}, [], 45),
    ("CHN", "exercise", "2026-04-20", 9, {"personnel": 36000, "battle-tanks": 310},
     ["KAZ", "KGZ", "RUS", "TJK"], 60),
    ("RUS", "exercise", "2026-05-12", 9, {"personnel": 38000, "battle-tanks": 250}, ["CHN"], 40),
    ("KGZ", "exercise", "2026-06-03", 4, {"personnel": 4000}, [], 20),
    ("TJK", "exercise", "2026-07-15", 5, {"personnel": 26000, "artillery": 120}, [], 35),
    ("KAZ", "concentration", "2026-08-01", 10, {"personnel": 9500}, [], 30),
    ("CHN", "exercise", "2026-09-14", 7, {"personnel": 12000}, [], 42),
    ("RUS", "exercise", "2026-10-05", 5, {"personnel": 8000}, [], 30),
]  # fmt: skip

# Moscow 1997 annual data: forces within 100 km of the border, by sector, as of 1 January.
# Which border pairs form each sector is not encoded (a gap of the rule set); the demo
# states them as a party would.
ANNUAL: dict[str, list[tuple[str | None, str, int]]] = {
    "CHN": [("east", "personnel", 110000), ("west", "personnel", 10500),
            ("east", "border-troops", 36000), ("west", "border-troops", 15000),
            (None, "battle-tanks", 3700)],
    "KAZ": [("west", "personnel", 6000), ("west", "border-troops", 9000)],
    "KGZ": [("west", "personnel", 2500), ("west", "border-troops", 3000)],
    "TJK": [("west", "personnel", 3100), ("west", "border-troops", 2500)],
    "RUS": [("east", "personnel", 105000), ("east", "border-troops", 33000),
            (None, "battle-tanks", 3810)],
}  # fmt: skip


def _liaison(state: str) -> Actor:
    return Actor(label="demo", role=Role.liaison, state_code=state)


def _location(state: str, radius_km: float = 15) -> dict[str, Any]:
    lon, lat = NEAR_CHINA[state]
    return {"point": [lon, lat], "radius_km": radius_km}


def create_demo_cbm(session: Session) -> int:
    """Loads the demo year on a node with no notification yet; returns notifications made."""
    if session.scalars(select(Notification.id)).first() is not None:
        return 0
    filed: list[Notification] = []
    for state, kind, start, days, forces, observers, ahead in NOTIFICATIONS:
        first = date.fromisoformat(start)
        filed.append(
            service.file_notification(
                session,
                _liaison(state),
                NotificationCreate.model_validate(
                    {
                        "kind": kind,
                        "start": first,
                        "end": first + timedelta(days=days - 1),
                        "location": _location(state),
                        "forces": forces,
                        "purpose": DEMO_NOTE,
                        "observers_invited": observers,
                    }
                ),
                filed_on=first - timedelta(days=ahead),
                submission=DEMO_SUBMISSION,
            )
        )
    _clarifications(session, filed)
    _calendars(session)
    for state, holdings in ANNUAL.items():
        exchange.submit_annual_data(
            session,
            _liaison(state),
            AnnualDataCreate.model_validate(
                {
                    "rule_set": "MOSCOW-REDUCTION-1997",
                    "year": DEMO_YEAR,
                    "holdings": [
                        {"sector": sector, "category": category, "count": count}
                        for sector, category, count in holdings
                    ],
                }
            ),
            submitted_on=date(DEMO_YEAR - 1, 12, 15),
            submission=DEMO_SUBMISSION,
        )
    _inspections(session)
    return len(filed)


def _clarifications(session: Session, filed: list[Notification]) -> None:
    russian, tajik = filed[2], filed[4]
    asked = service.ask(
        session,
        _liaison("CHN"),
        russian.id,
        ClarificationCreate(
            question="Why were only Chinese observers invited? (demonstration data)"
        ),
        asked_at=datetime(2026, 4, 10, 9, 0, tzinfo=UTC),
    )
    service.answer(
        session,
        _liaison("RUS"),
        asked.id,
        AnswerCreate(answer="Invitations to the other parties follow. (demonstration data)"),
        answered_at=datetime(2026, 4, 14, 16, 30, tzinfo=UTC),
    )
    # Left unanswered: past its seven days, it shows as overdue.
    service.ask(
        session,
        _liaison("KAZ"),
        tajik.id,
        ClarificationCreate(
            question="Please give the artillery calibres and the exercise scenario. "
            "(demonstration data)"
        ),
        asked_at=datetime(2026, 6, 20, 8, 0, tzinfo=UTC),
    )


def _calendars(session: Session) -> None:
    planned: dict[str, list[tuple[str, str, int, dict[str, int]]]] = {}
    for state, kind, start, days, forces, _observers, _ahead in NOTIFICATIONS:
        planned.setdefault(state, []).append((kind, start, days, forces))
    # Planned, never notified: shows in the calendar; no shipped rule makes it "missing".
    planned["KGZ"].append(("exercise", "2026-11-02", 5, {"personnel": 15000}))
    for state, activities in planned.items():
        exchange.submit_calendar(
            session,
            _liaison(state),
            CalendarCreate.model_validate(
                {
                    "year": DEMO_YEAR,
                    "activities": [
                        {
                            "kind": kind,
                            "start": start,
                            "end": date.fromisoformat(start) + timedelta(days=days - 1),
                            "location": _location(state),
                            "forces": forces,
                            "purpose": DEMO_NOTE,
                        }
                        for kind, start, days, forces in activities
                    ],
                }
            ),
            submitted_on=date(DEMO_YEAR - 1, 11, 15),
        )


def _inspections(session: Session) -> None:
    visits = [("CHN", "KAZ", "2026-05-20", True), ("KAZ", "CHN", "2026-06-15", True),
              ("RUS", "CHN", "2026-09-01", False)]  # fmt: skip
    for requesting, receiving, day, accept in visits:
        request = exchange.request_verification(
            session,
            _liaison(requesting),
            VerificationCreate(
                rule_set="MOSCOW-REDUCTION-1997",
                kind="inspection",
                receiving_state=receiving,
                visit_on=date.fromisoformat(day),
            ),
        )
        exchange.decide_verification(
            session,
            _liaison(receiving),
            request.id,
            VerificationDecision(
                accept=accept,
                grounds=None if accept else "The site is closed for repairs. (demonstration data)",
            ),
        )
        if accept:
            exchange.report_verification(
                session,
                _liaison(requesting),
                request.id,
                VerificationReport(
                    report="Forces found as declared in the annual data. (demonstration data)"
                ),
            )
