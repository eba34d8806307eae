"""Hostile files for the GED and ACLED importers: arbitrary bytes, the real layouts with
absurd cells (huge and non-finite numbers, impossible dates, NUL, line breaks, quotes), wrong
encodings, dropped or repeated columns, files cut or damaged anywhere. Every one is answered
with a report, never an exception: good rows imported, each bad one named by line, column and
rule, and every row read accounted for."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import duckdb
import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from indivisible.warning import importers, store
from indivisible.warning.importers import ImportReport, Kind

FIXTURES = Path(__file__).parent / "fixtures"
LAYOUTS: dict[Kind, Path] = {
    "ged": FIXTURES / "ged-slice.csv",
    "acled": FIXTURES / "acled-layout.csv",
}
KINDS: list[Kind] = ["ged", "acled"]
# Derandomised so that CI tries the same files every run; each example is one import into a
# fresh in-memory store (a few milliseconds). Not shrunk: a failure shows the file it was
# given, and shrinking bytes through a CSV reader costs more CI than it saves reading.
FUZZ = settings(
    max_examples=100, deadline=None, derandomize=True, phases=[Phase.explicit, Phase.generate]
)


def _table(kind: Kind) -> tuple[list[str], list[list[str]]]:
    with LAYOUTS[kind].open(newline="", encoding="utf-8") as handle:
        header, *rows = csv.reader(handle)
    return header, rows


TABLES = {kind: _table(kind) for kind in KINDS}


def _sound_rows(kind: Kind) -> list[list[str]]:
    # The layouts hold some bad rows on purpose; damage is tried on the good ones, so that
    # it is the damage a row is refused for (or, worse, let through).
    header, rows = TABLES[kind]
    parse = importers.PARSERS[kind][2]
    sound = []
    for row in rows:
        try:
            parse(dict(zip(header, row, strict=True)))
        except (ValueError, importers.RowProblem):
            continue
        sound.append(row)
    return sound


SOUND = {kind: _sound_rows(kind) for kind in KINDS}

NUMBERS = st.sampled_from(
    ["1e400", "-1e400", "inf", "-inf", "nan", "NaN", "-0", "0.5", "-1", "1_000", "0x10",
     "2147483647", "2147483648", "99999999999999999999", "1e-400", " 7 ", "", "١٢", "²"]
)  # fmt: skip
DATES = st.sampled_from(
    ["2013-02-30", "0000-01-01", "0001-01-01", "9999-12-31", "10000-01-01", "2021-1-5",
     "15 January 2021", "31 February 2021", "2021-01-15 25:00:00", "2021-01-15T10:00:00",
     "-2021-01-01", "2021/01/15"]
)  # fmt: skip
NASTY_TEXT = st.text(
    alphabet=st.one_of(
        st.sampled_from(["\x00", "\r", "\n", '"', ",", ";", "|", "\\", "\t", "\ufeff"]),
        st.characters(codec="utf-8"),
    ),
    max_size=30,
)


# The columns each parser reads: where an absurd value reaches the code under test.
PARSED: dict[Kind, list[str]] = {
    "ged": ["id", "date_start", "date_prec", "country", "type_of_violence", "best", "low",
            "high", "where_prec", "adm_1", "latitude", "longitude", "side_a", "side_b",
            "where_description"],
    "acled": ["event_id_cnty", "event_date", "time_precision", "iso", "country", "fatalities",
              "geo_precision", "event_type", "sub_event_type", "actor1", "actor2", "admin1",
              "latitude", "longitude", "notes"],
}  # fmt: skip
# Mostly none: each kind of damage is tried on files that are otherwise sound.
SOME = st.sampled_from([0, 0, 0, 1, 2])


def cells(kind: Kind) -> st.SearchStrategy[str]:
    """A cell: a real value of the layout, or something absurd."""
    _header, rows = TABLES[kind]
    real = st.sampled_from(sorted({value for row in rows for value in row}))
    return st.one_of(real, NUMBERS, DATES, NASTY_TEXT, st.integers().map(str))


@st.composite
def hostile_files(draw: st.DrawFn, kind: Kind) -> bytes:
    header, _rows = TABLES[kind]
    at = {name: i for i, name in enumerate(header)}
    body = []
    for _ in range(draw(st.integers(1, 6))):
        row = list(draw(st.sampled_from(SOUND[kind])))
        # An absurd value or two in the columns the parser reads, the rest as published.
        for _ in range(draw(st.integers(1, 2))):
            row[at[draw(st.sampled_from(PARSED[kind]))]] = draw(cells(kind))
        if draw(st.integers(0, 9)) == 0:  # a row with too few or too many fields
            row = row[: draw(st.integers(0, len(row) + 1))] + draw(
                st.lists(cells(kind), max_size=2)
            )
        body.append(row)
    header = list(header)
    # Columns dropped, repeated or moved.
    for _ in range(draw(SOME)):
        action = draw(st.sampled_from(["drop", "repeat", "swap"]))
        i, j = draw(st.integers(0, len(header) - 1)), draw(st.integers(0, len(header) - 1))
        if action == "drop" and len(header) > 1:
            del header[i]
        elif action == "repeat":
            header.insert(j, header[i])
        else:
            header[i], header[j] = header[j], header[i]
    out = io.StringIO()
    csv.writer(out).writerows([header, *body])
    encoding = draw(st.sampled_from(["utf-8"] * 5 + ["utf-8-sig", "latin-1", "cp1251", "utf-16"]))
    data = out.getvalue().encode(encoding, errors="replace")
    # Damage at the byte level: a cut, or bytes that are not UTF-8 (or NUL) somewhere.
    for _ in range(draw(SOME)):
        cut = draw(st.integers(0, len(data)))
        if draw(st.booleans()):
            data = data[:cut]
        else:
            patch = draw(st.sampled_from([b"\x00", b"\xff", b"\xc3", b'"', b"\r"]))
            data = data[:cut] + patch + data[cut:]
    return data


def import_bytes(
    tmp: Path, kind: Kind, data: bytes
) -> tuple[ImportReport, duckdb.DuckDBPyConnection]:
    path = tmp / f"fuzz-{kind}.csv"
    path.write_bytes(data)
    connection = store.connect(":memory:")
    return importers.import_file(connection, path, kind), connection


def check(
    report: ImportReport, connection: duckdb.DuckDBPyConnection, tmp: Path, kind: Kind
) -> None:
    """What every report must say, whatever the file."""
    for problem in report.problems:
        assert problem.line >= 1 and problem.column and problem.rule, problem
        # Shown by the CLI and written as JSON: the report itself must be valid text.
        str(problem).encode("utf-8")
    header_refused = [p for p in report.problems if p.column == "header"]
    if header_refused:
        assert len(report.problems) == 1 and report.rows == report.imported == 0
    else:
        # Every row read is imported or named, once.
        assert report.rows == report.imported + report.unchanged + report.refused, report
    assert report.unchanged == 0  # a fresh store, and one id once per file
    assert store.count(connection) == report.imported
    # Importing the same file again changes nothing and refuses the same rows.
    again = importers.import_file(connection, tmp / f"fuzz-{kind}.csv", kind)
    assert (again.imported, again.unchanged) == (0, report.imported)
    assert again.problems == report.problems


@pytest.fixture(scope="module")
def tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Module-scoped: one file rewritten by every example, not a directory per example.
    return tmp_path_factory.mktemp("fuzz")


@pytest.mark.parametrize("kind", KINDS)
@FUZZ
@given(data=st.binary(max_size=3_000))
def test_any_bytes_get_a_report(tmp: Path, kind: Kind, data: bytes) -> None:
    report, connection = import_bytes(tmp, kind, data)
    check(report, connection, tmp, kind)


@pytest.mark.parametrize("kind", KINDS)
@FUZZ
@given(data=st.data())
def test_the_real_layouts_with_hostile_cells_get_a_report(
    tmp: Path, kind: Kind, data: st.DataObject
) -> None:
    content = data.draw(hostile_files(kind))
    report, connection = import_bytes(tmp, kind, content)
    check(report, connection, tmp, kind)


@pytest.mark.parametrize("kind", KINDS)
@FUZZ
@given(data=st.data())
def test_real_files_damaged_anywhere_get_a_report(
    tmp: Path, kind: Kind, data: st.DataObject
) -> None:
    content = LAYOUTS[kind].read_bytes()
    for _ in range(data.draw(st.integers(1, 6))):
        at = data.draw(st.integers(0, len(content)))
        cut = data.draw(st.integers(0, 20))
        patch = data.draw(st.binary(max_size=8))
        content = content[:at] + patch + content[at + cut :]
    report, connection = import_bytes(tmp, kind, content)
    check(report, connection, tmp, kind)


NUMBER_COLUMNS: list[tuple[Kind, str]] = [
    ("ged", "best"), ("ged", "low"), ("ged", "high"), ("ged", "latitude"), ("ged", "longitude"),
    ("acled", "fatalities"), ("acled", "latitude"), ("acled", "longitude"),
]  # fmt: skip


@FUZZ
@given(
    where=st.sampled_from(NUMBER_COLUMNS),
    value=st.one_of(
        NUMBERS,
        st.floats().map(str),
        st.floats().map(repr),
        st.integers().map(str),
        st.decimals(allow_nan=True).map(str),
        NASTY_TEXT,
    ),
)
def test_a_number_is_stored_in_range_or_named(
    tmp: Path, where: tuple[Kind, str], value: str
) -> None:
    kind, column = where
    header, _rows = TABLES[kind]
    row = list(SOUND[kind][0])
    row[header.index(column)] = value
    out = io.StringIO()
    csv.writer(out).writerows([header, row])
    report, connection = import_bytes(tmp, kind, out.getvalue().encode())
    if report.imported:
        found = connection.execute(f"SELECT {STORED[column]} FROM events").fetchone()  # noqa: S608
        assert found is not None
        stored = found[0]
        if column in ("latitude", "longitude"):
            limit = 90 if column == "latitude" else 180
            assert stored is None or -limit <= stored <= limit
        else:
            assert stored is None or 0 <= stored <= importers.MAX_COUNT
    else:
        assert [p.column for p in report.problems] == [column], report.problems


# Where each number column of the layouts is kept in the store.
STORED = {"best": "fatalities_best", "low": "fatalities_low", "high": "fatalities_high",
          "fatalities": "fatalities_best", "latitude": "latitude", "longitude": "longitude"}  # fmt: skip
FREE_TEXT = ["notes", "actor1", "actor2", "admin1", "sub_event_type"]


@FUZZ
@given(texts=st.lists(st.lists(NASTY_TEXT, min_size=5, max_size=5), min_size=1, max_size=6))
def test_free_text_is_stored_as_written(tmp: Path, texts: list[list[str]]) -> None:
    """Line breaks, quotes, delimiters and NUL in the columns kept as text reach the store
    unchanged (trimmed, as every cell is), whatever else the file holds."""
    header, _rows = TABLES["acled"]
    at = {name: i for i, name in enumerate(header)}
    body = []
    for number, values in enumerate(texts):
        row = list(SOUND["acled"][number % len(SOUND["acled"])])
        row[at["event_id_cnty"]] = f"T{number}"
        for column, value in zip(FREE_TEXT, values, strict=True):
            row[at[column]] = value
        body.append(row)
    out = io.StringIO()
    csv.writer(out).writerows([header, *body])
    report, connection = import_bytes(tmp, "acled", out.getvalue().encode())
    assert (report.imported, report.problems) == (len(texts), [])
    stored = connection.execute(
        f"SELECT {', '.join(FREE_TEXT)} FROM events ORDER BY source_id"  # noqa: S608
    ).fetchall()
    assert stored == [tuple(v.strip() or None for v in values) for values in texts]


def test_absurd_numbers_and_foreign_bytes_are_named(tmp: Path) -> None:
    """The cases the fuzzing found, kept as plain examples of the rules they broke."""
    header, rows = TABLES["acled"]
    at = {name: i for i, name in enumerate(header)}
    body = [list(rows[0]) for _ in range(5)]
    for i, (column, value) in enumerate(
        [("fatalities", "1e400"), ("fatalities", "nan"), ("fatalities", "3000000000"),
         ("notes", "line\rbreak \"quoted\"\nand more"), ("notes", "caf\udce9")]
    ):  # fmt: skip
        body[i][at["event_id_cnty"]] = f"X{i}"
        body[i][at[column]] = value
    out = io.StringIO()
    csv.writer(out).writerows([header, *body])
    report, connection = import_bytes(
        tmp, "acled", out.getvalue().encode("utf-8", errors="surrogateescape")
    )
    named = {(p.line, p.column, p.rule) for p in report.problems}
    assert named == {
        (2, "fatalities", "not a whole number of zero or more: '1e400'"),
        (3, "fatalities", "not a whole number of zero or more: 'nan'"),
        (4, "fatalities", "more than 2147483647: '3000000000'"),
        # The row before spans three lines (its notes hold a CR and an LF).
        (8, "notes", "not UTF-8 text"),
    }, named
    # The text with a carriage return, a line feed and quotes is stored as it was written.
    stored = connection.execute("SELECT notes FROM events WHERE source_id = 'X3'").fetchall()
    assert stored == [('line\rbreak "quoted"\nand more',)]
    utf16 = import_bytes(tmp, "acled", LAYOUTS["acled"].read_text().encode("utf-16"))[0]
    assert [(p.column, p.rule) for p in utf16.problems] == [
        ("header", "not UTF-8 text: save the file as UTF-8")
    ]
