"""Tables of crisis response: a crisis, the affected state's request for assistance, the
decisions of a collective body on it and every member's position."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, DateTime, ForeignKey, Index, String, Text, UniqueConstraint
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
    # How far the recorded moment may be off, when sources give only an hour or a day.
    plus_minus_minutes: Mapped[int] = mapped_column(default=0)
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
    decided_plus_minus_minutes: Mapped[int] = mapped_column(default=0)


class DecisionPosition(Base):
    __tablename__ = "crisis_position"

    decision_id: Mapped[int] = mapped_column(
        ForeignKey("crisis_decision.id", ondelete="CASCADE"), primary_key=True
    )
    state_code: Mapped[str] = mapped_column(ForeignKey("state.code"), primary_key=True)
    position: Mapped[str] = mapped_column(String(20))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("principal.id"))


class Consultation(Base):
    """A session of consultations on the crisis, with the states that took part."""

    __tablename__ = "crisis_consultation"

    id: Mapped[int] = mapped_column(primary_key=True)
    crisis_id: Mapped[int] = mapped_column(ForeignKey("crisis.id", ondelete="CASCADE"), index=True)
    held_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    time_zone: Mapped[str] = mapped_column(String(64))
    plus_minus_minutes: Mapped[int] = mapped_column(default=0)
    # e.g. videoconference, in person, telephone.
    format: Mapped[str] = mapped_column(String(40))
    participants: Mapped[list[str]] = mapped_column(JSON)
    summary: Mapped[str] = mapped_column(Text)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("principal.id"))


class Operation(Base):
    """The operation an adopted decision sets up. Its actual start and end are not stored:
    they are read from the contingents' deployment events."""

    __tablename__ = "crisis_operation"

    id: Mapped[int] = mapped_column(primary_key=True)
    crisis_id: Mapped[int] = mapped_column(ForeignKey("crisis.id", ondelete="CASCADE"), unique=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("crisis_decision.id"))
    name: Mapped[str] = mapped_column(String(200))
    mandate: Mapped[str] = mapped_column(Text)
    area: Mapped[str] = mapped_column(Text)
    commander: Mapped[str | None] = mapped_column(String(200))
    time_zone: Mapped[str] = mapped_column(String(64))
    # Unset when the decision named no dates ("for a limited period").
    planned_start: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    planned_end: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("principal.id"))


class OperationTask(Base):
    """A task of the mandate, such as protecting a named facility."""

    __tablename__ = "crisis_task"

    id: Mapped[int] = mapped_column(primary_key=True)
    operation_id: Mapped[int] = mapped_column(
        ForeignKey("crisis_operation.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(300))
    place: Mapped[str | None] = mapped_column(String(300))


class WithdrawalPlan(Base):
    __tablename__ = "crisis_withdrawal_plan"

    operation_id: Mapped[int] = mapped_column(
        ForeignKey("crisis_operation.id", ondelete="CASCADE"), primary_key=True
    )
    planned_start: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    planned_end: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    time_zone: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("principal.id"))


class Pledge(Base):
    """What a member state offers: personnel (a range where only a range is known),
    equipment by category and the hours it needs to be ready."""

    __tablename__ = "crisis_pledge"

    id: Mapped[int] = mapped_column(primary_key=True)
    operation_id: Mapped[int] = mapped_column(
        ForeignKey("crisis_operation.id", ondelete="CASCADE"), index=True
    )
    state_code: Mapped[str] = mapped_column(ForeignKey("state.code"))
    # Both unset when no figure was reported.
    personnel_low: Mapped[int | None]
    personnel_high: Mapped[int | None]
    equipment: Mapped[dict[str, int]] = mapped_column(JSON)
    readiness_hours: Mapped[int | None]
    pledged_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    time_zone: Mapped[str] = mapped_column(String(64))
    plus_minus_minutes: Mapped[int] = mapped_column(default=0)
    note: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("principal.id"))

    __table_args__ = (UniqueConstraint("operation_id", "state_code"),)


class Contingent(Base):
    __tablename__ = "crisis_contingent"

    id: Mapped[int] = mapped_column(primary_key=True)
    operation_id: Mapped[int] = mapped_column(
        ForeignKey("crisis_operation.id", ondelete="CASCADE"), index=True
    )
    state_code: Mapped[str] = mapped_column(ForeignKey("state.code"))
    name: Mapped[str] = mapped_column(String(200))
    # Both unset when no figure was reported.
    personnel_low: Mapped[int | None]
    personnel_high: Mapped[int | None]
    equipment: Mapped[dict[str, int]] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("principal.id"))

    __table_args__ = (UniqueConstraint("operation_id", "state_code", "name"),)


class DeploymentEvent(Base):
    """One step of a contingent: departed, arrived, task-taken-over, withdrawal-started,
    home; in that order, each at a time no earlier than the one before."""

    __tablename__ = "crisis_deployment_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    contingent_id: Mapped[int] = mapped_column(
        ForeignKey("crisis_contingent.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(30))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    time_zone: Mapped[str] = mapped_column(String(64))
    place: Mapped[str | None] = mapped_column(String(300))
    plus_minus_minutes: Mapped[int] = mapped_column(default=0)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("crisis_task.id"))
    note: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("principal.id"))


class SituationReport(Base):
    """A status report from a contingent or, without one, from the headquarters."""

    __tablename__ = "crisis_sitrep"

    id: Mapped[int] = mapped_column(primary_key=True)
    operation_id: Mapped[int] = mapped_column(
        ForeignKey("crisis_operation.id", ondelete="CASCADE"), index=True
    )
    contingent_id: Mapped[int | None] = mapped_column(
        ForeignKey("crisis_contingent.id", ondelete="CASCADE")
    )
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    time_zone: Mapped[str] = mapped_column(String(64))
    plus_minus_minutes: Mapped[int] = mapped_column(default=0)
    text: Mapped[str] = mapped_column(Text)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("principal.id"))


class ForceEntry(Base):
    """A unit a state holds ready for collective operations, with the hours it needs to be
    on the ground anywhere in the organisation's area: what "who could help" reads."""

    __tablename__ = "crisis_force_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    state_code: Mapped[str] = mapped_column(ForeignKey("state.code"), index=True)
    organisation_code: Mapped[str] = mapped_column(ForeignKey("organisation.code"))
    unit: Mapped[str] = mapped_column(String(200))
    personnel: Mapped[int]
    readiness_hours: Mapped[int]
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    source: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("principal.id"))
