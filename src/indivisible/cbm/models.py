"""Tables of the CBM module: notifications of military activities, the engine's findings on
each, the inbox of every state a notification goes to, clarification threads, and the
exchanges of information the regimes require (annual data, calendars, verification)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from indivisible.db import Base


class Notification(Base):
    """A state's notification of a military activity, as filed (never edited afterwards)."""

    __tablename__ = "cbm_notification"

    id: Mapped[int] = mapped_column(primary_key=True)
    state_code: Mapped[str] = mapped_column(ForeignKey("state.code"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    start: Mapped[date] = mapped_column(Date)
    end: Mapped[date] = mapped_column(Date)
    # {"point": [lon, lat], "radius_km": r} | {"polygon": [[lon, lat], ...]} | {"state": "KAZ"}
    location: Mapped[dict[str, object]] = mapped_column(JSON)
    # Category -> number, as filed.
    forces: Mapped[dict[str, int]] = mapped_column(JSON)
    purpose: Mapped[str | None] = mapped_column(Text)
    # Space-separated state codes.
    observers_invited: Mapped[str] = mapped_column(String(2000), default="")
    # No agreement in force required it.
    voluntary: Mapped[bool] = mapped_column(Boolean)
    filed_on: Mapped[date] = mapped_column(Date)
    filed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    filed_by: Mapped[int | None] = mapped_column(ForeignKey("principal.id"))


class NotificationFinding(Base):
    """One finding of one rule set on a notification, with the rule and its citation."""

    __tablename__ = "cbm_finding"

    id: Mapped[int] = mapped_column(primary_key=True)
    notification_id: Mapped[int] = mapped_column(
        ForeignKey("cbm_notification.id", ondelete="CASCADE"), index=True
    )
    rule_set: Mapped[str] = mapped_column(String(60))
    rule_set_version: Mapped[int]
    rule: Mapped[str] = mapped_column(String(60))
    topic: Mapped[str] = mapped_column(String(20))
    outcome: Mapped[str] = mapped_column(String(20))
    cite: Mapped[str] = mapped_column(String(300))
    # The message template (translated where shown) and its parameters.
    message: Mapped[str] = mapped_column(Text)
    params: Mapped[dict[str, object]] = mapped_column(JSON)


class NotificationRecipient(Base):
    """A state a notification goes to: its inbox entry, and whether it acknowledged it."""

    __tablename__ = "cbm_recipient"

    notification_id: Mapped[int] = mapped_column(
        ForeignKey("cbm_notification.id", ondelete="CASCADE"), primary_key=True
    )
    state_code: Mapped[str] = mapped_column(ForeignKey("state.code"), primary_key=True)
    # The agreements under which it receives the notification, space-separated.
    agreements: Mapped[str] = mapped_column(String(1000))
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    acknowledged_by: Mapped[int | None] = mapped_column(ForeignKey("principal.id"))

    __table_args__ = (Index("ix_cbm_recipient_state", "state_code", "notification_id"),)


class Clarification(Base):
    """A recipient state's request for clarification of a notification, and the answer.

    The reply deadline comes from the rule sets under which the asking state received the
    notification (the shortest encoded one); none is set where no rule set encodes one.
    """

    __tablename__ = "cbm_clarification"

    id: Mapped[int] = mapped_column(primary_key=True)
    notification_id: Mapped[int] = mapped_column(
        ForeignKey("cbm_notification.id", ondelete="CASCADE"), index=True
    )
    asked_by_state: Mapped[str] = mapped_column(ForeignKey("state.code"))
    asked_by: Mapped[int | None] = mapped_column(ForeignKey("principal.id"))
    question: Mapped[str] = mapped_column(Text)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    asked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The rule the deadline comes from, e.g. "SHANGHAI-CBM-1996 Art. 9".
    due_rule: Mapped[str | None] = mapped_column(String(200))
    answer: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    answered_by: Mapped[int | None] = mapped_column(ForeignKey("principal.id"))


class AnnualData(Base):
    """A state's annual information under one regime: its forces in the area, by category and
    sector, as of 1 January of the year. One row per state, regime and year; a resubmission
    replaces the holdings and is kept in the audit trail."""

    __tablename__ = "cbm_annual_data"

    id: Mapped[int] = mapped_column(primary_key=True)
    rule_set: Mapped[str] = mapped_column(String(60))
    state_code: Mapped[str] = mapped_column(ForeignKey("state.code"), index=True)
    year: Mapped[int]
    # [{"sector": "east" | None, "category": "personnel", "count": 1000}, ...]
    holdings: Mapped[list[dict[str, object]]] = mapped_column(JSON)
    submitted_on: Mapped[date] = mapped_column(Date)
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    submitted_by: Mapped[int | None] = mapped_column(ForeignKey("principal.id"))
    revised_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        UniqueConstraint("rule_set", "state_code", "year", name="uq_cbm_annual_data"),
        Index("ix_cbm_annual_data_rule_set_year", "rule_set", "year"),
    )


class CalendarEntry(Base):
    """A planned activity in a state's annual calendar. The rule sets whose area it lies in
    are decided when it is submitted; their other parties receive it."""

    __tablename__ = "cbm_calendar_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    state_code: Mapped[str] = mapped_column(ForeignKey("state.code"), index=True)
    year: Mapped[int]
    kind: Mapped[str] = mapped_column(String(30))
    start: Mapped[date] = mapped_column(Date)
    end: Mapped[date] = mapped_column(Date)
    location: Mapped[dict[str, object]] = mapped_column(JSON)
    forces: Mapped[dict[str, int]] = mapped_column(JSON)
    purpose: Mapped[str | None] = mapped_column(Text)
    # Rule sets whose area the activity lies in, space-separated.
    agreements: Mapped[str] = mapped_column(String(1000), default="")
    submitted_on: Mapped[date] = mapped_column(Date)
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    submitted_by: Mapped[int | None] = mapped_column(ForeignKey("principal.id"))


class CalendarRecipient(Base):
    __tablename__ = "cbm_calendar_recipient"

    entry_id: Mapped[int] = mapped_column(
        ForeignKey("cbm_calendar_entry.id", ondelete="CASCADE"), primary_key=True
    )
    state_code: Mapped[str] = mapped_column(ForeignKey("state.code"), primary_key=True)

    __table_args__ = (Index("ix_cbm_calendar_recipient_state", "state_code", "entry_id"),)


class VerificationRequest(Base):
    """An inspection or evaluation visit one party asks of another under a regime's quotas:
    requested, then accepted or refused with grounds, then reported."""

    __tablename__ = "cbm_verification"

    id: Mapped[int] = mapped_column(primary_key=True)
    rule_set: Mapped[str] = mapped_column(String(60))
    kind: Mapped[str] = mapped_column(String(20))
    requesting_state: Mapped[str] = mapped_column(ForeignKey("state.code"), index=True)
    receiving_state: Mapped[str] = mapped_column(ForeignKey("state.code"), index=True)
    sector: Mapped[str | None] = mapped_column(String(30))
    year: Mapped[int]
    # The first day the team would arrive.
    visit_on: Mapped[date] = mapped_column(Date)
    # requested | accepted | refused | reported
    status: Mapped[str] = mapped_column(String(12))
    # The quota was used up when it was requested (the receiving state need not accept it).
    beyond_quota: Mapped[bool] = mapped_column(Boolean, default=False)
    grounds: Mapped[str | None] = mapped_column(Text)
    report: Mapped[str | None] = mapped_column(Text)
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    requested_by: Mapped[int | None] = mapped_column(ForeignKey("principal.id"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("principal.id"))
    reported_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_cbm_verification_rule_set_year", "rule_set", "year"),)


class CbmEvent(Base):
    """Something a state is to be told of at once: written in the same transaction as the
    change (an outbox), then streamed to its users (server-sent events) and posted to its
    webhooks, so that nothing is announced that did not happen, nor missed if a worker dies."""

    __tablename__ = "cbm_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The state told.
    state_code: Mapped[str] = mapped_column(ForeignKey("state.code"))
    # notification | clarification | answer | calendar | verification | decision | report
    kind: Mapped[str] = mapped_column(String(20))
    subject_id: Mapped[int]
    from_state: Mapped[str | None] = mapped_column(String(3))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_cbm_event_state_id", "state_code", "id"),)


class Webhook(Base):
    """A state's outgoing webhook: every event for the state is POSTed to it, signed with
    HMAC-SHA256 under the secret shown once when it was registered."""

    __tablename__ = "cbm_webhook"

    id: Mapped[int] = mapped_column(primary_key=True)
    state_code: Mapped[str] = mapped_column(ForeignKey("state.code"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("principal.id"))


class WebhookDelivery(Base):
    """One event to one webhook: attempted until it is answered with 2xx, with back-off."""

    __tablename__ = "cbm_webhook_delivery"

    id: Mapped[int] = mapped_column(primary_key=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("cbm_webhook.id", ondelete="CASCADE"))
    event_id: Mapped[int] = mapped_column(ForeignKey("cbm_event.id", ondelete="CASCADE"))
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Given up after the last attempt; kept for the operator to see.
    failed: Mapped[bool] = mapped_column(Boolean, default=False)
    last_status: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(String(500))

    __table_args__ = (
        UniqueConstraint("webhook_id", "event_id", name="uq_cbm_webhook_delivery"),
        Index("ix_cbm_webhook_delivery_due", "delivered_at", "failed", "next_attempt_at"),
    )
