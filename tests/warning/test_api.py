"""The early-warning API over a synthetic event store: indicators, a region's dashboard with
flags and scored forecasts, exports (CSV, Parquet, PDF in three languages), and clear 4xx
answers for bad requests; nothing without a signed-in principal."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from indivisible.warning import forecast, store, synthetic
from tests.conftest import Account


@pytest.fixture
def events(app: FastAPI, tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "events.duckdb"
    with store.opened(path) as connection:
        synthetic.write(connection, synthetic.plan(30_000, months=84, seed=5), seed=5)
    original = app.state.settings
    app.state.settings = original.model_copy(update={"events_path": str(path)})
    yield path
    app.state.settings = original


def test_indicators_and_exports(
    client: TestClient, accounts: dict[str, Account], events: Path
) -> None:
    headers = accounts["liaison"].headers
    rows = client.get("/api/v1/warning/indicators?country=AFG", headers=headers)
    assert rows.status_code == 200, rows.text
    months = [r["month"] for r in rows.json()]
    assert {r["key"] for r in rows.json()} == {"AFG"} and months == sorted(set(months))
    assert len(months) >= 80
    region = client.get("/api/v1/warning/indicators?region=central-asia", headers=headers).json()
    assert {r["key"] for r in region} == {"Central Asia"}
    exported = client.get("/api/v1/warning/export.csv?region=central-asia", headers=headers)
    assert exported.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(exported.text)))
    assert len(table) == len(region) and table[0]["key"] == "Central Asia"
    # Events by type: a column each, adding up to the month's events.
    kinds = [c for c in table[0] if c.startswith("events:")]
    assert set(kinds) == {"events:state-based", "events:one-sided", "events:non-state"}
    for line in table:
        assert sum(int(line[c]) for c in kinds) == int(line["events"])
    parquet = client.get("/api/v1/warning/export.parquet?country=AFG", headers=headers)
    assert parquet.status_code == 200 and parquet.content[:4] == b"PAR1"
    target = events.parent / "back.parquet"
    target.write_bytes(parquet.content)
    with duckdb.connect(":memory:") as check:
        total = check.execute("SELECT sum(events) FROM read_parquet(?)", [str(target)]).fetchone()
    assert total is not None and total[0] == sum(r["events"] for r in rows.json())


def test_a_region_dashboard_has_flags_and_scored_forecasts(
    client: TestClient, accounts: dict[str, Account], events: Path
) -> None:
    board = client.get(
        "/api/v1/warning/dashboard?region=central-asia", headers=accounts["analyst"].headers
    )
    assert board.status_code == 200, board.text
    data = board.json()
    assert data["synthetic"] is True and data["sources"] == ["synthetic"]
    assert data["region"]["countries"] == ["KAZ", "KGZ", "TJK", "TKM", "UZB"]
    assert len(data["forecasts"]) == 3
    for f in data["forecasts"]:
        score = next(
            s for s in data["backtest"] if s["model"] == f["model"] and s["horizon"] == f["horizon"]
        )
        assert f["skill"] == score["skill"]
    assert set(data["last_year"]) <= set(data["region"]["countries"])
    for flag in data["flags"]:
        assert flag["explanation"] and len(flag["baseline_values"]) == 6
    for lang in ("en", "ru", "zh"):
        pdf = client.get(
            f"/api/v1/warning/report.pdf?region=central-asia&lang={lang}",
            headers=accounts["analyst"].headers,
        )
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_a_period_limits_the_dashboard_and_its_report(
    client: TestClient, accounts: dict[str, Account], events: Path
) -> None:
    headers = accounts["analyst"].headers
    query = "region=central-asia&first=1998-03-15&last=1999-02-01"
    board = client.get(f"/api/v1/warning/dashboard?{query}", headers=headers).json()
    assert board["months"][0] == "1998-03-01" and board["months"][-1] == "1999-02-01"
    assert len(board["events"]) == len(board["fatalities"]) == 12
    assert all("1998-03-01" <= f["month"] <= "1999-02-01" for f in board["flags"])
    # Forecasts still start from the newest month in the store.
    assert board["forecasts"][0]["month"] > "2001-01-01"
    pdf = client.get(f"/api/v1/warning/report.pdf?{query}&lang=zh", headers=headers)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


@pytest.mark.parametrize(
    ("query", "status", "field"),
    [
        ("region=central-asia&first=1999-01-01&last=1998-01-01", 422, "last"),
        ("region=central-asia&first=2050-01-01", 422, "first"),
        ("region=atlantis", 422, "region"),
        ("country=AFG&region=central-asia", 422, "country"),
        ("", 422, "country"),
        ("country=afg", 422, "country"),
        ("country=FRA", 422, "country"),
        ("region=org:NOPE", 404, None),
    ],
)
def test_bad_dashboard_requests_are_named(
    client: TestClient,
    accounts: dict[str, Account],
    events: Path,
    query: str,
    status: int,
    field: str | None,
) -> None:
    answer = client.get(f"/api/v1/warning/dashboard?{query}", headers=accounts["liaison"].headers)
    assert answer.status_code == status, answer.text
    if field is not None:
        named = [e["field"].removeprefix("query.") for e in answer.json()["errors"]]
        assert field in named, answer.text


def test_nothing_without_a_principal(client: TestClient, events: Path) -> None:
    for path in ("/api/v1/warning/indicators", "/api/v1/warning/dashboard?region=central-asia"):
        assert client.get(path).status_code == 401


def test_forecasts_are_fitted_once_per_store_version(
    client: TestClient,
    accounts: dict[str, Account],
    events: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fitted: list[int] = []
    real = forecast.forecast

    def counted(series: Any, test: Any, model: str = "gbt") -> Any:
        fitted.append(len(series.months))
        return real(series, test, model)

    monkeypatch.setattr(forecast, "forecast", counted)
    url = "/api/v1/warning/dashboard?region=central-asia"
    headers = accounts["analyst"].headers
    first = client.get(url, headers=headers).json()["forecasts"]
    again = client.get(url, headers=headers).json()["forecasts"]
    assert again == first and len(fitted) == 1
    # New events in the store: fitted afresh, on the new months.
    with store.opened(events) as connection:
        synthetic.write(connection, synthetic.plan(500, months=90, seed=6), seed=6)
    client.get(url, headers=headers)
    assert len(fitted) == 2
