"""Tables of the CBM module: notifications of military activities, the engine's findings on
each, and the inbox of every state a notification goes to."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, DateTime, ForeignKey, Index, String, Text
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
