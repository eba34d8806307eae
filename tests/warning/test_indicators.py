"""Country-month and region-month indicators from the store, and the synthetic generator:
reproducible, marked synthetic, and never summed with real events unless asked."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np

from indivisible.warning import importers, indicators, store, synthetic
from indivisible.warning.models import Event

FIXTURES = Path(__file__).parent / "fixtures"


def event(source_id: str, day: date, country: str, fatalities: int) -> Event:
    return Event(
        source="test", source_id=source_id, event_date=day, date_precision="day",
        country=country, admin1=None, latitude=None, longitude=None, geo_precision=None,
        event_type="state-based", sub_event_type=None, actor1=None, actor2=None,
        fatalities_best=fatalities, fatalities_low=None, fatalities_high=None, notes=None,
    )  # fmt: skip


def test_series_are_dense_and_ratios_honest_about_zeros() -> None:
    events = store.connect(":memory:")
    store.add(
        events,
        [
            event("a", date(2020, 1, 5), "KGZ", 2),
            event("b", date(2020, 1, 9), "KGZ", 0),
            event("c", date(2020, 3, 1), "KGZ", 5),
            event("d", date(2021, 1, 2), "KGZ", 1),
            event("e", date(2020, 2, 2), "TJK", 3),
        ],
    )
    series = indicators.monthly(events)
    assert series.keys == ("KGZ", "TJK") and len(series.months) == 13
    kgz = series.index("KGZ")
    assert series.events[kgz].tolist()[:3] == [2, 0, 1]
    table = {(r.key, r.month): r for r in indicators.table(series)}
    # January 2021 against January 2020: 1 event against 2.
    assert table[("KGZ", date(2021, 1, 1))].events_year_on_year == 0.5
    # February 2020 had none: the ratio from it is not a number, not infinity.
    assert table[("KGZ", date(2020, 3, 1))].events_month_on_month is None
    assert table[("KGZ", date(2020, 3, 1))].events_mean_3 == 1.0
    region = indicators.monthly(events, ["KGZ", "TJK"], region="Central Asia")
    assert region.keys == ("Central Asia",)
    assert region.events.sum() == 5 and region.fatalities.sum() == 11


def test_the_synthetic_generator_is_reproducible_and_marked() -> None:
    planned = synthetic.plan(50_000, months=120, seed=3)
    assert planned.total == synthetic.plan(50_000, months=120, seed=3).total
    assert planned.total != synthetic.plan(50_000, months=120, seed=4).total
    assert 45_000 < planned.total < 55_000
    # Zero-inflation: quiet country-months exist; bursts were planted.
    assert (planned.counts == 0).mean() > 0.05 and planned.bursts
    first, second = store.connect(":memory:"), store.connect(":memory:")
    assert synthetic.write(first, planned, seed=3) == planned.total
    synthetic.write(second, planned, seed=3)
    a, b = indicators.monthly(first), indicators.monthly(second)
    assert np.array_equal(a.fatalities, b.fatalities) and a.synthetic
    marked = first.execute(
        "SELECT bool_and(synthetic), count(DISTINCT notes) FROM events"
    ).fetchone()
    assert marked == (True, 1)


def test_synthetic_events_are_not_summed_with_real_ones_unless_asked() -> None:
    events = store.connect(":memory:")
    importers.import_file(events, FIXTURES / "ged-slice.csv", "ged")
    synthetic.write(events, synthetic.plan(10_000, months=60, seed=1), seed=1)
    real = indicators.monthly(events)
    assert not real.synthetic and int(real.events.sum()) == 18
    fake = indicators.monthly(events, sources=["synthetic"])
    assert fake.synthetic and int(fake.events.sum()) > 9_000
    assert "Atlantis" not in real.keys
