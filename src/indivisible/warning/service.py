"""Early warning for the API, the pages and the PDF: regions from the registry, and a
country's or region's dashboard (series, anomaly flags, forecasts with their backtest).

The event store holds published datasets (GED, ACLED) and synthetic events, readable by
every signed-in principal; the actor is still checked here, like on every read path. The
backtest behind the forecasts is cached per store state (its file's size and time, the
sources and the series asked for), so a page view does not refit the trees.
"""

from __future__ import annotations

import threading
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
from sqlalchemy.orm import Session

from indivisible.auth.principal import Actor
from indivisible.errors import InvalidInput, NotAuthenticated
from indivisible.i18n import _
from indivisible.registry import service as registry
from indivisible.registry.enums import MembershipStatus
from indivisible.warning import anomaly, forecast, indicators, store
from indivisible.warning.schemas import (
    Dashboard,
    FlagRead,
    ForecastRead,
    IndicatorRead,
    Region,
    ScoreRead,
)

# UN M49 region 143, Central Asia (United Nations Statistics Division, Standard country or
# area codes for statistical use, https://unstats.un.org/unsd/methodology/m49/).
NAMED_REGIONS = {
    "central-asia": (
        "Central Asia",
        ("KAZ", "KGZ", "TJK", "TKM", "UZB"),
        "UN M49 region 143 (UN Statistics Division, https://unstats.un.org/unsd/methodology/m49/)",
    ),
}

_cache_lock = threading.Lock()
# Backtests and forecasts depend on the event store's file and the series only, so each is
# made once per store version and process: fitting the trees costs about 0.6 s of CPU, and
# the load benchmark found a dashboard that refitted on every request taking a third of the
# node's CPU for under 1% of its requests.
_backtests: dict[tuple[object, ...], forecast.Backtest] = {}
_forecasts: dict[tuple[object, ...], list[forecast.Forecast]] = {}


def ensure_reader(actor: Actor | None) -> None:
    if actor is None:
        raise NotAuthenticated(_("Not logged in."), code="no_session")


def open_store(path: Path) -> duckdb.DuckDBPyConnection:
    """The store for reading (created empty if it does not exist yet)."""
    if not path.exists():
        store.connect(path).close()
    return duckdb.connect(str(path), read_only=True)


def region(session: Session, spec: str, on: date) -> Region:
    """``central-asia``, ``org:<organisation>`` (its members on ``on``) or ``belt:<state>``
    (the state and its neighbours)."""
    if spec in NAMED_REGIONS:
        title, named, source = NAMED_REGIONS[spec]
        return Region(spec=spec, title=title, countries=list(named), source=source)
    kind, _sep, code = spec.partition(":")
    if kind == "org" and code:
        members = registry.members_on(session, code, on)
        countries = sorted(
            m.state_code for m in members.members if m.status == MembershipStatus.member.value
        )
        return Region(
            spec=spec,
            title=f"{code} {on.isoformat()}",
            countries=countries,
            source=f"registry: members of {code} on {on.isoformat()}",
        )
    if kind == "belt" and code:
        belt = registry.security_belt(session, code, on)
        countries = sorted({code, *(n.state for n in belt.neighbours)})
        return Region(
            spec=spec,
            title=f"{code} + neighbours",
            countries=countries,
            source=f"registry: land borders of {code}",
        )
    raise InvalidInput(
        _("Not a region: use central-asia, org:<organisation> or belt:<state>."),
        code="unknown_region",
        field="region",
    )


def _series(
    connection: duckdb.DuckDBPyConnection,
    countries: list[str] | None,
    region_title: str | None,
    sources: list[str] | None,
    by_type: bool = False,
) -> indicators.Series:
    return indicators.monthly(
        connection, countries, region=region_title, sources=sources, by_type=by_type
    )


def indicator_rows(
    actor: Actor | None, path: Path, countries: list[str] | None, region_: Region | None,
    sources: list[str] | None, since: date | None,
) -> list[IndicatorRead]:  # fmt: skip
    ensure_reader(actor)
    with open_store(path) as connection:
        series = _series(
            connection,
            region_.countries if region_ else countries,
            region_.title if region_ else None,
            sources,
            by_type=True,
        )
    rows = indicators.table(series)
    return [IndicatorRead(**r.__dict__) for r in rows if since is None or r.month >= since]


def _flag(f: anomaly.Flag) -> FlagRead:
    return FlagRead(
        key=f.key, month=f.month, metric=f.metric, observed=f.observed, expected=f.expected,
        probability=f.probability, baseline_months=list(f.baseline_months),
        baseline_values=list(f.baseline_values), distribution=f.distribution,
        explanation=anomaly.explain(f),
    )  # fmt: skip


