"""``indivisible warning``: the early-warning event store from the console: import GED and
ACLED files, generate synthetic events, and read indicators and anomaly flags."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy.exc import OperationalError, ProgrammingError

from indivisible.auth.principal import Actor
from indivisible.cli.common import (
    DatabaseOption,
    JsonOption,
    console,
    emit,
    err_console,
    settings,
    transaction,
)
from indivisible.warning import (
    alerts,
    anomaly,
    forecast,
    importers,
    indicators,
    stix,
    store,
    synthetic,
)

app = typer.Typer(
    help="Early warning: the event store, indicators and anomaly flags.", no_args_is_help=True
)

EventsOption = typer.Option(
    None, "--events", help="The event store (DuckDB file); default beside the node's database."
)


def _store_path(events: Path | None) -> Path:
    return events if events is not None else settings().events_file()


def _evaluate(database_url: str | None, events: Path | None) -> dict[str, Any]:
    """Evaluate the node's alert rules against the store, in the node's database; skipped
    (and said so) where there is no initialised node database, e.g. a store kept alone."""
    database = settings(database_url).sqlite_path()
    if database is not None and not database.exists():
        return {"rules": 0, "fired": 0, "skipped": f"no node database at {database}"}
    path = _store_path(events)
    try:
        with transaction(database_url) as session:
            result = alerts.evaluate(session, Actor.console("warning"), path)
    except (OperationalError, ProgrammingError):
        return {
            "rules": 0,
            "fired": 0,
            "skipped": "the node database is not initialised (indivisible init)",
        }
    return {"rules": result.rules, "fired": result.fired}


def _lines(path: Path) -> int:
    with path.open("rb") as handle:
        return max(sum(1 for _ in handle) - 1, 0)


@app.command("import")
def import_events(
    path: Path = typer.Argument(..., exists=True, dir_okay=False, help="A GED or ACLED CSV file."),
    kind: str = typer.Option(..., "--format", help="ged (UCDP GED CSV) or acled (ACLED CSV)."),
    events: Path | None = EventsOption,
    show: int = typer.Option(20, help="How many refused rows to list."),
    database_url: str | None = DatabaseOption,
    as_json: bool = JsonOption,
) -> None:
    """Import a file of events: good rows go in, bad ones are listed with their line number,
    and importing the same file again adds nothing. The alert rules are evaluated after."""
    if kind not in ("ged", "acled"):
        err_console.print("[red]error[/red] (--format): ged or acled")
        raise typer.Exit(2)
    with (
        store.opened(_store_path(events)) as connection,
        Progress(
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err_console,
            disable=as_json,
        ) as bar,
    ):
        task = bar.add_task(path.name, total=_lines(path))
        report = importers.import_file(
            connection,
            path,
            kind,  # type: ignore[arg-type]
            lambda n: bar.advance(task, n),
        )
        bar.update(task, total=report.rows, completed=report.rows)
    summary: dict[str, Any] = {
        "file": str(path),
        "source": report.source,
        "rows": report.rows,
        "imported": report.imported,
        "unchanged": report.unchanged,
        "refused": report.refused,
        "problems": [asdict(p) for p in report.problems],
    }
    summary["alerts"] = _evaluate(database_url, events)
    if emit(summary, as_json):
        return
    console.print(
        f"{report.source}: {report.rows} rows read, {report.imported} imported, "
        f"{report.unchanged} already there, {report.refused} refused."
    )
    alerts_done = summary["alerts"]
    console.print(
        f"Alert rules not evaluated: {alerts_done['skipped']}."
        if "skipped" in alerts_done
        else f"Alert rules evaluated: {alerts_done['rules']}, fired: {alerts_done['fired']}."
    )
    if report.problems and show:
        table = Table(
            "line",
            "column",
            "rule",
            title=f"Refused ({min(show, report.refused)} of {report.refused})",
        )
        for problem in report.problems[:show]:
            table.add_row(str(problem.line), problem.column, escape(problem.rule))
        console.print(table)


@app.command("import-stix")
def import_stix(
    events: Path | None = EventsOption,
    database_url: str | None = DatabaseOption,
    as_json: bool = JsonOption,
) -> None:
    """Add the node's STIX incidents released to every user (node-wide, TLP:CLEAR or GREEN)
    with a located-at country; the alert rules are evaluated after."""
    with transaction(database_url) as session, store.opened(_store_path(events)) as connection:
        report = stix.import_incidents(session, connection)
    summary: dict[str, Any] = {
        "source": report.source,
        "incidents": report.rows,
        "imported": report.imported,
        "unchanged": report.unchanged,
        "refused": [p.rule for p in report.problems],
        "alerts": _evaluate(database_url, events),
    }
    if emit(summary, as_json):
        return
    console.print(
        f"stix: {report.rows} released incidents, {report.imported} imported, "
        f"{report.unchanged} already there, {report.refused} without a place or date."
    )
    for problem in report.problems[:20]:
        console.print(f"  {escape(problem.rule)}")


@app.command("synthesize")
def synthesize(
    count: int = typer.Option(
        100_000, "--count", min=1, max=100_000_000, help="About how many events."
    ),
    months: int = typer.Option(360, min=36, max=1200, help="How many months, from January 1995."),
    seed: int = typer.Option(7, help="The same seed gives the same events."),
    events: Path | None = EventsOption,
    database_url: str | None = DatabaseOption,
) -> None:
    """Replace the store's synthetic events with a new set (marked synthetic in every row)."""
    planned = synthetic.plan(count, months=months, seed=seed)
    with store.opened(_store_path(events)) as connection:
        written = synthetic.write(connection, planned, seed=seed)
    console.print(
        f"{written:,} synthetic events in {len(planned.countries)} countries over {months} "
        f"months, {len(planned.bursts)} escalation bursts planted."
    )
    fired = _evaluate(database_url, events)
    console.print(
        f"Alert rules not evaluated: {fired['skipped']}."
        if "skipped" in fired
        else f"Alert rules evaluated: {fired['rules']}, fired: {fired['fired']}."
    )


