"""Synthetic events with the structure of real conflict data, for scale tests and for a demo
without a real extract: every row says it is synthetic (``source='synthetic'``,
``synthetic=true``, a note), and every page showing them says so.

Structure: each country has its own level of violence; months follow a yearly season (a
fighting season peaking in summer); escalation bursts raise a country's level several-fold
for a few months; many country-months are quiet (zero-inflation); fatalities per event are
mostly zero with a heavy tail. The monthly counts come from NumPy with a fixed seed; the
events themselves are written by DuckDB from those counts, with per-row values drawn from a
hash of the row (not ``random()``), so the same seed gives the same store on any number of
threads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb
import numpy as np

EVENT_TYPES = ("state-based", "non-state", "one-sided")
# Central Asia and its neighbours first: the region the platform is about.
COUNTRIES = (
    "AFG", "KAZ", "KGZ", "TJK", "TKM", "UZB", "PAK", "IRN", "CHN", "RUS", "IND", "MNG",
    "AZE", "ARM", "GEO", "TUR", "IRQ", "SYR", "YEM", "SOM", "SDN", "SSD", "ETH", "NGA",
    "MLI", "BFA", "NER", "COD", "CAF", "MOZ", "MMR", "PHL", "COL", "MEX", "UKR", "LBY",
)  # fmt: skip


@dataclass(frozen=True)
class Plan:
    """How many events fall in each country-month, and the bursts that were planted."""

    countries: tuple[str, ...]
    first_month: date
    counts: np.ndarray  # shape (countries, months), int64
    bursts: list[tuple[str, int, int]]  # (country, first month index, length)

    @property
    def total(self) -> int:
        return int(self.counts.sum())


def _month(first: date, index: int) -> date:
    year, month = divmod(first.month - 1 + index, 12)
    return date(first.year + year, month + 1, 1)


def plan(
    events: int, *, months: int = 360, seed: int = 7, first_month: date = date(1995, 1, 1)
) -> Plan:
    """Monthly counts adding up to about ``events``."""
    rng = np.random.default_rng(seed)
    n = len(COUNTRIES)
    level = rng.lognormal(mean=0.0, sigma=1.2, size=n)
    season = 1.0 + 0.5 * np.sin(2 * np.pi * (np.arange(months) % 12 - 3) / 12)
    intensity = np.outer(level, season)
    bursts: list[tuple[str, int, int]] = []
    for country in range(n):
        for _ in range(rng.poisson(months / 120)):
            start = int(rng.integers(24, months - 3))
            length = int(rng.integers(2, 7))
            intensity[country, start : start + length] *= rng.uniform(3.0, 8.0)
            bursts.append((COUNTRIES[country], start, length))
    # Quiet months: a country-specific share of months with no events at all.
    quiet = rng.random((n, months)) < rng.uniform(0.05, 0.5, size=(n, 1))
    intensity[quiet] = 0.0
    intensity *= events / intensity.sum()
    counts = rng.poisson(intensity).astype(np.int64)
    return Plan(COUNTRIES, first_month, counts, bursts)


def write(connection: duckdb.DuckDBPyConnection, planned: Plan, *, seed: int = 7) -> int:
    """Write the planned events into the store (replacing earlier synthetic ones); answers
    how many were written."""
    where = list(zip(*np.nonzero(planned.counts), strict=True))
    countries = [planned.countries[c] for c, _m in where]
    months = [_month(planned.first_month, int(m)) for _c, m in where]
    counts = [int(planned.counts[c, m]) for c, m in where]
    connection.execute("BEGIN TRANSACTION")
    try:
        connection.execute("DELETE FROM events WHERE source = 'synthetic'")
        connection.execute(
            "CREATE OR REPLACE TEMP TABLE synthetic_plan (country VARCHAR, month DATE, n BIGINT)"
        )
        # One statement for the whole plan: DuckDB inserts row by row with executemany.
        connection.execute(
            "INSERT INTO synthetic_plan SELECT unnest(?), unnest(?), unnest(?)",
            [countries, months, counts],
        )
        # u(k): a uniform number in [0, 1) from a hash of the row and k, reproducible.
        u = "((hash(country, month, i, {k}, {seed}) % 1000003) / 1000003.0)"
        connection.execute(
            f"""
            INSERT INTO events
            SELECT
                'synthetic',
                country || '-' || strftime(month, '%Y%m') || '-' || i,
                month + CAST(floor({u.format(k=1, seed=seed)} * 28) AS INTEGER),
                'day',
                country,
                NULL, NULL, NULL, NULL,
                CASE WHEN {u.format(k=2, seed=seed)} < 0.55 THEN 'state-based'
                     WHEN {u.format(k=2, seed=seed)} < 0.80 THEN 'one-sided'
                     ELSE 'non-state' END,
                NULL, NULL, NULL,
                fatalities, fatalities, fatalities,
                'Synthetic event (generated, not real).',
                TRUE
            FROM (
                SELECT country, month, i,
                    CASE WHEN {u.format(k=3, seed=seed)} < 0.6 THEN 0
                         ELSE CAST(floor(-ln(1 - {u.format(k=4, seed=seed)}) * 4) AS INTEGER) + 1
                    END AS fatalities
                FROM (SELECT country, month, unnest(range(n)) AS i FROM synthetic_plan)
            )
            """  # noqa: S608 (the only value formatted in is the integer seed)
        )
        connection.execute("DROP TABLE synthetic_plan")
        connection.execute("COMMIT")
    except Exception:
        connection.execute("ROLLBACK")
        raise
    row = connection.execute("SELECT count(*) FROM events WHERE source = 'synthetic'").fetchone()
    return int(row[0]) if row else 0
