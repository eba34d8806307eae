"""The DuckDB event store: open it, and add events so that adding the same ones again
changes nothing.

Rows go in through a staging table loaded from a temporary CSV file (DuckDB's fastest
path from Python without a dataframe library); only rows whose (source, source_id) is new
are then inserted, in one transaction, so a failed import leaves the store as it was.
"""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import astuple, dataclass
from pathlib import Path

import duckdb

from indivisible.warning.models import COLUMNS, EVENTS_DDL, Event


@dataclass(frozen=True)
class Added:
    new: int
    already_there: int


def connect(path: Path | str) -> duckdb.DuckDBPyConnection:
    """The store at ``path`` (``:memory:`` for a throwaway one), with its table."""
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    connection = duckdb.connect(str(path))
    connection.execute(EVENTS_DDL)
    return connection


@contextmanager
def opened(path: Path | str) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = connect(path)
    try:
        yield connection
    finally:
        connection.close()


def _csv_value(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def add(connection: duckdb.DuckDBPyConnection, events: Iterable[Event]) -> Added:
    """Store the events that are not stored yet (by source and source id)."""
    with tempfile.NamedTemporaryFile("w", suffix=".csv", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        staged = 0
        for event in events:
            writer.writerow([_csv_value(v) for v in astuple(event)])
            staged += 1
        handle.flush()
        if staged == 0:
            return Added(0, 0)
        connection.execute("BEGIN TRANSACTION")
        try:
            connection.execute(
                "CREATE OR REPLACE TEMP TABLE staging AS SELECT * FROM events LIMIT 0"
            )
            # The dialect is the csv module's, said outright: DuckDB's sniffer guesses it from
            # the data and gives up on a text with a carriage return or a line feed in it.
            connection.execute(
                f"COPY staging FROM '{handle.name}' (FORMAT csv, HEADER false, NULL '', "
                "DELIMITER ',', QUOTE '\"', ESCAPE '\"', NEW_LINE '\\r\\n', AUTO_DETECT false)"
            )
            # The same id twice in one file counts once: the first row wins.
            columns = ", ".join(COLUMNS)
            inserted = connection.execute(
                f"""
                INSERT INTO events ({columns})
                SELECT {columns} FROM (
                    SELECT *, row_number() OVER (PARTITION BY source, source_id) AS copy
                    FROM staging
                ) AS s
                WHERE copy = 1 AND NOT EXISTS (
                    SELECT 1 FROM events e WHERE e.source = s.source AND e.source_id = s.source_id
                )
                """  # noqa: S608 (column names are the module's constants)
            ).fetchall()
            new = int(inserted[0][0]) if inserted else 0
            connection.execute("DROP TABLE staging")
            connection.execute("COMMIT")
        except Exception:
            connection.execute("ROLLBACK")
            raise
    return Added(new=new, already_there=staged - new)


def count(connection: duckdb.DuckDBPyConnection, source: str | None = None) -> int:
    if source is None:
        row = connection.execute("SELECT count(*) FROM events").fetchone()
    else:
        row = connection.execute(
            "SELECT count(*) FROM events WHERE source = ?", [source]
        ).fetchone()
    return int(row[0]) if row else 0
