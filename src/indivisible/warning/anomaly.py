"""Anomaly flags: a month far above what the same series usually shows at that time of year.

The baseline of month t is the same series' comparable months of earlier years: t-12 and
t-24, each with the months either side (six values; the idea of the Farrington outbreak
detector, without its regression). Conflict counts are overdispersed, so the expected count
follows a negative binomial with the baseline's mean and, as its variance, the larger of the
baseline's and that of the 24 months before (a Poisson when neither exceeds the mean). A month is flagged when the probability of seeing at
least its count under that distribution is below ``alpha`` and the count is at least
``min_count``: too few events are never an alarm. Every flag carries its baseline months,
the expected value, the observed value and that probability.

The false-alarm rate on seasonal noise and the detection of a planted five-fold rise are
measured by tests/warning/test_anomaly.py and stated in docs/warning.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from indivisible.warning.indicators import Series

ALPHA = 0.001
MIN_COUNT = 5
# Offsets of the comparable months: a year and two years back, each with its neighbours.
BASELINE_OFFSETS = (11, 12, 13, 23, 24, 25)


@dataclass(frozen=True)
class Flag:
    key: str
    month: date
    metric: str
    observed: int
    expected: float
    variance: float
    probability: float
    baseline_months: tuple[date, ...]
    baseline_values: tuple[int, ...]
    distribution: str

    @property
    def ratio(self) -> float | None:
        return None if self.expected == 0 else self.observed / self.expected


def tail_probability(observed: np.ndarray, mean: np.ndarray, variance: np.ndarray) -> np.ndarray:
    """P(X >= observed) under a negative binomial with this mean and variance, or a Poisson
    where the variance does not exceed the mean."""
    # Imported here: scipy.stats takes about a second to import, which every CLI command
    # would pay without ever flagging a month.
    from scipy import stats

    observed = np.asarray(observed, dtype=float)
    mean = np.maximum(np.asarray(mean, dtype=float), 1e-9)
    variance = np.asarray(variance, dtype=float)
    over = variance > mean
    # NB(r, p) with mean m and variance v: p = m / v, r = m^2 / (v - m).
    safe_v = np.where(over, variance, mean + 1.0)
    r = mean**2 / (safe_v - mean)
    p = mean / safe_v
    nb = stats.nbinom.sf(observed - 1, r, p)
    poisson = stats.poisson.sf(observed - 1, mean)
    result: np.ndarray = np.where(over, nb, poisson)
    return result


def detect(
    series: Series,
    metric: str = "events",
    *,
    alpha: float = ALPHA,
    min_count: int = MIN_COUNT,
) -> list[Flag]:
    """The flagged key-months of one metric (``events`` or ``fatalities``)."""
    values: np.ndarray = getattr(series, metric)
    if values.size == 0:
        return []
    _keys, months = values.shape
    start = max(BASELINE_OFFSETS)
    if months <= start:
        return []
    observed = values[:, start:]
    baseline = np.stack([values[:, start - o : months - o] for o in BASELINE_OFFSETS], axis=-1)
    mean = baseline.mean(axis=-1)
    # Six values estimate the spread poorly, and too low a spread is a false alarm: take the
    # larger of their variance and that of the 24 months before t (which includes the
    # season's swing, and so errs towards fewer alarms).
    recent = np.stack([values[:, start - o : months - o] for o in range(1, 25)], axis=-1)
    variance = np.maximum(baseline.var(axis=-1, ddof=1), recent.var(axis=-1, ddof=1))
    probability = tail_probability(observed, mean, variance)
    hits = (probability < alpha) & (observed >= min_count) & (observed > mean)
    flags = []
    for k, t in zip(*np.nonzero(hits), strict=True):
        month = t + start
        flags.append(
            Flag(
                key=series.keys[k],
                month=series.months[month],
                metric=metric,
                observed=int(observed[k, t]),
                expected=round(float(mean[k, t]), 3),
                variance=round(float(variance[k, t]), 3),
                probability=float(probability[k, t]),
                baseline_months=tuple(series.months[month - o] for o in BASELINE_OFFSETS),
                baseline_values=tuple(int(values[k, month - o]) for o in BASELINE_OFFSETS),
                distribution="negative binomial" if variance[k, t] > mean[k, t] else "Poisson",
            )
        )
    return flags


def explain(flag: Flag) -> str:
    """The flag in one sentence (English; pages translate their own template)."""
    return (
        f"{flag.key} {flag.month:%Y-%m}: {flag.observed} {flag.metric} against "
        f"{flag.expected:g} expected from the same months of the two previous years "
        f"({', '.join(str(v) for v in flag.baseline_values)}); P(at least this many) = "
        f"{flag.probability:.2g} under a {flag.distribution}."
    )
