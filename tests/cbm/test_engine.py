"""The CBM engine as properties, on a rule set of the tests' own and on the shipped ones."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from indivisible.cbm import engine
from indivisible.cbm.engine import Activity, Outcome, Topic
from indivisible.cbm.geography import Area
from indivisible.cbm.ruleset import ActivityKind, Category, RuleSet, load_shipped, parse_text

# Almaty region, Kazakhstan: some 30 km from the Chinese border.
NEAR_BORDER = (80.0, 44.5)
# Astana: far from any border with China.
FAR_AWAY = (71.45, 51.17)

RULES = """
format: indivisible-cbm/1
code: TEST-NOTIFY
agreement: SHANGHAI-CBM-1996
version: 1
title: {en: Test regime}
sources: {text: {title: A test text, accessed: "2026-11-23"}}
area:
  kind: border-zone
  depth_km: {value: 100, cite: "§1", source: text}
  borders: [[CHN, KAZ]]
  cite: "§1"
  source: text
activities: [exercise]
notification:
  - id: p-2
    cite: "§2"
    source: text
    activities: [exercise]
    trigger:
      any_of:
        - {category: personnel, at_least: {value: 9000, cite: "§2.1", source: text}}
        - {category: battle-tanks, at_least: {value: 250, cite: "§2.2", source: text}}
    notice_days: {value: 42, cite: "§3", source: text}
observation:
  - id: p-4
    cite: "§4"
    source: text
    trigger:
      any_of:
        - {category: personnel, at_least: {value: 13000, cite: "§4", source: text}}
    obligation: invite
    invitation_days_before: {value: 42, cite: "§4", source: text}
    max_observers: {value: 2, cite: "§4", source: text}
constraints:
  - id: p-5
    cite: "§5"
    source: text
    trigger:
      any_of:
        - {category: personnel, at_least: {value: 40000, cite: "§5", source: text}}
    max_activities: {value: 1, cite: "§5", source: text}
    period_years: 3
