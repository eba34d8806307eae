"""The rule-set format and the shipped rule sets, checked against the agreements' own text."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from indivisible.cbm import geography
from indivisible.cbm.ruleset import (
    Category,
    RuleSet,
    load_from,
    load_shipped,
    parse_text,
    shipped_paths,
)
from indivisible.registry.datafile import data_paths, parse_files


@pytest.fixture(scope="module")
def shipped() -> dict[str, RuleSet]:
    return {rules.code: rules for rules in load_shipped()}


def test_every_shipped_rule_set_names_a_registry_agreement_and_mapped_borders(
    shipped: dict[str, RuleSet],
) -> None:
    agreements = {
        a.code for _name, data in parse_files(data_paths()).files for a in data.agreements
    }
    assert set(shipped) >= {"SHANGHAI-CBM-1996", "MOSCOW-REDUCTION-1997"}
    for rules in shipped.values():
        assert rules.agreement in agreements
        for a, b in rules.area.borders:
            assert not geography.border(a, b).is_empty, (rules.code, a, b)


# Golden values: (rule set, where in the file, value, the citation the text gives).
def test_shanghai_1996_numbers_are_the_texts(shipped: dict[str, RuleSet]) -> None:
    rules = shipped["SHANGHAI-CBM-1996"]
    assert rules.area.depth_km is not None
    assert (rules.area.depth_km.value, rules.area.depth_km.cite[:8]) == (100, "Art. 6.1")
    observation = {rule.id: rule for rule in rules.observation}
    # Art. 6.1: observers invited to exercises of 35,000 personnel or more.
    assert observation["art-6.1"].trigger.any_of[0].at_least.value == 35000
    assert observation["art-6.1"].trigger.any_of[0].at_least.cite == "Art. 6.1"
    # Art. 6.2: 25,000, mutual invitation.
    assert observation["art-6.2"].trigger.any_of[0].at_least.value == 25000
    assert observation["art-6.2"].obligation == "mutual-invite"
    # Art. 6.3: 13,000 personnel or 300 battle tanks, voluntarily, beyond the zone too.
    art63 = {t.category: t.at_least for t in observation["art-6.3"].trigger.any_of}
    assert (art63[Category.personnel].value, art63[Category.battle_tanks].value) == (13000, 300)
    assert observation["art-6.3"].beyond_area and observation["art-6.3"].obligation == "voluntary"
    # Art. 6.4: invitation 30 days ahead, reply 10 days before arrival; Art. 6.5: 6 observers.
    invite = observation["art-6.1"]
    assert invite.invitation_days_before is not None and invite.max_observers is not None
    assert (invite.invitation_days_before.value, invite.invitation_days_before.cite) == (
        30,
        "Art. 6.4",
    )
    assert invite.reply_days_before_arrival is not None
    assert invite.reply_days_before_arrival.value == 10
    assert (invite.max_observers.value, invite.max_observers.cite) == (6, "Art. 6.5")
    # Art. 9: replies to inquiries within 7 days, 2 when urgent.
    assert rules.clarification is not None
    assert rules.clarification.reply_days is not None and rules.clarification.urgent_reply_days
    assert (rules.clarification.reply_days.value, rules.clarification.urgent_reply_days.value) == (
        7,
        2,
    )
    # What was not read is declared, not invented.
    assert not rules.notification
    assert any(gap.cite == "Arts. 2-5" for gap in rules.gaps)


def test_moscow_1997_ceilings_are_the_texts(shipped: dict[str, RuleSet]) -> None:
    rules = shipped["MOSCOW-REDUCTION-1997"]
    limits = {
        (c.side, c.sector, c.category): (c.limit.value, c.limit.cite, c.limit.status)
        for c in rules.ceilings
    }
    for side in ("china", "joint-party"):
        # Art. 5.1: personnel of ground forces, air force and air-defence aviation.
        assert limits[(side, None, Category.personnel)] == (130400, "Art. 5.1", "verified")
        assert limits[(side, "east", Category.personnel)][0] == 119400
        assert limits[(side, "west", Category.personnel)][0] == 11000
        # Art. 5.2: border troops.
        assert limits[(side, None, Category.border_troops)] == (55000, "Art. 5.2", "verified")
        assert limits[(side, "east", Category.border_troops)][0] == 38500
        assert limits[(side, "west", Category.border_troops)][0] == 16500
        # Tanks only from a secondary summary, and marked so.
        assert limits[(side, None, Category.battle_tanks)] == (3900, "Art. 6", "secondary")
    quotas = {q.id: q for q in rules.quotas}
    assert quotas["verification-ii-reduction"].per_year.value == 3
    assert quotas["verification-ii-after"].per_year.value == 2


def _minimal() -> dict[str, Any]:
    return {
        "format": "indivisible-cbm/1",
        "code": "TEST-1",
        "agreement": "SHANGHAI-CBM-1996",
        "version": 1,
        "title": {"en": "Test"},
        "sources": {"text": {"title": "The text", "accessed": "2026-11-23"}},
        "area": {
            "kind": "border-zone",
            "depth_km": {"value": 100, "cite": "Art. 1", "source": "text"},
            "borders": [["CHN", "KAZ"]],
            "cite": "Art. 1",
            "source": "text",
        },
        "activities": ["exercise"],
        "notification": [
            {
                "id": "art-2",
                "cite": "Art. 2",
                "source": "text",
                "activities": ["exercise"],
                "trigger": {
                    "any_of": [
                        {
                            "category": "personnel",
                            "at_least": {"value": 9000, "cite": "Art. 2", "source": "text"},
                        }
                    ]
                },
                "notice_days": {"value": 42, "cite": "Art. 3", "source": "text"},
            }
        ],
    }


def _problems(data: dict[str, Any]) -> list[str]:
    rules, problems = parse_text(yaml.safe_dump(data), "test.yaml")
    assert (rules is None) == bool(problems)
    return [f"{p.location}: {p.message}" for p in problems]


def test_a_minimal_rule_set_parses() -> None:
    assert _problems(_minimal()) == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda d: d["notification"][0]["notice_days"].pop("cite"),
            "notification.0.notice_days.cite",
        ),
        (
            lambda d: d["notification"][0].update(deadline=3),
            "notification.0.deadline: Extra inputs",
        ),
        (lambda d: d["area"]["depth_km"].update(unknown=True), "give a value, or unknown"),
        (lambda d: d["area"]["depth_km"].pop("value"), "give a value, or unknown"),
        (
            lambda d: d["notification"][0]["trigger"]["any_of"][0]["at_least"].update(value=-1),
            "never negative",
        ),
        (lambda d: d["area"]["depth_km"].update(source="elsewhere"), "elsewhere"),
        (lambda d: d["area"].update(kind="border-zone", borders=[]), "needs depth_km and borders"),
        (lambda d: d.update(format="indivisible-cbm/2"), "format"),
        (
            lambda d: d["notification"][0]["trigger"]["any_of"][0].update(category="spearmen"),
            "category",
        ),
        (lambda d: d["notification"][0].update(content=["colour"]), "notification.0.content.0"),
        (
            lambda d: d.update(
                annual_exchange={"id": "x", "cite": "§9", "source": "text", "due": "02-30"}
            ),
            "not a day of every year",
        ),
        (
            lambda d: d.update(
                annual_exchange={
                    "id": "x",
                    "cite": "§9",
                    "source": "text",
                    "due": "12-15",
                    "year_offset": 1,
                }
            ),
            "annual_exchange.year_offset",
        ),
    ],
)
def test_bad_rule_sets_are_refused_naming_the_field_and_rule(change: Any, expected: str) -> None:
    data = _minimal()
    change(data)
    problems = _problems(data)
    assert problems and any(expected in p for p in problems), problems


def test_a_repeated_key_or_broken_yaml_is_refused() -> None:
    _rules, problems = parse_text("format: a\nformat: b\n", "x.yaml")
    assert problems and "appears twice" in problems[0].message
    _rules, problems = parse_text("format: [", "x.yaml")
    assert problems and problems[0].location == "yaml"


def test_operator_directories_add_regimes_and_a_broken_file_stops_the_load(
    tmp_path: Path,
) -> None:
    shanghai = next(p for p in shipped_paths() if p.name == "shanghai-1996.yaml").read_text()
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "copy.yaml").write_text(shanghai.replace("code: SHANGHAI-CBM-1996", "code: COPY-1"))
    assert "COPY-1" in {r.code for r in load_from([extra])}
    # The same code twice is refused, naming the second file.
    (extra / "twice.yaml").write_text(shanghai)
    with pytest.raises(ValueError, match=r"twice\.yaml.*SHANGHAI-CBM-1996"):
        load_from([extra])
    (extra / "twice.yaml").unlink()
    (extra / "broken.yaml").write_text(shanghai.replace('cite: "Art. 9"\n', "", 1))
    with pytest.raises(ValueError, match=r"broken\.yaml"):
        load_from([extra])
    with pytest.raises(ValueError, match="no such directory"):
        load_from([tmp_path / "absent"])


_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**6), max_value=10**6),
    st.floats(allow_nan=False),
    st.text(max_size=10),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_any_damaged_rule_set_gets_problems_never_an_exception(data: st.DataObject) -> None:
    """The parser answers every damaged file with named problems (or a valid rule set)."""
    document = yaml.safe_load(
        next(p for p in shipped_paths() if p.name == "moscow-1997.yaml").read_text()
    )
    paths = _paths(document)
    for _ in range(data.draw(st.integers(min_value=1, max_value=4))):
        path = data.draw(st.sampled_from(paths))
        parent = document
        for step in path[:-1]:
            parent = parent[step] if isinstance(parent, (dict, list)) else None
            if parent is None:
                break
        if isinstance(parent, dict) and path[-1] in parent:
            if data.draw(st.booleans()):
                del parent[path[-1]]
            else:
                parent[path[-1]] = data.draw(_values)
        elif isinstance(parent, list) and isinstance(path[-1], int) and path[-1] < len(parent):
            parent[path[-1]] = data.draw(_values)
        paths = _paths(document)
        if not paths:
            break
    rules, problems = parse_text(yaml.safe_dump(document, allow_unicode=True), "fuzzed.yaml")
    assert (rules is None) == bool(problems)
    assert all(p.location and p.message for p in problems)