SourceOption = typer.Option(
    [],
    "--source",
    help="ucdp-ged, acled or synthetic; repeat for several. Default: the real "
    "sources in the store, or the synthetic one when there is no other.",
)


def _series(
    connection: Any, countries: list[str], region: str | None, sources: list[str]
) -> indicators.Series:
    return indicators.monthly(connection, countries or None, region=region, sources=sources or None)


@app.command("indicators")
def show_indicators(
    country: list[str] = typer.Option([], "--country", help="ISO alpha-3; repeat for several."),
    region: str | None = typer.Option(None, help="Sum the countries as one region of this name."),
    since: str | None = typer.Option(None, help="Only months from YYYY-MM."),
    source: list[str] = SourceOption,
    events: Path | None = EventsOption,
    as_json: bool = JsonOption,
) -> None:
    """Events and fatalities per country-month (or region-month) with rolling means and
    year-on-year and month-on-month ratios."""
    with store.opened(_store_path(events)) as connection:
        series = indicators.monthly(
            connection, country or None, region=region, sources=source or None, by_type=True
        )
    rows = indicators.table(series)
    if since:
        first = date.fromisoformat(f"{since}-01")
        rows = [r for r in rows if r.month >= first]
    if emit([asdict(r) for r in rows], as_json):
        return
    if series.synthetic:
        console.print("[yellow]These series include synthetic events.[/yellow]")
    table = Table("key", "month", "events", "fatalities", "mean 12", "y/y", "m/m")
    for r in rows[-240:]:
        table.add_row(
            r.key, f"{r.month:%Y-%m}", str(r.events), str(r.fatalities),
            "" if r.events_mean_12 is None else f"{r.events_mean_12:.1f}",
            "" if r.events_year_on_year is None else f"{r.events_year_on_year:.2f}",
            "" if r.events_month_on_month is None else f"{r.events_month_on_month:.2f}",
        )  # fmt: skip
    console.print(table)


