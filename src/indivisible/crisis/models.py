"""Tables of crisis response: a crisis, the affected state's request for assistance, the
decisions of a collective body on it and every member's position."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, DateTime, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from indivisible.db import Base


class Crisis(Base):
    __tablename__ = "crisis"

    id: Mapped[int] = mapped_column(primary_key=True)
    affected_state: Mapped[str] = mapped_column(ForeignKey("state.code"), index=True)
    # The organisation whose members are asked; its members on the start date see the crisis.
    organisation_code: Mapped[str] = mapped_column(ForeignKey("organisation.code"))
    kind: Mapped[str] = mapped_column(String(40))
    summary: Mapped[str] = mapped_column(Text)
    started_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("principal.id"))

    __table_args__ = (Index("ix_crisis_organisation_started", "organisation_code", "started_on"),)


class AssistanceRequest(Base):
    """The affected state's request, citing its legal basis, timed to the minute in UTC with
    the time zone it was made in kept, so that local times can be shown as they were."""

    __tablename__ = "crisis_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    crisis_id: Mapped[int] = mapped_column(ForeignKey("crisis.id", ondelete="CASCADE"), index=True)
    agreement_code: Mapped[str] = mapped_column(ForeignKey("agreement.code"))
    article: Mapped[str] = mapped_column(String(120))
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    time_zone: Mapped[str] = mapped_column(String(64))
    text: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("principal.id"))


class Decision(Base):
    """A body's decision on a request; its result is computed from the positions when the
    secretariat closes it, and never set by hand."""

    __tablename__ = "crisis_decision"

    id: Mapped[int] = mapped_column(primary_key=True)
    crisis_id: Mapped[int] = mapped_column(ForeignKey("crisis.id", ondelete="CASCADE"), index=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("crisis_request.id"))
    body_code: Mapped[str] = mapped_column(ForeignKey("body.code"))
    # The day whose membership decides who counts.
    session_on: Mapped[date] = mapped_column(Date)
    question: Mapped[str] = mapped_column(Text)
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    opened_by: Mapped[int | None] = mapped_column(ForeignKey("principal.id"))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # adopted | blocked | not-adopted, once closed.
    result: Mapped[str | None] = mapped_column(String(20))
    # When the body took the decision (not when it was recorded), in UTC, and the time zone
    # it was announced in: the measures run from the request to this moment.
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_time_zone: Mapped[str | None] = mapped_column(String(64))


class DecisionPosition(Base):
    __tablename__ = "crisis_position"

    decision_id: Mapped[int] = mapped_column(
        ForeignKey("crisis_decision.id", ondelete="CASCADE"), primary_key=True
    )
    state_code: Mapped[str] = mapped_column(ForeignKey("state.code"), primary_key=True)
    position: Mapped[str] = mapped_column(String(20))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("principal.id"))
