"""The event store's one table, in DuckDB: events from every source in one schema.

Analytics run over millions of events, so they live in a column store beside the node's
database (a file, path in ``Settings.events_file``), not in it. One row is one event of one
source, keyed by (source, source_id) so that a re-import changes nothing: the key is kept by
the store's insert (an anti-join on it), not by a declared primary key, whose index would
cost more than the whole import at ten million rows.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date

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
