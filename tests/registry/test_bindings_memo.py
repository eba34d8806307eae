"""The bindings on a date are read once per transaction, and never outlive a write.

Filing a CBM notification asks ``parties_on`` once per rule set; each used to rebuild every
party and membership on the date. Statements are counted, not timed, so the test is exact."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import pytest
from sqlalchemy import delete, event, select
from sqlalchemy.orm import Session

from indivisible.auth.principal import Actor
from indivisible.registry import service
from indivisible.registry.models import Agreement, Membership
from indivisible.registry.schemas import MembershipCreate

ON = date(2024, 1, 1)
# Each in force on ON, as the CBM engine's rule sets' agreements are on a filing's start.
IN_FORCE = ["SCO-CHARTER-2002", "CST-1992", "CIS-CHARTER-1993", "SHANGHAI-CONVENTION-2001"]
SCO_CHARTER = "SCO-CHARTER-2002"


@contextmanager
def statements(db: Session) -> Iterator[list[str]]:
    engine = db.get_bind().engine
    seen: list[str] = []

    def count(*args: Any) -> None:
        seen.append(args[2])

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def parties(db: Session, agreement: str = SCO_CHARTER, on: date = ON) -> set[str]:
    return {p.state for p in service.parties_on(db, agreement, on).parties}


def test_the_agreements_asked_about_are_in_force(db: Session) -> None:
    for code in IN_FORCE:
        assert service.parties_on(db, code, ON).in_force, code


def test_later_questions_on_the_same_date_issue_no_statement(db: Session) -> None:
    with statements(db) as first:
        service.parties_on(db, IN_FORCE[0], ON)
    # Agreements in force, memberships on the date, their parties (and the agreement itself).
    assert len(first) >= 3
    for code in IN_FORCE[1:] + IN_FORCE:
        with statements(db) as later:
            service.parties_on(db, code, ON)
        assert later == [], code


def test_another_date_is_read_once_too(db: Session) -> None:
    service.parties_on(db, SCO_CHARTER, ON)
    with statements(db) as other_day:
        service.parties_on(db, SCO_CHARTER, date(2000, 1, 1))
    assert other_day
    with statements(db) as again:
        service.parties_on(db, SCO_CHARTER, ON)
        service.parties_on(db, SCO_CHARTER, date(2000, 1, 1))
    assert again == []


def test_answers_are_those_read_afresh(db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    codes = list(db.scalars(select(Agreement.code).order_by(Agreement.code)))
    days = [date(1993, 6, 1), date(2000, 1, 1), ON, date(2025, 1, 1)]

    def ask() -> list[dict[str, Any]]:
        out = []
        for day in days:
            out += [service.parties_on(db, code, day).model_dump() for code in codes]
            out.append(service.bound_to_assist(db, "KAZ", day).model_dump())
            out.append(service.state_standing(db, "KAZ", day).model_dump())
            out.append(service.security_belt(db, "KGZ", day).model_dump())
        return out

    remembered = ask()
    monkeypatch.setattr(service, "_bindings", service._compute_bindings)
    assert ask() == remembered


def join_sco(db: Session, state: str) -> Membership:
    return service.add_membership(
        db,
        Actor.console("test"),
        MembershipCreate(
            state=state,
            organisation="SCO",
            status="member",
            valid_from=date(2020, 1, 1),
            sources=["iso-3166-1"],
        ),
    )


def test_a_write_in_the_same_transaction_is_seen_by_the_next_question(db: Session) -> None:
    assert "GEO" not in parties(db)
    row = join_sco(db, "GEO")  # flushes
    assert "GEO" in parties(db)

    # Not flushed: the question's own queries autoflush, as they did before the memo.
    row.status = "observer"
    assert "GEO" not in parties(db)
    row.status = "member"
    assert "GEO" in parties(db)

    # A bulk statement goes around the flush.
    db.execute(delete(Membership).where(Membership.id == row.id))
    assert "GEO" not in parties(db)


def test_a_pending_row_is_seen(db: Session) -> None:
    assert "GEO" not in parties(db)
    db.add(Membership(state_code="GEO", organisation_code="SCO", status="member", valid_from=ON))
    assert "GEO" in parties(db)


def test_a_flushed_row_is_seen(db: Session) -> None:
    assert "GEO" not in parties(db)
    db.add(Membership(state_code="GEO", organisation_code="SCO", status="member", valid_from=ON))
    db.flush()
    assert "GEO" in parties(db)


def test_a_rolled_back_savepoint_is_forgotten(db: Session) -> None:
    parties(db)
    savepoint = db.begin_nested()
    join_sco(db, "GEO")
    assert "GEO" in parties(db)
    savepoint.rollback()
    assert "GEO" not in parties(db)


def test_nothing_is_remembered_past_the_transaction(db: Session) -> None:
    parties(db)
    db.commit()
    with statements(db) as after_commit:
        parties(db)
    assert after_commit
    db.rollback()
    with statements(db) as after_rollback:
        parties(db)
    assert after_rollback
