"""Importers of event datasets into the store: the UCDP GED CSV and the ACLED CSV.

Each row is checked on its own: a good row is imported, a bad one is reported with its
line number, the column and the rule, and the import goes on. A file cut off in the middle
reports its last, partial row and keeps the rows before it. Importing the same file again
adds nothing (events are keyed on the source's own id). Column mappings are in
docs/warning.md.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Literal

import duckdb

from indivisible.i18n import _
from indivisible.warning import countries, store
from indivisible.warning.models import Event

Kind = Literal["ged", "acled"]

# GED date_prec and where_prec codes, and ACLED time_precision and geo_precision codes,
# in the store's words (UCDP GED codebook; ACLED codebook).
GED_DATE_PRECISION = {"1": "day", "2": "days", "3": "week", "4": "month", "5": "year"}
GED_GEO_PRECISION = {
    "1": "exact", "2": "near", "3": "admin2", "4": "admin1", "5": "region", "6": "country",
    "7": "water",
}  # fmt: skip
GED_VIOLENCE = {"1": "state-based", "2": "non-state", "3": "one-sided"}
ACLED_DATE_PRECISION = {"1": "day", "2": "week", "3": "month"}
ACLED_GEO_PRECISION = {"1": "town", "2": "near", "3": "region"}

# The store keeps counts as 32-bit integers (warning/models.py).
MAX_COUNT = 2_147_483_647

GED_REQUIRED = ("id", "date_start", "date_prec", "country", "type_of_violence", "best")
ACLED_REQUIRED = ("event_id_cnty", "event_date", "time_precision", "event_type", "fatalities")


class RowProblem(ValueError):
    def __init__(self, column: str, rule: str) -> None:
        super().__init__(f"{column}: {rule}")
        self.column = column
        self.rule = rule


@dataclass(frozen=True)
class Problem:
    line: int
    column: str
    rule: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.column}: {self.rule}"


@dataclass
class ImportReport:
    source: str
    rows: int = 0
    imported: int = 0
    unchanged: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def refused(self) -> int:
        return len(self.problems)


def _text(row: dict[str, str | None], column: str) -> str | None:
    value = row.get(column)
    if value is None:
        return None
    value = value.strip()
    return value or None


def _required(row: dict[str, str | None], column: str) -> str:
    value = _text(row, column)
    if value is None:
        raise RowProblem(column, "required, missing")
    return value


def _whole(row: dict[str, str | None], column: str, *, required: bool = False) -> int | None:
    value = _required(row, column) if required else _text(row, column)
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        raise RowProblem(column, f"not a whole number: {value!r}") from None
    # inf and nan parse as floats but are no count (and int() of them raises).
    if not math.isfinite(number) or number != int(number) or number < 0:
        raise RowProblem(column, f"not a whole number of zero or more: {value!r}")
    if number > MAX_COUNT:
        raise RowProblem(
            column, _("more than {limit}: {value}").format(limit=MAX_COUNT, value=repr(value))
        )
    return int(number)


def _coordinate(row: dict[str, str | None], column: str, limit: float) -> float | None:
    value = _text(row, column)
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        raise RowProblem(column, f"not a number: {value!r}") from None
    if not -limit <= number <= limit:
        raise RowProblem(column, f"outside -{limit:g}..{limit:g}: {value!r}")
    return number


def _date(value: str, column: str) -> date:
    # GED writes 2013-01-03 (sometimes with a time); ACLED's exports 2021-01-15 or 15 January 2021.
    for pattern in ("%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%d %B %Y"):
        try:
            return datetime.strptime(value, pattern).date()
        except ValueError:
            continue
    raise RowProblem(column, f"not a date (YYYY-MM-DD): {value!r}")


def _coded(row: dict[str, str | None], column: str, codes: dict[str, str]) -> str:
    value = _required(row, column)
    key = value.split(".")[0]
    if key not in codes:
        raise RowProblem(column, f"not one of {', '.join(codes)}: {value!r}")
    return codes[key]


def ged_event(row: dict[str, str | None]) -> Event:
    country_name = _required(row, "country")
    country = countries.from_name(country_name)
    if country is None:
        raise RowProblem("country", f"unknown country: {country_name!r}")
    best = _whole(row, "best", required=True)
    assert best is not None
    # Kept as published even where best falls outside low..high (13 of the 1,000 rows of
    # the GED sample do): the store holds the source's figures, not corrections of them.
    low = _whole(row, "low")
    high = _whole(row, "high")
    where = _text(row, "where_prec")
    return Event(
        source="ucdp-ged",
        source_id=_required(row, "id"),
        event_date=_date(_required(row, "date_start"), "date_start"),
        date_precision=_coded(row, "date_prec", GED_DATE_PRECISION),
        country=country,
        admin1=_text(row, "adm_1"),
        latitude=_coordinate(row, "latitude", 90),
        longitude=_coordinate(row, "longitude", 180),
        geo_precision=GED_GEO_PRECISION.get(where.split(".")[0]) if where else None,
        event_type=_coded(row, "type_of_violence", GED_VIOLENCE),
        sub_event_type=None,
        actor1=_text(row, "side_a"),
        actor2=_text(row, "side_b"),
        fatalities_best=best,
        fatalities_low=low,
        fatalities_high=high,
        notes=_text(row, "where_description"),
    )


def acled_event(row: dict[str, str | None]) -> Event:
    numeric = _text(row, "iso")
    name = _text(row, "country")
    country = (countries.from_numeric(numeric) if numeric else None) or (
        countries.from_name(name) if name else None
    )
    if country is None:
        raise RowProblem("iso", f"unknown country: {numeric or name!r}")
    fatalities = _whole(row, "fatalities", required=True)
    assert fatalities is not None
    geo = _text(row, "geo_precision")
    return Event(
        source="acled",
        source_id=_required(row, "event_id_cnty"),
        event_date=_date(_required(row, "event_date"), "event_date"),
        date_precision=_coded(row, "time_precision", ACLED_DATE_PRECISION),
        country=country,
        admin1=_text(row, "admin1"),
        latitude=_coordinate(row, "latitude", 90),
        longitude=_coordinate(row, "longitude", 180),
        geo_precision=ACLED_GEO_PRECISION.get(geo.split(".")[0]) if geo else None,
        event_type=_required(row, "event_type"),
        sub_event_type=_text(row, "sub_event_type"),
        actor1=_text(row, "actor1"),
        actor2=_text(row, "actor2"),
        # ACLED gives one conservative figure, no range.
        fatalities_best=fatalities,
        fatalities_low=None,
        fatalities_high=None,
        notes=_text(row, "notes"),
    )


PARSERS: dict[Kind, tuple[str, tuple[str, ...], Callable[[dict[str, str | None]], Event]]] = {
    "ged": ("ucdp-ged", GED_REQUIRED, ged_event),
    "acled": ("acled", ACLED_REQUIRED, acled_event),
}


def _is_utf8(values: list[str]) -> bool:
    try:
        "".join(values).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def read(path: Path, kind: Kind, report: ImportReport) -> Iterator[Event]:
    """The good events of the file, each once; problems go to ``report``."""
    _source, required, parse = PARSERS[kind]
    seen: set[str] = set()
    # Bytes that are not UTF-8 are kept (as lone surrogates) rather than raised at whatever
    # buffer they fall in, so that the row holding them is refused and the others imported.
    with path.open(newline="", encoding="utf-8-sig", errors="surrogateescape") as handle:
        reader = csv.reader(handle)
        try:
            header = next(reader)
        except StopIteration:
            report.problems.append(Problem(1, "header", "the file is empty"))
            return
        except csv.Error as exc:
            report.problems.append(Problem(1, "header", f"not CSV: {exc}"))
            return
        if not _is_utf8(header):
            report.problems.append(
                Problem(1, "header", _("not UTF-8 text: save the file as UTF-8"))
            )
            return
        missing = [c for c in required if c not in header]
        if missing:
            report.problems.append(Problem(1, "header", f"missing columns: {', '.join(missing)}"))
            return
        while True:
            try:
                values = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                # An unterminated quote at the end: the file was cut off in that row.
                report.rows += 1
                report.problems.append(Problem(reader.line_num, "row", f"unreadable: {exc}"))
                break
            line = reader.line_num
            if not any(v.strip() for v in values):
                continue
            report.rows += 1
            if len(values) != len(header):
                report.problems.append(
                    Problem(
                        line,
                        "row",
                        f"{len(values)} fields, the header has {len(header)} (cut off?)",
                    )
                )
                continue
            if not _is_utf8(values):
                column = next(c for c, v in zip(header, values, strict=True) if not _is_utf8([v]))
                report.problems.append(Problem(line, column, _("not UTF-8 text")))
                continue
            row: dict[str, str | None] = dict(zip(header, values, strict=True))
            try:
                event = parse(row)
            except RowProblem as problem:
                report.problems.append(Problem(line, problem.column, problem.rule))
                continue
            if event.source_id in seen:
                report.problems.append(
                    Problem(line, required[0], f"duplicate id {event.source_id!r} in this file")
                )
                continue
            seen.add(event.source_id)
            yield event


def import_file(
    connection: duckdb.DuckDBPyConnection,
    path: Path,
    kind: Kind,
    advance: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import a GED or ACLED CSV file; ``advance`` is called with each row read (progress)."""
    source, _required_columns, _parse = PARSERS[kind]
    report = ImportReport(source=source)

    def counted() -> Iterator[Event]:
        for event in read(path, kind, report):
            if advance is not None:
                advance(1)
            yield event

    added = store.add(connection, counted())
    report.imported = added.new
    report.unchanged = added.already_there
    return report
