"""The GED and ACLED importers on files with the real column layouts: good rows go in, bad
ones (malformed, bad dates, unknown countries, duplicate ids, a file cut off in the middle)
are reported with their line numbers, and importing again changes nothing."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from indivisible.cli import app
from indivisible.warning import importers, store

FIXTURES = Path(__file__).parent / "fixtures"
GED = FIXTURES / "ged-slice.csv"
ACLED = FIXTURES / "acled-layout.csv"


@pytest.fixture
def events() -> duckdb.DuckDBPyConnection:
    return store.connect(":memory:")


def test_the_real_ged_rows_import_with_their_countries_and_precision(
    events: duckdb.DuckDBPyConnection,
) -> None:
    report = importers.import_file(events, GED, "ged")
    assert (report.rows, report.imported, report.refused) == (18, 18, 0)
    by_country = dict(events.execute("SELECT country, count(*) FROM events GROUP BY 1").fetchall())
    # "Russia (Soviet Union)" and "DR Congo (Zaire)" are GED's own spellings.
    assert by_country == {"TJK": 2, "KGZ": 1, "AFG": 8, "PAK": 4, "RUS": 2, "COD": 1}
    kinds = {r[0] for r in events.execute("SELECT DISTINCT event_type FROM events").fetchall()}
    assert kinds <= {"state-based", "non-state", "one-sided"}
    precisions = {
        r[0] for r in events.execute("SELECT DISTINCT date_precision FROM events").fetchall()
    }
    assert precisions <= {"day", "days", "week", "month", "year"}
    again = importers.import_file(events, GED, "ged")
    assert (again.imported, again.unchanged) == (0, 18)
    assert store.count(events) == 18


def _broken_ged(tmp_path: Path) -> Path:
    """The real slice with five rows spoiled and the last one cut off mid-row."""
    with GED.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    header, body = rows[0], rows[1:]
    at = {name: i for i, name in enumerate(header)}
    body[1][at["date_start"]] = "2013-02-30"
    body[2][at["country"]] = "Atlantis"
    body[3][at["best"]] = "several"
    body[4][at["id"]] = body[0][at["id"]]
    body[5][at["latitude"]] = "123.4"
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([header, *body])
    text = out.getvalue()
    # Cut the file off in the middle of its last row.
    text = text[: text.rstrip("\n").rfind("\n") + 40]
    path = tmp_path / "broken-ged.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_bad_ged_rows_are_reported_by_line_and_the_good_ones_kept(
    events: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    path = _broken_ged(tmp_path)
    report = importers.import_file(events, path, "ged")
    problems = {(p.column, p.rule.split(":")[0]) for p in report.problems}
    assert ("date_start", "not a date (YYYY-MM-DD)") in problems
    assert ("country", "unknown country") in problems
    assert ("best", "not a whole number") in problems
    assert any(p.column == "id" and p.rule.startswith("duplicate id") for p in report.problems)
    assert ("latitude", "outside -90..90") in problems
    assert any(p.column == "row" for p in report.problems), report.problems
    assert report.refused == 6
    assert report.imported == 18 - 6
    # Line numbers are those of the file, counting the lines of multi-line fields.
    lines = path.read_text(encoding="utf-8").splitlines()
    for problem in report.problems:
        if problem.column == "country":
            assert "Atlantis" in lines[problem.line - 1]
    again = importers.import_file(events, path, "ged")
    assert again.imported == 0 and store.count(events) == 12


def test_acled_rows_in_its_layout_with_both_date_forms(
    events: duckdb.DuckDBPyConnection,
) -> None:
    report = importers.import_file(events, ACLED, "acled")
    by_line = {p.line: (p.column, p.rule) for p in report.problems}
    assert by_line[6][0] == "event_date"
    assert by_line[7] == ("iso", "unknown country: '999'")
    assert by_line[8][0] == "event_id_cnty" and by_line[8][1].startswith("duplicate id")
    assert by_line[9][0] == "fatalities"
    assert by_line[10][0] == "row"
    assert report.imported == 4
    rows = dict(events.execute("SELECT source_id, event_date::VARCHAR FROM events").fetchall())
    # "6 January 2022" is read as well as ISO dates; week precision is kept.
    assert rows["KAZ0002"] == "2022-01-06"
    assert events.execute(
        "SELECT date_precision, fatalities_low FROM events WHERE source_id = 'KAZ0002'"
    ).fetchone() == ("week", None)
    assert importers.import_file(events, ACLED, "acled").imported == 0


def test_a_file_without_the_required_columns_imports_nothing(
    events: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    path = tmp_path / "wrong.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    report = importers.import_file(events, path, "ged")
    assert report.imported == 0 and report.problems[0].column == "header"
    assert "missing columns" in report.problems[0].rule


def test_the_cli_imports_with_a_summary_and_json(tmp_path: Path) -> None:
    runner = CliRunner()
    target = tmp_path / "events.duckdb"
    # No node database here: the store is used alone and alerts are skipped, saying so.
    alone = ["--database-url", f"sqlite:///{tmp_path / 'no-node.db'}"]
    first = runner.invoke(
        app, ["warning", "import", str(ACLED), "--format", "acled", "--events", str(target), *alone]
    )
    assert first.exit_code == 0, first.output
    assert "4 imported" in first.output and "5 refused" in first.output
    assert "Alert rules not evaluated: no node database" in first.output
    second = runner.invoke(
        app,
        ["warning", "import", str(ACLED), "--format", "acled", "--events", str(target), "--json"],
    )
    assert second.exit_code == 0
    assert '"imported": 0' in second.output and '"unchanged": 4' in second.output
    wrong = runner.invoke(
        app, ["warning", "import", str(ACLED), "--format", "csv", "--events", str(target)]
    )
    assert wrong.exit_code == 2
