"""The fast JSON path parses and writes what the standard library does, and falls back to it."""

from __future__ import annotations

import json
import math

from hypothesis import given
from hypothesis import strategies as st

from indivisible import jsonio

documents = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(documents)
def test_what_is_written_reads_back_as_the_same_value(value: object) -> None:
    text = jsonio.dumps(value)
    assert json.loads(text) == value
    assert jsonio.loads(text) == value


@given(documents)
def test_text_is_compact_and_keeps_non_ascii_as_the_standard_library_does(value: object) -> None:
    # Floats may be spelled differently (1e+16 against 1e16); their values are the same.
    if not _has_float(value):
        assert jsonio.dumps(value) == json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _has_float(value: object) -> bool:
    if isinstance(value, float):
        return True
    if isinstance(value, list):
        return any(_has_float(v) for v in value)
    if isinstance(value, dict):
        return any(_has_float(v) for v in value.values())
    return False


def test_what_only_the_standard_library_takes_still_goes_through() -> None:
    big = 2**80
    assert jsonio.loads(str(big)) == big
    assert jsonio.dumps({"n": big}) == '{"n":' + str(big) + "}"
    assert math.isnan(jsonio.loads('{"x": NaN}')["x"])
    lone = jsonio.loads('"\\ud800"')
    assert lone == "\ud800"
    assert jsonio.dumps(lone) == json.dumps(lone, ensure_ascii=False)


def test_broken_json_fails_as_the_standard_library_fails() -> None:
    for broken in (b"{", b'{"a": }', b"\xff\xfe", b"[" * 100_000):
        try:
            jsonio.loads(broken)
        except (ValueError, RecursionError):
            continue
        raise AssertionError(f"{broken[:10]!r} was accepted")
