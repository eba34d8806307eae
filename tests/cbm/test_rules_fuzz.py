"""Hostile rule-set files: any text, the shipped files damaged line by line or with YAML that
PyYAML itself chokes on (impossible dates, huge integers, list keys, deep nesting), values of
the wrong type anywhere, non-finite numbers, bytes that are not UTF-8. The parser answers each
with problems naming the file and the place (or a valid rule set); a node loading them stops
with a ValueError naming the file. Never another exception.

tests/cbm/test_ruleset.py damages the structure of a parsed file; this damages the text."""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from indivisible.cbm.ruleset import Cited, RuleSet, load_from, parse_text, shipped_paths
from indivisible.registry.datafile import Entry, FileProblem

# Derandomised so that CI tries the same files every run. Not shrunk: a failure names the
# file it was given, and shrinking deeply nested YAML would take minutes of CI.
FUZZ = settings(
    max_examples=150, deadline=None, derandomize=True, phases=[Phase.explicit, Phase.generate]
)
NAME = "fuzzed.yaml"
SHIPPED = {path.name: path.read_text(encoding="utf-8") for path in shipped_paths()}
MOSCOW = SHIPPED["moscow-1997.yaml"]
DOCUMENT = yaml.safe_load(MOSCOW)

# YAML that loads in PyYAML's own terms but used to escape as a bare exception, or that
# tries a loader's limits.
NASTY_YAML = [
    "? [a, b]\n: 1",
    "? {a: 1}\n: 1",
    "when: 2001-02-30",
    "when: 2001-02-29 25:61:00",
    "n: " + "9" * 5000,
    "deep: " + "[" * 3000 + "]" * 3000,
    "deep: " + "{a: " * 1500 + "1" + "}" * 1500,
    "a: &x [1]\nb: *x",
    "b: *undefined",
    "<<: {a: 1}",
    "x: !!binary '!!!'",
    "x: !!python/object/apply:os.system ['true']",
    "x: !!set {a, b}",
    "x: !!omap [1, 2]",
    "x: .nan",
    "x: -.inf",
    "x: 0x_",
    "x: 1_0:30",
    "\t",
    "\x00",
    "\ufeff",
    "%YAML 9.9\n---",
    "--- a\n--- b",
    "'unterminated",
    "{",
    "- list at the top",
]


def check(rules: RuleSet | None, problems: list[FileProblem], name: str = NAME) -> None:
    """What every answer of the parser must be."""
    assert (rules is None) == bool(problems)
    for problem in problems:
        assert problem.path == name and problem.location and problem.message, problem
    if rules is not None:
        assert all(math.isfinite(value) for value in cited_values(rules))


def cited_values(value: object) -> list[float]:
    found: list[float] = []
    if isinstance(value, Cited) and value.value is not None:
        found.append(value.value)
    if isinstance(value, Entry):
        for field in type(value).model_fields:
            found += cited_values(getattr(value, field))
    elif isinstance(value, list | tuple):
        for item in value:
            found += cited_values(item)
    elif isinstance(value, dict):
        for item in value.values():
            found += cited_values(item)
    return found


@FUZZ
@given(text=st.text(max_size=400))
def test_any_text_gets_problems_or_a_rule_set(text: str) -> None:
    check(*parse_text(text, NAME))


@FUZZ
@given(data=st.data())
def test_shipped_files_damaged_line_by_line_get_problems(data: st.DataObject) -> None:
    lines = data.draw(st.sampled_from(sorted(SHIPPED))).split("\n")
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(lines) - 1))
        action = data.draw(st.sampled_from(["drop", "repeat", "insert", "indent", "garble"]))
        if action == "drop":
            del lines[at]
        elif action == "repeat":
            lines.insert(at, lines[at])
        elif action == "insert":
            indent = len(lines[at]) - len(lines[at].lstrip(" "))
            snippet = data.draw(st.sampled_from(NASTY_YAML))
            lines[at:at] = [" " * indent + part for part in snippet.split("\n")]
        elif action == "indent":
            lines[at] = " " * data.draw(st.integers(0, 9)) + lines[at].lstrip(" ")
        else:
            cut = data.draw(st.integers(0, len(lines[at])))
            lines[at] = lines[at][:cut] + data.draw(st.text(max_size=5)) + lines[at][cut:]
        if not lines:
            break
    check(*parse_text("\n".join(lines), NAME))


