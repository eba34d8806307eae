"""Properties of the measures computed from a crisis record, on generated records whose
contingents take their steps in the only order the platform accepts."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from indivisible.crisis.measures import (
    ContingentRecord,
    CrisisRecord,
    PledgeRecord,
    StepRecord,
    compute,
)
from indivisible.crisis.schemas import Step

DECIDED = datetime(2022, 1, 5, 22, 0, tzinfo=UTC)
ORDER = (Step.departed, Step.arrived, Step.task_taken_over, Step.withdrawal_started, Step.home)
STATES = ("ARM", "BLR", "KGZ", "RUS", "TJK")


@st.composite
def contingents(draw: st.DrawFn, state: str | None = None) -> ContingentRecord:
    """A contingent some way along its steps, each after the last."""
    reached = draw(st.integers(min_value=0, max_value=len(ORDER)))
    at = DECIDED
    steps = []
    for kind in ORDER[:reached]:
        at += timedelta(minutes=draw(st.integers(min_value=0, max_value=5 * 24 * 60)))
        task = 1 if kind is Step.task_taken_over else None
        steps.append(StepRecord(kind, at, task, draw(st.sampled_from([0, 60, 720]))))
    low = draw(st.none() | st.integers(min_value=0, max_value=3000))
    high = None if low is None else low + draw(st.integers(min_value=0, max_value=500))
    return ContingentRecord(state or draw(st.sampled_from(STATES)), low, high, tuple(steps))


@st.composite
def records(draw: st.DrawFn) -> CrisisRecord:
    return CrisisRecord(
        crisis=1,
        affected_state="KAZ",
        organisation="CSTO",
        requested_at=DECIDED - timedelta(hours=draw(st.integers(min_value=0, max_value=72))),
        decided_at=DECIDED,
        eligible=frozenset(STATES),
        in_favour=frozenset(draw(st.sets(st.sampled_from(STATES)))),
        tasks={1: "Protect the airport"},
        pledges=tuple(
            PledgeRecord(s, lo, lo + 50)
            for s, lo in draw(
                st.dictionaries(st.sampled_from(STATES), st.integers(min_value=0, max_value=2000))
            ).items()
        ),
        contingents=tuple(draw(st.lists(contingents(), max_size=6))),
    )


@given(records(), st.randoms(use_true_random=False))
def test_the_measures_do_not_depend_on_the_order_of_the_record(
    record: CrisisRecord, shuffler: random.Random
) -> None:
    shuffled = list(record.contingents)
    shuffler.shuffle(shuffled)
    pledges = list(record.pledges)
    shuffler.shuffle(pledges)
    again = CrisisRecord(
        **{**record.__dict__, "contingents": tuple(shuffled), "pledges": tuple(pledges)}
    )
    assert compute(again) == compute(record)


@given(records())
def test_durations_follow_the_order_of_steps(record: CrisisRecord) -> None:
    m = compute(record)
    for span in (m.mission, m.withdrawal, m.operation, m.decision_to_first_arrival):
        assert span.minutes is None or span.minutes >= 0
    if m.decision_to_full_deployment.minutes is not None:
        assert m.decision_to_first_arrival.minutes is not None
        assert m.decision_to_full_deployment.minutes >= m.decision_to_first_arrival.minutes
    for share in (m.supported, m.pledged, m.deployed):
        assert 0 <= share.count <= share.of == len(STATES)
    if m.complete:
        assert all(c.steps and c.steps[-1].kind is Step.home for c in record.contingents)


@given(records(), contingents())
def test_a_contingent_still_on_its_way_means_not_yet_fully_deployed(
    record: CrisisRecord, late: ContingentRecord
) -> None:
    on_its_way = ContingentRecord(
        late.state, late.personnel_low, late.personnel_high, late.steps[:1]
    )
    with_it = CrisisRecord(**{**record.__dict__, "contingents": (*record.contingents, on_its_way)})
    before, after = compute(record), compute(with_it)
    assert after.decision_to_full_deployment.minutes is None
    assert after.decision_to_first_arrival == before.decision_to_first_arrival
    assert after.complete is False


@given(records())
def test_uncertainty_adds_up_from_both_ends(record: CrisisRecord) -> None:
    m = compute(record)
    arrivals = [
        (s.at, s.plus_minus) for c in record.contingents for s in c.steps if s.kind is Step.arrived
    ]
    if arrivals:
        first = min(arrivals)
        assert (
            m.decision_to_first_arrival.plus_minus_minutes == record.decided_plus_minus + first[1]
        )
    else:
        assert m.decision_to_first_arrival.minutes is None