@app.command("anomalies")
def show_anomalies(
    country: list[str] = typer.Option([], "--country", help="ISO alpha-3; repeat for several."),
    region: str | None = typer.Option(None, help="Sum the countries as one region of this name."),
    metric: str = typer.Option("events", help="events or fatalities."),
    alpha: float = typer.Option(
        anomaly.ALPHA, min=1e-9, max=0.5, help="Flag below this probability."
    ),
    source: list[str] = SourceOption,
    events: Path | None = EventsOption,
    as_json: bool = JsonOption,
) -> None:
    """Months far above the same series' comparable months of earlier years, each with its
    baseline, expected and observed values and probability."""
    if metric not in ("events", "fatalities"):
        err_console.print("[red]error[/red] (--metric): events or fatalities")
        raise typer.Exit(2)
    with store.opened(_store_path(events)) as connection:
        series = _series(connection, country, region, source)
    flags = anomaly.detect(series, metric, alpha=alpha)
    if emit([{**asdict(f), "explanation": anomaly.explain(f)} for f in flags], as_json):
        return
    if series.synthetic:
        console.print("[yellow]These series include synthetic events.[/yellow]")
    table = Table("key", "month", "observed", "expected", "P(≥ observed)", "baseline")
    for f in flags:
        table.add_row(
            f.key, f"{f.month:%Y-%m}", str(f.observed), f"{f.expected:g}", f"{f.probability:.2g}",
            ", ".join(str(v) for v in f.baseline_values),
        )  # fmt: skip
    console.print(table)
    console.print(f"{len(flags)} flags.")


@app.command("backtest")
def show_backtest(
    country: list[str] = typer.Option([], "--country", help="ISO alpha-3; repeat for several."),
    origins: int = typer.Option(12, min=1, max=120, help="How many forecast origins."),
    step: int = typer.Option(3, min=1, max=24, help="Months between origins."),
    source: list[str] = SourceOption,
    events: Path | None = EventsOption,
    as_json: bool = JsonOption,
) -> None:
    """Score every forecaster 1-3 months ahead over rolling origins: MSE of log1p(fatalities),
    Poisson deviance, and skill against the no-change baseline."""
    with store.opened(_store_path(events)) as connection:
        series = _series(connection, country, None, source)
    try:
        scored = forecast.backtest(series, origins=origins, step=step)
    except ValueError as exc:
        err_console.print(f"[red]error[/red]: {exc}")
        raise typer.Exit(2) from exc
    rows = [asdict(s) for s in scored.scores]
    if emit(
        {"origins": [f"{series.months[o]:%Y-%m}" for o in scored.origins], "scores": rows}, as_json
    ):
        return
    if series.synthetic:
        console.print("[yellow]Scored on synthetic events.[/yellow]")
    table = Table(
        "model", "horizon", "MSE log1p", "Poisson deviance", "skill vs no-change", "cells"
    )
    for s in scored.scores:
        table.add_row(
            s.model, str(s.horizon), f"{s.mse_log1p:.3f}", f"{s.poisson_deviance:.1f}",
            f"{s.skill:+.1%}", str(s.cells),
        )  # fmt: skip
    console.print(table)


@app.command("forecast")
def show_forecast(
    country: list[str] = typer.Option([], "--country", help="ISO alpha-3; repeat for several."),
    model: str = typer.Option("gbt", help="gbt, rolling-mean or no-change."),
    source: list[str] = SourceOption,
    events: Path | None = EventsOption,
    as_json: bool = JsonOption,
) -> None:
    """Fatalities 1-3 months after the last month of the store, each with its model's
    backtest skill: a forecast is never shown without its score."""
    if model not in forecast.MODELS:
        err_console.print("[red]error[/red] (--model): gbt, rolling-mean or no-change")
        raise typer.Exit(2)
    with store.opened(_store_path(events)) as connection:
        series = _series(connection, country, None, source)
    try:
        scored = forecast.backtest(series)
    except ValueError as exc:
        err_console.print(f"[red]error[/red]: {exc}")
        raise typer.Exit(2) from exc
    made = forecast.forecast(series, scored, model)
    if emit([asdict(f) for f in made], as_json):
        return
    if series.synthetic:
        console.print("[yellow]Forecast from synthetic events.[/yellow]")
    table = Table("key", "months ahead", "fatalities", "model", "skill vs no-change", "MSE log1p")
    for f in made:
        table.add_row(
            f.key,
            str(f.horizon),
            f"{f.fatalities:.1f}",
            f.model,
            f"{f.skill:+.1%}",
            f"{f.mse_log1p:.3f}",
        )
    console.print(table)
