"""Early warning's tables. The events themselves live in a DuckDB file (the store, below);
the alert rules, who subscribes to them and what fired live in the node's database, with
everything else a state's users own.

The event store's one table holds events from every source in one schema. Analytics run over
millions of events, so they live in a column store beside the node's database (a file, path
in ``Settings.events_file``), not in it. One row is one event of one source, keyed by
(source, source_id) so that a re-import changes nothing: the key is kept by the store's
insert (an anti-join on it), not by a declared primary key, whose index would cost more than
the whole import at ten million rows.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, DateTime, Float, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from indivisible.db import Base

# Date precision, in the words GED and ACLED use (GED date_prec 1-5, ACLED time_precision 1-3).
DATE_PRECISIONS = ("day", "days", "week", "month", "year")
# Location precision: GED where_prec 1-7 and ACLED geo_precision 1-3, mapped to words.
GEO_PRECISIONS = ("exact", "near", "admin2", "admin1", "region", "country", "water", "town")

EVENTS_DDL = """
CREATE TABLE IF NOT EXISTS events (
    source VARCHAR NOT NULL,
    source_id VARCHAR NOT NULL,
    event_date DATE NOT NULL,
    date_precision VARCHAR NOT NULL,
    country VARCHAR NOT NULL,
    admin1 VARCHAR,
    latitude DOUBLE,
    longitude DOUBLE,
    geo_precision VARCHAR,
    event_type VARCHAR NOT NULL,
    sub_event_type VARCHAR,
    actor1 VARCHAR,
    actor2 VARCHAR,
    fatalities_best INTEGER NOT NULL,
    fatalities_low INTEGER,
    fatalities_high INTEGER,
    notes VARCHAR,
    synthetic BOOLEAN NOT NULL DEFAULT FALSE
)
"""


@dataclass(frozen=True)
class Event:
    """One event as importers produce it, before it is stored."""

    source: str
    source_id: str
    event_date: date
    date_precision: str
    country: str
    admin1: str | None
    latitude: float | None
    longitude: float | None
    geo_precision: str | None
    event_type: str
    sub_event_type: str | None
    actor1: str | None
    actor2: str | None
    fatalities_best: int
    fatalities_low: int | None
    fatalities_high: int | None
    notes: str | None
    synthetic: bool = False


COLUMNS = tuple(f.name for f in fields(Event))


class AlertRule(Base):
    """A condition on a country's or region's indicator, owned by a state's users: above a
    threshold, or flagged as anomalous."""

    __tablename__ = "warning_alert_rule"

    id: Mapped[int] = mapped_column(primary_key=True)
    state_code: Mapped[str] = mapped_column(ForeignKey("state.code"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    country: Mapped[str | None] = mapped_column(String(3))
    region: Mapped[str | None] = mapped_column(String(60))
    # events | fatalities | events_mean_3 | events_year_on_year | fatalities_year_on_year
    indicator: Mapped[str] = mapped_column(String(40))
    # above | anomalous
    condition: Mapped[str] = mapped_column(String(20))
    threshold: Mapped[float | None] = mapped_column(Float)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("principal.id"))


class AlertSubscription(Base):
    __tablename__ = "warning_alert_subscription"

    rule_id: Mapped[int] = mapped_column(
        ForeignKey("warning_alert_rule.id", ondelete="CASCADE"), primary_key=True
    )
    principal_id: Mapped[int] = mapped_column(
        ForeignKey("principal.id", ondelete="CASCADE"), primary_key=True
    )


class AlertFiring(Base):
    """A rule that fired for a key and month, with the data that fired it; once per rule,
    key and month, however often the rules are evaluated."""

    __tablename__ = "warning_alert_firing"

    id: Mapped[int] = mapped_column(primary_key=True)
    rule_id: Mapped[int] = mapped_column(
        ForeignKey("warning_alert_rule.id", ondelete="CASCADE"), index=True
    )
    key: Mapped[str] = mapped_column(String(100))
    month: Mapped[date] = mapped_column(Date)
    value: Mapped[float] = mapped_column(Float)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    fired_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (UniqueConstraint("rule_id", "key", "month"),)
