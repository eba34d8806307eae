"""A dashboard on paper (PDF, English, Russian or Chinese) and its indicators as CSV or
Parquet for export."""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Callable
from pathlib import Path

import duckdb

from indivisible.i18n import _
from indivisible.pdf import Bar, Document
from indivisible.warning.schemas import Dashboard, IndicatorRead
from indivisible.warning.vocabulary import VOCABULARY

FIELDS = tuple(f for f in IndicatorRead.model_fields if f != "events_by_type")


def _kinds(rows: list[IndicatorRead]) -> list[str]:
    return sorted({kind for row in rows for kind in row.events_by_type})


def _flat(row: IndicatorRead, kinds: list[str]) -> list[object]:
    """One row's values: the fields, then events per type (a column each, ``events:<type>``)."""
    return [getattr(row, f) for f in FIELDS] + [row.events_by_type.get(k, 0) for k in kinds]


def as_csv(rows: list[IndicatorRead]) -> str:
    kinds = _kinds(rows)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*FIELDS, *(f"events:{k}" for k in kinds)])
    for row in rows:
        writer.writerow(["" if v is None else v for v in _flat(row, kinds)])
    return out.getvalue()


def as_parquet(rows: list[IndicatorRead]) -> bytes:
    """The rows as a Parquet file, written by DuckDB (no Arrow dependency)."""
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "indicators.parquet"
        connection = duckdb.connect(":memory:")
        try:
            kinds = _kinds(rows)
            names = [*FIELDS, *(f"events:{k}" for k in kinds)]
            values = [_flat(r, kinds) for r in rows]
            columns = {name: [v[i] for v in values] for i, name in enumerate(names)}
            # Event types come from the data: quoted as identifiers, quotes doubled.
            select = ", ".join(
                f'unnest(${i + 1}) AS "{name.replace(chr(34), chr(34) * 2)}"'
                for i, name in enumerate(names)
            )
            connection.execute(
                f"CREATE TABLE indicators AS SELECT {select}", list(columns.values())
            )
            connection.execute(f"COPY indicators TO '{target}' (FORMAT parquet)")
        finally:
            connection.close()
        return target.read_bytes()


def as_pdf(board: Dashboard, gettext: Callable[[str], str], locale: str = "en") -> bytes:
    t = gettext
    doc = Document(
        title=t(_("Early warning: {title}")).format(title=board.title),
        subject="early-warning",
        cjk=locale == "zh",
    )
    if board.months:
        doc.paragraph(
            t(_("Period: {first} to {last}.")).format(
                first=f"{board.months[0]:%Y-%m}", last=f"{board.months[-1]:%Y-%m}"
            )
        )
    if board.synthetic:
        doc.paragraph(
            t(
                _(
                    "Synthetic data: these series are generated for demonstration and testing, not real events."
                )
            )
        )
    doc.paragraph(t(_("Sources: {sources}.")).format(sources=", ".join(board.sources)), note=True)
    if board.region is not None:
        doc.paragraph(
            t(_("Region: {countries} ({source}).")).format(
                countries=", ".join(board.region.countries), source=board.region.source
            ),
            note=True,
        )
    # Two years of bars fit a landscape page.
    doc.heading(t(_("Fatalities per month, last 24 months")))
    months = board.months[-24:]
    doc.bars(
        [
            Bar(f"{m:%Y-%m}", [(float(v), "#b91c1c")])
            for m, v in zip(months, board.fatalities[-24:], strict=True)
        ]
    )
    doc.heading(t(_("Anomaly flags")))
    if board.flags:
        doc.table(
            [t(_("Month")), t(_("Metric")), t(_("Observed")), t(_("Expected")), t(_("Probability"))],
            [[f"{f.month:%Y-%m}", t(VOCABULARY.get(f.metric, f.metric)), f.observed, f"{f.expected:g}", f"{f.probability:.2g}"] for f in board.flags[-30:]],
        )  # fmt: skip
    else:
        doc.paragraph(t(_("No month is flagged.")))
    doc.heading(t(_("Forecasts and their backtest")))
    if board.forecasts:
        doc.table(
            [t(_("Month")), t(_("Fatalities")), t(_("Model")), t(_("Skill vs no-change")), t(_("MSE log1p"))],
            [[f"{f.month:%Y-%m}", f"{f.fatalities:.1f}", f.model, f"{f.skill:+.1%}", f"{f.mse_log1p:.3f}"] for f in board.forecasts],
        )  # fmt: skip
        doc.table(
            [t(_("Model")), t(_("Months ahead")), t(_("MSE log1p")), t(_("Poisson deviance")), t(_("Skill vs no-change"))],
            [[s.model, s.horizon, f"{s.mse_log1p:.3f}", f"{s.poisson_deviance:.1f}", f"{s.skill:+.1%}"] for s in board.backtest],
        )  # fmt: skip
    else:
        doc.paragraph(t(_("Too short a series to backtest, so no forecast is shown.")))
    return doc.render()