"""


def rules() -> RuleSet:
    parsed, problems = parse_text(RULES, "test")
    assert parsed is not None, problems
    return parsed


def activity(
    personnel: int = 0, tanks: int = 0, notified_days_ahead: int = 60, where: Any = NEAR_BORDER
) -> Activity:
    start = date(2026, 6, 1)
    return Activity(
        state="KAZ",
        kind=ActivityKind.exercise,
        start=start,
        end=start + timedelta(days=10),
        area=Area.circle(*where),
        forces={Category.personnel: personnel, Category.battle_tanks: tanks},
        notified_on=start - timedelta(days=notified_days_ahead),
    )


def outcome(findings: list[engine.Finding], topic: Topic) -> Outcome | None:
    return next((f.outcome for f in findings if f.topic is topic), None)


def test_a_late_over_threshold_exercise_explains_itself() -> None:
    findings = engine.check(rules(), activity(personnel=9500, notified_days_ahead=30))
    assert outcome(findings, Topic.area) is Outcome.inside
    late = next(f for f in findings if f.topic is Topic.notification)
    assert late.outcome is Outcome.late
    assert late.params == {
        "cite": "§3",
        "required": 42,
        "ahead": 30,
        "deadline": "2026-04-20",
        "threshold": "9,000",
        "late": 12,
    }
    assert (
        late.message.format(**late.params)
        == "§3: notified 30 days ahead, 42 required: 12 days late."
    )


def test_small_or_distant_activities_need_no_notification() -> None:
    assert outcome(engine.check(rules(), activity(personnel=8999)), Topic.notification) is (
        Outcome.not_required
    )
    far = engine.check(rules(), activity(personnel=50000, where=FAR_AWAY))
    assert [f.topic for f in far] == [Topic.area] and far[0].outcome is Outcome.outside


def test_observers_are_due_above_their_threshold() -> None:
    findings = engine.check(rules(), activity(personnel=13000))
    observation = next(f for f in findings if f.topic is Topic.observation)
    assert observation.outcome is Outcome.invite and observation.params["observers"] == 2


def test_unknown_thresholds_are_reported_not_guessed() -> None:
    data = yaml.safe_load(RULES)
    data["notification"][0]["trigger"]["any_of"][0]["at_least"] = {
        "unknown": True,
        "cite": "§2.1",
        "source": "text",
    }
    parsed = RuleSet.model_validate(data)
    # Below the known tank threshold, and the personnel one unknown: undecided.
    small = engine.check(parsed, activity(personnel=50000, tanks=10))
    assert outcome(small, Topic.notification) is Outcome.unknown
    # Above the known one: required whatever the unknown says.
    big = engine.check(parsed, activity(personnel=50000, tanks=300))
    assert outcome(big, Topic.notification) in (Outcome.on_time, Outcome.late)


forces = st.integers(min_value=0, max_value=100_000)
tanks = st.integers(min_value=0, max_value=2_000)
ahead = st.integers(min_value=-30, max_value=400)
REQUIRED = {Outcome.on_time, Outcome.late, Outcome.required}


@settings(max_examples=200, deadline=None)
@given(personnel=forces, more=forces, tank=tanks, more_tanks=tanks, days=ahead)
def test_more_forces_never_make_a_notification_unnecessary(
    personnel: int, more: int, tank: int, more_tanks: int, days: int
) -> None:
    before = outcome(engine.check(rules(), activity(personnel, tank, days)), Topic.notification)
    after = outcome(
        engine.check(rules(), activity(personnel + more, tank + more_tanks, days)),
        Topic.notification,
    )
    if before in REQUIRED:
        assert after in REQUIRED


@settings(max_examples=200, deadline=None)
@given(personnel=forces, days=ahead, later=st.integers(min_value=0, max_value=100))
def test_a_later_filing_is_never_more_on_time(personnel: int, days: int, later: int) -> None:
    def lateness(ahead_days: int) -> int:
        found = engine.check(rules(), activity(personnel, 0, ahead_days))
        note = next((f for f in found if f.topic is Topic.notification), None)
        return int(note.params.get("late", 0)) if note is not None else 0

    assert lateness(days - later) >= lateness(days)


@settings(max_examples=100, deadline=None)
@given(
    personnel=forces,
    tank=tanks,
    days=ahead,
    lon=st.floats(78.0, 88.0),
    lat=st.floats(42.0, 48.0),
)
def test_the_same_inputs_always_give_the_same_findings(
    personnel: int, tank: int, days: int, lon: float, lat: float
) -> None:
    for rule_set in [rules(), *load_shipped()]:
        first = engine.check(rule_set, activity(personnel, tank, days, (lon, lat)))
        assert first == engine.check(rule_set, activity(personnel, tank, days, (lon, lat)))


def test_the_1996_agreement_asks_for_observers_at_35000_and_says_what_it_cannot_decide() -> None:
    shanghai = next(r for r in load_shipped() if r.code == "SHANGHAI-CBM-1996")
    findings = engine.check(shanghai, activity(personnel=36000))
    observations = {f.rule: f.outcome for f in findings if f.topic is Topic.observation}
    assert observations == {
        "art-6.1": Outcome.invite,
        "art-6.2": Outcome.invite,
        "art-6.3": Outcome.voluntary,
    }
    assert any(f.topic is Topic.gap and f.cite == "Arts. 2-5" for f in findings)
    assert all(f.topic is not Topic.notification for f in findings)


def test_constraints_count_the_activity_with_the_earlier_ones() -> None:
    big = activity(personnel=41000)
    first = engine.constraints(rules(), big, {})
    assert [(f.rule, f.outcome) for f in first] == [("p-5", Outcome.within)]
    second = engine.constraints(rules(), big, {"p-5": 1})
    assert second[0].outcome is Outcome.exceeded
    assert second[0].message.format(**second[0].params) == (
        "§5: activity 2 of its size in 3 year(s), 1 allowed: constraint broken."
    )
    # Below the constraint's trigger it does not count at all.
    assert engine.constraints(rules(), activity(personnel=39999), {"p-5": 5}) == []


@settings(max_examples=100, deadline=None)
@given(personnel=st.integers(0, 100_000), earlier=st.integers(0, 10), more=st.integers(0, 10))
def test_more_earlier_activities_never_unbreak_a_constraint(
    personnel: int, earlier: int, more: int
) -> None:
    before = engine.constraints(rules(), activity(personnel=personnel), {"p-5": earlier})
    after = engine.constraints(rules(), activity(personnel=personnel), {"p-5": earlier + more})
    if before and before[0].outcome is Outcome.exceeded:
        assert after[0].outcome is Outcome.exceeded


def test_a_required_notification_without_its_required_content_says_what_it_lacks() -> None:
    data = yaml.safe_load(RULES)
    data["notification"][0]["content"] = ["purpose", "observers-invited"]
    parsed, problems = parse_text(yaml.safe_dump(data), "test")
    assert parsed is not None, problems
    findings = engine.check(parsed, activity(personnel=10000))
    lacking = [f for f in findings if f.outcome is Outcome.incomplete]
    assert [f.message.format(**f.params) for f in lacking] == [
        "§2: the notification lacks required content: purpose, observers-invited."
    ]
    # Below the threshold nothing is required, so nothing is lacking either.
    assert not [
        f for f in engine.check(parsed, activity(personnel=100)) if f.outcome is Outcome.incomplete
    ]
