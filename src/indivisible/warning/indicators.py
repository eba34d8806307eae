"""Indicators: events and fatalities per country-month or region-month, with rolling means
and year-on-year and month-on-month ratios.

The aggregation is one DuckDB query over the event store; the series come back as dense
arrays (every month between the first and the last, zero where nothing happened), which is
what the anomaly flags and the forecasts read. A region is any set of states, summed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

import duckdb
import numpy as np


@dataclass(frozen=True)
class Series:
    """Monthly series, one row per key (a country, or a region's name)."""

    keys: tuple[str, ...]
    months: tuple[date, ...]
    events: np.ndarray  # (keys, months) int64
    fatalities: np.ndarray  # (keys, months) int64
    synthetic: bool
    # Events by event type, each (keys, months), when asked for.
    by_type: dict[str, np.ndarray] = field(default_factory=dict)

    def index(self, key: str) -> int:
        return self.keys.index(key)


def _months_between(first: date, last: date) -> list[date]:
    months = []
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        months.append(date(year, month, 1))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def monthly(
    connection: duckdb.DuckDBPyConnection,
    countries: Sequence[str] | None = None,
    *,
    sources: Sequence[str] | None = None,
    region: str | None = None,
    event_types: Sequence[str] | None = None,
    first: date | None = None,
    last: date | None = None,
    by_type: bool = False,
) -> Series:
    """Country-month series (or, with ``region``, one series summing ``countries``) of the
    given sources (by default those of ``default_sources``)."""
    where = ["source IN (SELECT unnest(?))"]
    params: list[object] = [list(sources if sources is not None else default_sources(connection))]
    if countries is not None:
        where.append("country IN (SELECT unnest(?))")
        params.append(list(countries))
    if event_types is not None:
        where.append("event_type IN (SELECT unnest(?))")
        params.append(list(event_types))
    if first is not None:
        where.append("event_date >= ?")
        params.append(first)
    if last is not None:
        where.append("event_date <= ?")
        params.append(last)
    key = "?" if region is not None else "country"
    key_params: list[object] = [region] if region is not None else []
    rows = connection.execute(
        f"""
        SELECT {key} AS key, date_trunc('month', event_date)::DATE AS month,
               count(*) AS events, sum(fatalities_best) AS fatalities, bool_or(synthetic)
        FROM events
        {"WHERE " + " AND ".join(where) if where else ""}
        GROUP BY ALL
        """,  # noqa: S608 (fixed fragments; every value is a parameter)
        key_params + params,
    ).fetchall()
    if not rows:
        return Series((), (), np.zeros((0, 0), np.int64), np.zeros((0, 0), np.int64), False)
    keys = tuple(sorted({r[0] for r in rows}))
    months = tuple(
        _months_between(first or min(r[1] for r in rows), last or max(r[1] for r in rows))
    )
    at_key = {k: i for i, k in enumerate(keys)}
    at_month = {m: i for i, m in enumerate(months)}
    events = np.zeros((len(keys), len(months)), np.int64)
    fatalities = np.zeros((len(keys), len(months)), np.int64)
    for k, m, n, f, _s in rows:
        if m in at_month:
            events[at_key[k], at_month[m]] = n
            fatalities[at_key[k], at_month[m]] = f or 0
    kinds: dict[str, np.ndarray] = {}
    if by_type:
        typed = connection.execute(
            f"""
            SELECT {key} AS key, date_trunc('month', event_date)::DATE AS month, event_type,
                   count(*) AS events
            FROM events WHERE {" AND ".join(where)} GROUP BY ALL
            """,  # noqa: S608 (fixed fragments; every value is a parameter)
            key_params + params,
        ).fetchall()
        for k, m, kind, n in typed:
            if m in at_month:
                array = kinds.setdefault(kind, np.zeros((len(keys), len(months)), np.int64))
                array[at_key[k], at_month[m]] = n
    return Series(keys, months, events, fatalities, any(r[4] for r in rows), kinds)


def default_sources(connection: duckdb.DuckDBPyConnection) -> list[str]:
    """The real sources in the store, or the synthetic one when there is nothing else:
    synthetic events are never summed with real ones unless asked for by name."""
    found = [
        r[0] for r in connection.execute("SELECT DISTINCT source FROM events ORDER BY 1").fetchall()
    ]
    real = [s for s in found if s != "synthetic"]
    return real or found


def rolling_mean(values: np.ndarray, window: int) -> np.ndarray:
    """Trailing mean over ``window`` months (NaN until a full window exists)."""
    out = np.full(values.shape, np.nan)
    if values.shape[-1] < window:
        return out
    sums = np.cumsum(np.concatenate([np.zeros((*values.shape[:-1], 1)), values], axis=-1), axis=-1)
    out[..., window - 1 :] = (sums[..., window:] - sums[..., :-window]) / window
    return out


def ratio(values: np.ndarray, lag: int) -> np.ndarray:
    """values[t] / values[t - lag]; NaN where the earlier value is zero or missing."""
    out = np.full(values.shape, np.nan)
    earlier = values[..., :-lag].astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out[..., lag:] = np.where(earlier > 0, values[..., lag:] / earlier, np.nan)
    return out


@dataclass(frozen=True)
class Indicator:
    key: str
    month: date
    events: int
    fatalities: int
    events_mean_3: float | None
    events_mean_12: float | None
    fatalities_mean_12: float | None
    events_year_on_year: float | None
    events_month_on_month: float | None
    fatalities_year_on_year: float | None
    events_by_type: dict[str, int]


def _num(value: float) -> float | None:
    return None if np.isnan(value) else round(float(value), 4)


def table(series: Series) -> list[Indicator]:
    """Every key-month of the series with its derived indicators."""
    mean3 = rolling_mean(series.events, 3)
    mean12 = rolling_mean(series.events, 12)
    fmean12 = rolling_mean(series.fatalities, 12)
    yoy = ratio(series.events, 12)
    mom = ratio(series.events, 1)
    fyoy = ratio(series.fatalities, 12)
    return [
        Indicator(
            key=key,
            month=month,
            events=int(series.events[k, t]),
            fatalities=int(series.fatalities[k, t]),
            events_mean_3=_num(mean3[k, t]),
            events_mean_12=_num(mean12[k, t]),
            fatalities_mean_12=_num(fmean12[k, t]),
            events_year_on_year=_num(yoy[k, t]),
            events_month_on_month=_num(mom[k, t]),
            fatalities_year_on_year=_num(fyoy[k, t]),
            events_by_type={kind: int(v[k, t]) for kind, v in sorted(series.by_type.items())},
        )
        for k, key in enumerate(series.keys)
        for t, month in enumerate(series.months)
    ]
