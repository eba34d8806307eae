"""Hostile scenario files: any text or bytes, the Kazakhstan file damaged line by line or with
YAML that PyYAML itself chokes on, values of the wrong type anywhere, steps dropped or moved
so that references dangle. Loading answers each with a Scenario or a ScenarioError that
names the file and the place; never another exception."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from indivisible.crisis import scenario as scenarios
from indivisible.crisis.scenario import Scenario, ScenarioError
from tests.cbm.test_rules_fuzz import NASTY_YAML

# Derandomised so that CI tries the same files every run; not shrunk, because a failure
# shows the file it was given and shrinking deeply nested YAML would take minutes.
FUZZ = settings(
    max_examples=100, deadline=None, derandomize=True, phases=[Phase.explicit, Phase.generate]
)
SHIPPED = scenarios.SCENARIOS / "kazakhstan-2022.yaml"
TEXT = SHIPPED.read_text(encoding="utf-8")
DOCUMENT = yaml.safe_load(TEXT)
NAME = "fuzzed.yaml"


@pytest.fixture(scope="module")
def path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Module-scoped: one file rewritten by every example.
    return tmp_path_factory.mktemp("scenarios") / NAME


def load(path: Path, content: bytes) -> Scenario | ScenarioError:
    path.write_bytes(content)
    try:
        outcome: Scenario | ScenarioError = scenarios.load(path)
    except ScenarioError as refused:
        outcome = refused
    if isinstance(outcome, ScenarioError):
        assert str(outcome).startswith(f"{NAME}: ") and str(outcome) != f"{NAME}: ", outcome
    return outcome


@FUZZ
@given(content=st.one_of(st.binary(max_size=500), st.text(max_size=500).map(str.encode)))
def test_any_bytes_load_or_are_refused_by_name(path: Path, content: bytes) -> None:
    load(path, content)


@FUZZ
@given(data=st.data())
def test_the_shipped_file_damaged_line_by_line_is_refused_by_name(
    path: Path, data: st.DataObject
) -> None:
    lines = TEXT.split("\n")
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
    load(path, "\n".join(lines).encode("utf-8", errors="surrogatepass"))


_ODD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=12),
    st.dates(),
    st.datetimes(),
    st.lists(st.one_of(st.integers(), st.text(max_size=3)), max_size=3),
    st.dictionaries(st.one_of(st.text(max_size=4), st.integers()), st.integers(), max_size=3),
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


# Each example dumps and loads the whole Kazakhstan file (50 steps): fewer of them.
@settings(FUZZ, max_examples=60)
@given(data=st.data())
def test_values_of_any_type_and_dangling_steps_are_named(path: Path, data: st.DataObject) -> None:
    """A value replaced or a key added anywhere, or steps dropped, repeated or moved (so
    that contingents, tasks and sources are named before they exist): the error names the
    place, as a field path or a step number."""
    document = copy.deepcopy(DOCUMENT)
    for _ in range(data.draw(st.integers(1, 3))):
        if data.draw(st.booleans()):
            steps = document["steps"]
            if not isinstance(steps, list) or len(steps) < 2:
                continue
            moved = steps.pop(data.draw(st.integers(0, len(steps) - 1)))
            if data.draw(st.booleans()):
                steps.insert(data.draw(st.integers(0, len(steps))), moved)
            continue
        *parents, last = data.draw(st.sampled_from(_places(document)[1:]))
        parent = document
        for step in parents:
            parent = parent[step]
        if data.draw(st.booleans()):
            parent[last] = data.draw(_ODD_VALUES)
        elif isinstance(parent, dict):
            parent[data.draw(st.one_of(st.text(max_size=8), st.integers()))] = data.draw(
                _ODD_VALUES
            )
    outcome = load(path, yaml.safe_dump(document, allow_unicode=True).encode())
    if isinstance(outcome, ScenarioError):
        detail = str(outcome).removeprefix(f"{NAME}: ")
        fields = set(Scenario.model_fields) | {str(key) for key in document} | {"file", "yaml"}
        for part in detail.split("; "):
            assert part.split(":")[0].split(".")[0] in fields, outcome


def test_what_the_fuzzing_found_is_refused_by_name(path: Path) -> None:
    """The inputs that escaped as bare exceptions, kept as plain examples."""
    for content, expected in [
        (b"code: 2022-02-30\n", "2022-02-30 cannot be read: day is out of range for month"),
        (b"code: " + b"9" * 5000, "cannot be read: Exceeds the limit"),
        (b"a: " + b"[" * 5000 + b"]" * 5000, "nested too deeply to read"),
        (b"? [a]\n: 1\n", "a key may not be a list or a mapping"),
        (TEXT.encode().replace(b"CSTO", b"\xff", 1), "'utf-8' codec can't decode byte 0xff"),
        # A repeated key would have dropped the first value silently.
        (TEXT.replace("code: kazakhstan-2022", "code: a\ncode: b", 1).encode(), "appears twice"),
    ]:
        outcome = load(path, content)
        assert isinstance(outcome, ScenarioError) and expected in str(outcome), outcome
