"""Early warning at scale: import synthetic events and aggregate them to country-month
indicators with Indivisible's event store (DuckDB), side by side with a plain pandas
implementation of the same work in the same run, then compute the anomaly flags.

For each size (default 1,000,000 and 10,000,000 events): the synthetic generator writes the
events once to a Parquet file (not timed). Then, timed, for each side:

1. import: Indivisible loads the file into a fresh on-disk event store; pandas reads it into
   a DataFrame;
2. aggregate: events and fatalities per country-month as dense series (every month, zeros
   filled), with 12-month rolling means and year-on-year ratios; Indivisible with
   ``warning.indicators`` (one DuckDB query, then NumPy), pandas with groupby, unstack and
   rolling;
3. anomalies: the same ``warning.anomaly.detect`` on each side's series.

The two sides' series must be equal, cell for cell, and so must their flags; a run where
they differ is reported as a failure. Prints a table with ratios (pandas time over
Indivisible's: above 1, Indivisible was faster) and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from indivisible.warning import anomaly, indicators, store, synthetic

REPO = Path(__file__).resolve().parent.parent
DEFAULT_JSON = REPO / "benchmarks" / "results" / "warning.json"
TARGET_SECONDS = 5.0
TARGET_RATIO = 5.0


@dataclass
class Side:
    seconds: dict[str, float] = field(default_factory=dict)
    flags: int = 0


def timed(side: Side, phase: str, work: Callable[[], Any]) -> Any:
    started = time.perf_counter()
    result = work()
    side.seconds[phase] = time.perf_counter() - started
    return result


def write_parquet(size: int, path: Path, seed: int) -> int:
    planned = synthetic.plan(size, seed=seed)
    with store.opened(":memory:") as connection:
        written = synthetic.write(connection, planned, seed=seed)
        # Dates as timestamps, which pandas reads as datetime64 (a Parquet date would come
        # back as Python objects and slow pandas down unfairly).
        connection.execute(
            "COPY (SELECT * REPLACE (CAST(event_date AS TIMESTAMP) AS event_date) FROM events) "  # noqa: S608 (a temp path)
            f"TO '{path}' (FORMAT parquet)"
        )
    return written


def indivisible_side(parquet: Path, directory: Path) -> tuple[Side, indicators.Series, list[Any]]:
    side = Side()
    target = directory / "events.duckdb"
    connection = store.connect(target)
    try:

        def load() -> None:
            connection.execute(
                "INSERT INTO events SELECT * REPLACE (CAST(event_date AS DATE) AS event_date) "  # noqa: S608 (a temp path)
                f"FROM read_parquet('{parquet}')"
            )

        timed(side, "import", load)

        def aggregate() -> indicators.Series:
            series = indicators.monthly(connection, sources=["synthetic"])
            _rolling = indicators.rolling_mean(series.events, 12)
            _ratio = indicators.ratio(series.events, 12)
            return series

        series = timed(side, "aggregate", aggregate)
        flags = timed(
            side, "anomalies", lambda: anomaly.detect(series) + anomaly.detect(series, "fatalities")
        )
    finally:
        connection.close()
    side.flags = len(flags)
    return side, series, flags


def pandas_side(parquet: Path) -> tuple[Side, indicators.Series, list[Any]]:
    side = Side()
    frame = timed(
        side,
        "import",
        lambda: pd.read_parquet(
            parquet, columns=["country", "event_date", "fatalities_best", "synthetic"]
        ),
    )

    def aggregate() -> indicators.Series:
        # The fastest plain-pandas idiom measured: a categorical country and month-truncated
        # datetime64 keys (grouping on strings, or on to_period, was 1.4-3x slower).
        months = frame["event_date"].values.astype("datetime64[M]")
        country = frame["country"].astype("category")
        grouped = (
            frame.assign(month=months, country=country)
            .groupby(["country", "month"], sort=True, observed=True)
            .agg(events=("fatalities_best", "size"), fatalities=("fatalities_best", "sum"))
        )
        calendar = pd.date_range(
            grouped.index.levels[1].min(), grouped.index.levels[1].max(), freq="MS"
        )
        events = grouped["events"].unstack(fill_value=0).reindex(columns=calendar, fill_value=0)
        fatalities = (
            grouped["fatalities"].unstack(fill_value=0).reindex(columns=calendar, fill_value=0)
        )
        # Computed as the indicators are on the other side, and likewise not kept.
        _rolling = events.T.rolling(12).mean()
        _ratio = events / events.shift(12, axis=1).where(lambda x: x > 0)
        return indicators.Series(
            tuple(events.index),
            tuple(d.date() for d in calendar),
            events.to_numpy(dtype=np.int64),
            fatalities.to_numpy(dtype=np.int64),
            bool(frame["synthetic"].any()),
        )

    series = timed(side, "aggregate", aggregate)
    flags = timed(
        side, "anomalies", lambda: anomaly.detect(series) + anomaly.detect(series, "fatalities")
    )
    side.flags = len(flags)
    return side, series, flags


def run(size: int, seed: int, console: Console) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="indivisible-warning-bench-") as tmp:
        directory = Path(tmp)
        parquet = directory / "events.parquet"
        console.print(f"[dim]{size:,} events: generating…[/dim]")
        written = write_parquet(size, parquet, seed)
        console.print(f"[dim]{written:,} events: Indivisible…[/dim]")
        ours, our_series, our_flags = indivisible_side(parquet, directory)
        console.print(f"[dim]{written:,} events: pandas…[/dim]")
        theirs, their_series, their_flags = pandas_side(parquet)
    same = (
        our_series.keys == their_series.keys
        and our_series.months == their_series.months
        and np.array_equal(our_series.events, their_series.events)
        and np.array_equal(our_series.fatalities, their_series.fatalities)
        and [(f.key, f.month, f.metric) for f in our_flags]
        == [(f.key, f.month, f.metric) for f in their_flags]
    )
    return {
        "events": written,
        "series": len(our_series.keys),
        "months": len(our_series.months),
        "flags": ours.flags,
        "same_results": bool(same),
        "indivisible": ours.seconds,
        "pandas": theirs.seconds,
    }


def table(results: list[dict[str, Any]]) -> Table:
    out = Table(
        "events",
        "phase",
        "indivisible s",
        "pandas s",
        "ratio",
        title="Early warning: event store against pandas",
    )
    for result in results:
        for phase in ("import", "aggregate", "anomalies", "import + aggregate"):
            if phase == "import + aggregate":
                ours = result["indivisible"]["import"] + result["indivisible"]["aggregate"]
                theirs = result["pandas"]["import"] + result["pandas"]["aggregate"]
            else:
                ours, theirs = result["indivisible"][phase], result["pandas"][phase]
            out.add_row(
                f"{result['events']:,}",
                phase,
                f"{ours:.3f}",
                f"{theirs:.3f}",
                f"{theirs / ours:.2f}x",
            )
    return out


def arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--sizes", default="1000000,10000000", help="event counts, comma-separated")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="one small size, a smoke test")
    parser.add_argument(
        "--json", type=Path, default=DEFAULT_JSON, help="where to write the results"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = arguments(argv)
    sizes = [100_000] if args.quick else [int(s) for s in args.sizes.split(",") if s.strip()]
    console = Console()
    results = [run(size, args.seed, console) for size in sizes]
    console.print(table(results))
    largest = results[-1]
    aggregate = largest["indivisible"]["aggregate"]
    ratio = largest["pandas"]["aggregate"] / aggregate
    console.print(
        f"Largest run: {largest['events']:,} events aggregated in {aggregate:.3f} s "
        f"(target under {TARGET_SECONDS:g} s), {ratio:.1f}x pandas (target at least {TARGET_RATIO:g}x); "
        f"results {'identical' if all(r['same_results'] for r in results) else 'DIFFERENT'} on both sides."
    )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps(
            {
                "benchmark": "warning",
                "when": datetime.now(UTC).isoformat(timespec="seconds"),
                "machine": {"python": sys.version.split()[0], "platform": platform.platform()},
                "versions": {"pandas": pd.__version__, "numpy": np.__version__},
                "results": results,
                "date": date.today().isoformat(),
            },
            indent=2,
        )
    )
    console.print(f"JSON: {args.json}")
    return 0 if all(r["same_results"] for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
