"""Forecasts and their rolling-origin backtest: reproducible, every model scored on the
same cells against the no-change baseline, and nothing from on or after an origin used to
forecast from it."""

from __future__ import annotations

import numpy as np
import pytest

from indivisible.warning import forecast, indicators, store, synthetic
from indivisible.warning.indicators import Series


@pytest.fixture(scope="module")
def series() -> Series:
    events = store.connect(":memory:")
    synthetic.write(events, synthetic.plan(40_000, months=72, seed=11), seed=11)
    return indicators.monthly(events)


def test_the_backtest_is_reproducible_and_fair(series: Series) -> None:
    first = forecast.backtest(series, origins=3, step=3)
    second = forecast.backtest(series, origins=3, step=3)
    assert first.scores == second.scores and first.origins == second.origins
    for h in forecast.HORIZONS:
        cells = {first.score(m, h).cells for m in forecast.MODELS}
        assert cells == {len(first.origins) * len(series.keys)}
        assert first.score("no-change", h).skill == 0.0
        for model in forecast.MODELS:
            assert first.score(model, h).mse_log1p >= 0


def test_nothing_on_or_after_the_origin_is_used(series: Series) -> None:
    origin = len(series.months) - 6
    future = series.fatalities.copy()
    future[:, origin:] *= 10
    changed = Series(series.keys, series.months, series.events, future, series.synthetic)
    a = forecast.Forecaster(series, origin).fit()
    b = forecast.Forecaster(changed, origin).fit()
    for model in forecast.MODELS:
        for h in forecast.HORIZONS:
            assert np.array_equal(a.predict(model, h), b.predict(model, h)), (model, h)


def test_a_forecast_carries_its_backtest_score(series: Series) -> None:
    scored = forecast.backtest(series, origins=2, step=3)
    made = forecast.forecast(series, scored)
    assert len(made) == len(series.keys) * len(forecast.HORIZONS)
    for f in made:
        assert f.fatalities >= 0
        assert f.skill == scored.score("gbt", f.horizon).skill


def test_too_short_a_series_is_refused() -> None:
    short = Series(("X",), (), np.zeros((1, 0), np.int64), np.zeros((1, 0), np.int64), False)
    with pytest.raises(ValueError, match="too short"):
        forecast.backtest(short)
