"""The decision rule as properties (issue 5): consensus of the active members, computed."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from indivisible.crisis.rules import Position, Result, consensus

STATES = ["ARM", "BLR", "KAZ", "KGZ", "RUS", "TJK", "UZB"]
states = st.sampled_from(STATES)
positions = st.dictionaries(states, st.sampled_from(list(Position)), max_size=len(STATES))
eligible_sets = st.sets(states, min_size=1)


@given(positions, eligible_sets, states)
def test_a_member_in_favour_never_undoes_consensus(
    stated: dict[str, Position], eligible: set[str], newcomer: str
) -> None:
    before = consensus(stated, eligible)
    if before.result is Result.adopted and newcomer not in stated:
        after = consensus({**stated, newcomer: Position.in_favour}, eligible)
        assert after.result is Result.adopted


@given(positions, eligible_sets, states)
def test_one_eligible_member_against_blocks(
    stated: dict[str, Position], eligible: set[str], objector: str
) -> None:
    outcome = consensus({**stated, objector: Position.against}, eligible | {objector})
    assert outcome.result is Result.blocked
    assert objector in outcome.against


@given(positions, eligible_sets, states, st.sampled_from(list(Position)))
def test_the_position_of_a_state_not_active_on_the_date_does_not_count(
    stated: dict[str, Position], eligible: set[str], frozen: str, position: Position
) -> None:
    active = eligible - {frozen}
    without = {s: p for s, p in stated.items() if s != frozen}
    counted = consensus({**without, frozen: position}, active)
    assert counted.result is consensus(without, active).result
    assert frozen in counted.not_counted


@given(positions, eligible_sets, st.randoms())
def test_the_order_positions_arrive_in_does_not_matter(
    stated: dict[str, Position], eligible: set[str], rng: random.Random
) -> None:
    items = list(stated.items())
    rng.shuffle(items)
    assert consensus(dict(items), eligible) == consensus(stated, eligible)


def test_the_kazakhstan_decision_of_january_2022_as_reported() -> None:
    # Demonstration of the rule on the reported positions (no objection was reported).
    eligible = {"ARM", "BLR", "KAZ", "KGZ", "RUS", "TJK"}
    outcome = consensus(dict.fromkeys(eligible, Position.in_favour), eligible)
    assert outcome.result is Result.adopted and outcome.quorum_checked is False
    silent = consensus({"RUS": Position.in_favour}, eligible)
    assert silent.result is Result.adopted and "ARM" in silent.silent
    assert consensus({}, eligible).result is Result.not_adopted