_ODD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),  # with nan and both infinities
    st.text(max_size=12),
    st.dates(),
    st.datetimes(),
    st.lists(st.one_of(st.integers(), st.text(max_size=3)), max_size=3),
    st.dictionaries(st.one_of(st.text(max_size=4), st.integers()), st.integers(), max_size=3),
    st.recursive(st.integers(), lambda inner: st.lists(inner, max_size=2), max_leaves=30),
)


def _places(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _places(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _places(item, (*prefix, index))
    return found


@FUZZ
@given(data=st.data())
def test_values_of_any_type_anywhere_are_named(data: st.DataObject) -> None:
    """A value replaced, a key added or renamed anywhere in the file: the problem names a
    place in the file (or the YAML itself, or the file as a whole)."""
    document = copy.deepcopy(DOCUMENT)
    for _ in range(data.draw(st.integers(1, 3))):
        *parents, last = data.draw(st.sampled_from(_places(document)[1:]))
        parent = document
        for step in parents:
            parent = parent[step]
        action = data.draw(st.sampled_from(["replace", "add", "rename"]))
        if action == "replace":
            parent[last] = data.draw(_ODD_VALUES)
        elif action == "add" and isinstance(parent, dict):
            parent[data.draw(st.one_of(st.text(max_size=8), st.integers()))] = data.draw(
                _ODD_VALUES
            )
        elif action == "rename" and isinstance(parent, dict):
            parent[data.draw(st.text(min_size=1, max_size=8))] = parent.pop(last)
    text = yaml.safe_dump(document, allow_unicode=True)
    rules, problems = parse_text(text, NAME)
    check(rules, problems)
    fields = set(RuleSet.model_fields) | {str(key) for key in document}
    for problem in problems:
        assert problem.location in ("yaml", "file") or (problem.location.split(".")[0] in fields), (
            problem
        )


@pytest.fixture(scope="module")
def operator_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("rules")


@settings(FUZZ, max_examples=60)
@given(data=st.data())
def test_a_broken_operator_file_stops_the_load_naming_it(
    operator_dir: Path, data: st.DataObject
) -> None:
    """What the node does at start-up with INDIVISIBLE_CBM_RULES: the rule sets, or a
    ValueError naming the file; never another exception."""
    content = MOSCOW.replace("code: MOSCOW-REDUCTION-1997", "code: OPERATOR-1").encode()
    for _ in range(data.draw(st.integers(0, 4))):
        at = data.draw(st.integers(0, len(content)))
        patch = data.draw(st.one_of(st.binary(max_size=6), st.sampled_from([b"\xff", b"\x00"])))
        content = content[:at] + patch + content[at + data.draw(st.integers(0, 12)) :]
    path = operator_dir / "operator.yaml"
    path.write_bytes(content)
    outcome = _load([operator_dir])
    if isinstance(outcome, ValueError):
        assert str(path) in str(outcome)
    else:
        assert len(outcome) == len(SHIPPED) + 1


def _load(directories: list[Path]) -> list[RuleSet] | ValueError:
    try:
        return load_from(directories)
    except ValueError as refused:
        return refused


def test_what_the_fuzzing_found_is_refused_by_name(tmp_path: Path) -> None:
    """The inputs that escaped as bare exceptions, kept as plain examples."""
    for snippet, expected in [
        ("? [a, b]\n: 1", "a key may not be a list or a mapping"),
        ("format: 2001-02-30", "2001-02-30 cannot be read: day is out of range for month"),
        ("version: " + "9" * 5000, "cannot be read: Exceeds the limit"),
        ("a: " + "[" * 5000 + "]" * 5000, "nested too deeply to read"),
    ]:
        rules, problems = parse_text(snippet, NAME)
        assert rules is None and [p.location for p in problems] == ["yaml"], problems
        assert expected in problems[0].message, problems
    document = copy.deepcopy(DOCUMENT)
    document["area"]["depth_km"]["value"] = float("nan")
    _rules, problems = parse_text(yaml.safe_dump(document), NAME)
    assert [(p.location, p.message) for p in problems] == [
        ("area.depth_km.value", "Input should be a finite number")
    ]
    (tmp_path / "latin.yaml").write_bytes(MOSCOW.encode().replace(b"Moscow", b"Moscou \xe9"))
    with pytest.raises(ValueError, match=r"latin\.yaml: file: cannot be read: 'utf-8' codec"):
        load_from([tmp_path])