def _backtest(
    path: Path, series: indicators.Series, sources: list[str] | None
) -> forecast.Backtest:
    key = _store_key(path, series, sources)
    with _cache_lock:
        found = _backtests.get(key)
    if found is None:
        found = forecast.backtest(series)
        with _cache_lock:
            _backtests[key] = found
    return found


def _forecasts_of(
    path: Path, series: indicators.Series, sources: list[str] | None, scored: forecast.Backtest
) -> list[forecast.Forecast]:
    key = _store_key(path, series, sources)
    with _cache_lock:
        found = _forecasts.get(key)
    if found is None:
        found = forecast.forecast(series, scored)
        with _cache_lock:
            _forecasts[key] = found
    return found


def _store_key(
    path: Path, series: indicators.Series, sources: list[str] | None
) -> tuple[object, ...]:
    stat = path.stat() if path.exists() else None
    return (
        str(path),
        stat.st_size if stat else 0,
        stat.st_mtime_ns if stat else 0,
        tuple(sources or ()),
        series.keys,
        len(series.months),
    )


def _next_month(month: date, ahead: int) -> date:
    year, index = divmod(month.month - 1 + ahead, 12)
    return date(month.year + year, index + 1, 1)


def dashboard(
    actor: Actor | None,
    path: Path,
    *,
    country: str | None = None,
    region_: Region | None = None,
    sources: list[str] | None = None,
    first: date | None = None,
    last: date | None = None,
) -> Dashboard:
    """One country (forecast by the trees pooled over every country) or one region (its
    summed series, forecast on its own). ``first`` and ``last`` (months) limit the period
    shown: the chart, the flags and the map; flags still compare with the years before, and
    forecasts always start from the newest month in the store."""
    ensure_reader(actor)
    if (country is None) == (region_ is None):
        raise InvalidInput(
            _("Give a country or a region, not both."), code="country_or_region", field="country"
        )
    if first is not None and last is not None and last < first:
        raise InvalidInput(
            _("The period ends before it starts."), code="empty_period", field="last"
        )
    with open_store(path) as connection:
        used = sources or indicators.default_sources(connection)
        everyone = _series(connection, None, None, used)
        if region_ is not None:
            series = _series(connection, region_.countries, region_.title, used)
        else:
            series = everyone
    key = region_.title if region_ is not None else (country or "")
    if key not in series.keys:
        raise InvalidInput(
            _("No events for {key} in the event store."),
            code="no_events",
            field="region" if region_ is not None else "country",
            params={"key": key},
        )
    at = series.index(key)
    flags = [
        f
        for metric in ("events", "fatalities")
        for f in anomaly.detect(series, metric)
        if f.key == key
    ]
    scores: list[ScoreRead] = []
    forecasts: list[ForecastRead] = []
    origins: list[date] = []
    try:
        scored = _backtest(path, series, used)
    except ValueError:
        scored = None
    if scored is not None:
        scores = [ScoreRead(**s.__dict__) for s in scored.scores]
        origins = [series.months[o] for o in scored.origins]
        newest = series.months[-1]
        forecasts = [
            ForecastRead(
                key=f.key,
                horizon=f.horizon,
                month=_next_month(newest, f.horizon),
                fatalities=f.fatalities,
                model=f.model,
                skill=f.skill,
                mse_log1p=f.mse_log1p,
            )
            for f in _forecasts_of(path, series, used, scored)
            if f.key == key
        ]
    shown = [
        i
        for i, m in enumerate(series.months)
        if (first is None or m >= first.replace(day=1)) and (last is None or m <= last)
    ]
    if not shown:
        raise InvalidInput(
            _("No months of {key} in that period."),
            code="empty_period",
            field="first",
            params={"key": key},
        )
    months_shown = [series.months[i] for i in shown]
    flags = [f for f in flags if months_shown[0] <= f.month <= months_shown[-1]]
    # The map: the last 12 months of the period shown.
    end = (
        everyone.months.index(months_shown[-1]) + 1
        if months_shown[-1] in everyone.months
        else len(everyone.months)
    )
    window = (
        everyone.fatalities[:, max(end - 12, 0) : end]
        if everyone.keys
        else np.zeros((0, 0), np.int64)
    )
    countries = region_.countries if region_ is not None else [key]
    last_year = {
        k: int(window[i].sum())
        for i, k in enumerate(everyone.keys)
        if region_ is None or k in region_.countries
    }
    return Dashboard(
        key=key,
        title=region_.title if region_ is not None else key,
        countries=countries,
        region=region_,
        synthetic=series.synthetic,
        sources=used,
        months=months_shown,
        events=[int(series.events[at, i]) for i in shown],
        fatalities=[int(series.fatalities[at, i]) for i in shown],
        flags=[_flag(f) for f in flags],
        forecasts=forecasts,
        backtest=scores,
        backtest_origins=origins,
        last_year=last_year,
    )
