"""Forecasts of fatalities per country-month, 1 to 3 months ahead, and the rolling-origin
backtest that scores them: no forecast is shown without its score.

Three forecasters, all fitted only on months before the forecast origin:

- ``no-change``: next months as the last observed month (the baseline every skill is
  measured against);
- ``rolling-mean``: the mean of the last 12 months, in log1p space;
- ``gbt``: gradient-boosted trees (scikit-learn's HistGradientBoostingRegressor, fixed
  random state) on lagged features, one model per horizon pooled across countries.

Scores over the same origins and country-months for every model: the mean squared error of
log1p(fatalities) (the target VIEWS scores) and the mean Poisson deviance of the predicted
fatalities (a consistent score for the mean of counts). Skill is 1 - MSE / MSE(no-change):
above 0 the model beats doing nothing clever.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from indivisible.warning.indicators import Series

if TYPE_CHECKING:
    from sklearn.ensemble import HistGradientBoostingRegressor

MODELS = ("no-change", "rolling-mean", "gbt")
HORIZONS = (1, 2, 3)
LAGS = 12
SEED = 0


def features(
    fatalities: np.ndarray, events: np.ndarray, months: Sequence[int], t: int
) -> np.ndarray:
    """Features of every key at month index t (using months up to and including t)."""
    y = np.log1p(fatalities[:, : t + 1].astype(float))
    e = np.log1p(events[:, : t + 1].astype(float))
    lags = [y[:, t - k] for k in range(LAGS)]
    event_lags = [e[:, t - k] for k in range(3)]
    means = [y[:, t - w + 1 : t + 1].mean(axis=1) for w in (3, 6, 12)]
    since = np.full(y.shape[0], float(LAGS))
    for k in range(LAGS - 1, -1, -1):
        since = np.where(fatalities[:, t - k] > 0, float(k), since)
    month = months[t]
    season = [
        np.full(y.shape[0], np.sin(2 * np.pi * month / 12)),
        np.full(y.shape[0], np.cos(2 * np.pi * month / 12)),
    ]
    return np.column_stack(lags + event_lags + means + [since] + season)


def _month_numbers(series: Series) -> list[int]:
    return [m.month - 1 for m in series.months]


@dataclass
class Forecaster:
    """The three forecasters, fitted on months before ``origin`` (an index into the series)."""

    series: Series
    origin: int
    models: dict[int, HistGradientBoostingRegressor] = field(default_factory=dict)

    def fit(self) -> Forecaster:
        # Imported here: scikit-learn takes a third of a second to import, which every CLI
        # command and test process would pay without ever fitting a model.
        from sklearn.ensemble import HistGradientBoostingRegressor

        f, e = self.series.fatalities, self.series.events
        months = _month_numbers(self.series)
        for h in HORIZONS:
            rows, targets = [], []
            for t in range(LAGS - 1, self.origin - h):
                rows.append(features(f, e, months, t))
                targets.append(np.log1p(f[:, t + h].astype(float)))
            if not rows:
                continue
            model = HistGradientBoostingRegressor(
                max_iter=120, learning_rate=0.08, max_leaf_nodes=15, random_state=SEED
            )
            model.fit(np.vstack(rows), np.concatenate(targets))
            self.models[h] = model
        return self

    def predict(self, model: str, h: int) -> np.ndarray:
        """log1p(fatalities) expected at origin - 1 + h for every key."""
        f = self.series.fatalities
        last = self.origin - 1
        y = np.log1p(f[:, : last + 1].astype(float))
        predicted: np.ndarray
        if model == "no-change" or (model == "gbt" and h not in self.models):
            predicted = y[:, last]
        elif model == "rolling-mean":
            predicted = y[:, last - 11 : last + 1].mean(axis=1)
        else:
            x = features(f, self.series.events, _month_numbers(self.series), last)
            predicted = np.maximum(self.models[h].predict(x), 0.0)
        return predicted


@dataclass(frozen=True)
class Score:
    model: str
    horizon: int
    mse_log1p: float
    poisson_deviance: float
    skill: float  # 1 - MSE / MSE(no-change), same cells
    cells: int


def poisson_deviance(observed: np.ndarray, expected: np.ndarray) -> float:
    mu = np.maximum(expected, 1e-9)
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.where(observed > 0, observed * np.log(observed / mu), 0.0)
    return float(np.mean(2 * (term - (observed - mu))))


@dataclass
class Backtest:
    origins: list[int]
    scores: list[Score]

    def score(self, model: str, horizon: int) -> Score:
        return next(s for s in self.scores if s.model == model and s.horizon == horizon)


def backtest(series: Series, *, origins: int = 12, step: int = 3) -> Backtest:
    """Rolling origins over the last months of the series: at each, fit on what came before
    and forecast 1-3 months ahead; every model is scored on the same cells."""
    months = len(series.months)
    last_origin = months - max(HORIZONS)
    chosen = [last_origin - step * i for i in range(origins)][::-1]
    chosen = [o for o in chosen if o > LAGS + 24]
    if not chosen:
        raise ValueError("too short a series to backtest: at least 40 months are needed")
    predictions: dict[tuple[str, int], list[np.ndarray]] = {}
    truths: dict[int, list[np.ndarray]] = {}
    for origin in chosen:
        fitted = Forecaster(series, origin).fit()
        for h in HORIZONS:
            truths.setdefault(h, []).append(series.fatalities[:, origin - 1 + h].astype(float))
            for model in MODELS:
                predictions.setdefault((model, h), []).append(fitted.predict(model, h))
    scores = []
    for h in HORIZONS:
        truth = np.concatenate(truths[h])
        log_truth = np.log1p(truth)
        base = float(np.mean((np.concatenate(predictions[("no-change", h)]) - log_truth) ** 2))
        for model in MODELS:
            predicted = np.concatenate(predictions[(model, h)])
            mse = float(np.mean((predicted - log_truth) ** 2))
            scores.append(
                Score(
                    model=model,
                    horizon=h,
                    mse_log1p=round(mse, 4),
                    poisson_deviance=round(poisson_deviance(truth, np.expm1(predicted)), 4),
                    skill=round(1 - mse / base, 4) if base > 0 else 0.0,
                    cells=int(truth.size),
                )
            )
    return Backtest(chosen, scores)


@dataclass(frozen=True)
class Forecast:
    key: str
    horizon: int
    fatalities: float
    model: str
    skill: float
    mse_log1p: float


def forecast(series: Series, test: Backtest, model: str = "gbt") -> list[Forecast]:
    """Forecasts from the end of the series, each with its model's backtest score at that
    horizon."""
    fitted = Forecaster(series, len(series.months)).fit()
    out = []
    for h in HORIZONS:
        score = test.score(model, h)
        values = np.expm1(fitted.predict(model, h))
        out += [
            Forecast(key, h, round(float(v), 2), model, score.skill, score.mse_log1p)
            for key, v in zip(series.keys, values, strict=True)
        ]
    return out
