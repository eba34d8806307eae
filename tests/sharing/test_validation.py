"""The fast validation path against the OASIS validator: it may doubt a valid object (the OASIS
validator then decides), but it must never accept one the OASIS validator refuses."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indivisible.sharing import validation
from tests.sharing.stixdata import TLP_GREEN, identity, indicator, malware, relationship, stix_id

VALID: list[dict[str, Any]] = [
    indicator(1, markings=[TLP_GREEN]),
    malware(1),
    relationship(1, stix_id("indicator", 1), stix_id("malware", 1)),
    identity(1),
    {
        "type": "attack-pattern",
        "spec_version": "2.1",
        "id": stix_id("attack-pattern", 1),
        "created": "2024-01-01T00:00:00.000Z",
        "modified": "2024-01-01T00:00:00.000Z",
        "name": "Spearphishing",
        "external_references": [
            {"source_name": "capec", "external_id": "CAPEC-163", "url": "https://capec.mitre.org/"}
        ],
        "kill_chain_phases": [{"kill_chain_name": "lockheed", "phase_name": "delivery"}],
    },
    {
        "type": "report",
        "spec_version": "2.1",
        "id": stix_id("report", 1),
        "created": "2024-01-01T00:00:00.000Z",
        "modified": "2024-01-02T00:00:00.000Z",
        "name": "Incident report",
        "published": "2024-01-02T00:00:00Z",
        "object_refs": [stix_id("indicator", 1)],
        "labels": ["incident"],
        "lang": "ru",
    },
    {
        "type": "vulnerability",
        "spec_version": "2.1",
        "id": stix_id("vulnerability", 1),
        "created": "2024-01-01T00:00:00.000Z",
        "modified": "2024-01-01T00:00:00.000Z",
        "name": "CVE-2024-0001",
    },
    {
        "type": "sighting",
        "spec_version": "2.1",
        "id": stix_id("sighting", 1),
        "created": "2024-01-01T00:00:00.000Z",
        "modified": "2024-01-01T00:00:00.000Z",
        "first_seen": "2024-01-01T00:00:00Z",
        "last_seen": "2024-01-02T00:00:00Z",
        "count": 3,
        "sighting_of_ref": stix_id("indicator", 1),
    },
    {
        "type": "ipv4-addr",
        "spec_version": "2.1",
        "id": stix_id("ipv4-addr", 1),
        "value": "198.51.100.7",
    },
    {
        "type": "domain-name",
        "spec_version": "2.1",
        "id": stix_id("domain-name", 1),
        "value": "example.com",
    },
    {
        "type": "url",
        "spec_version": "2.1",
        "id": stix_id("url", 1),
        "value": "https://example.com/a",
    },
    {
        "type": "file",
        "spec_version": "2.1",
        "id": stix_id("file", 1),
        "name": "dropper.exe",
        "hashes": {"SHA-256": "a" * 64},
    },
    {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": stix_id("marking-definition", 1),
        "created": "2024-01-01T00:00:00.000Z",
        "name": "Statement",
        "definition_type": "statement",
        "definition": {"statement": "Copyright"},
    },
    {
        "type": "x-indivisible-note",
        "spec_version": "2.1",
        "id": stix_id("x-indivisible-note", 1),
        "created": "2024-01-01T00:00:00.000Z",
        "modified": "2024-01-01T00:00:00.000Z",
        "x_text": "a custom object",
    },
]

ODD_VALUES: list[Any] = [
    None,
    0,
    -1,
    1.5,
    True,
    "",
    "x",
    "2024-02-30T00:00:00Z",
    "2024-13-01T00:00:00.000Z",
    "2023-01-01T00:00:00.000Z",
    "2024-01-01T24:00:00Z",
    "2024-01-01T00:00:60Z",
    "indicator--00000000-0000-0000-0000-000000000000",
    "not-a-ref",
    "[ipv4-addr:value = ",
    "https://",
    "not a url",
    "bad@",
    [],
    [1],
    ["x"],
    {},
    {"a": 1},
    {"SHA-256": "zz"},
]


def mutants(obj: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for name in obj:
        if name in ("type", "id"):
            continue
        without = copy.deepcopy(obj)
        del without[name]
        out.append(without)
        for value in ODD_VALUES:
            changed = copy.deepcopy(obj)
            changed[name] = value
            out.append(changed)
    for extra, value in (("Custom", 1), ("x", 1), ("lang", "not a language"), ("confidence", 101)):
        added = copy.deepcopy(obj)
        added[extra] = value
        out.append(added)
    return out


def oasis(obj: dict[str, Any]) -> list[str] | None:
    """The OASIS validator's errors, or None where it crashes (errors() reports those)."""
    try:
        return validation.oasis_errors(obj)
    except Exception:
        return None


def test_the_fast_path_accepts_the_valid_objects_itself() -> None:
    for obj in VALID:
        assert validation.oasis_errors(obj) == [], obj["type"]
        assert validation.errors(obj) == [], obj["type"]
        # Kinds with observable timestamps always go to the OASIS validator.
        if obj["type"] not in validation._SLOW_TYPES:
            assert validation._fast_accepts(obj), obj["type"]


@pytest.mark.parametrize("base", VALID, ids=[o["type"] for o in VALID])
def test_the_fast_path_never_accepts_what_the_oasis_validator_refuses(base: dict[str, Any]) -> None:
    refused = 0
    for mutant in mutants(base):
        verdict = oasis(mutant)
        if verdict != []:
            refused += 1
            assert not validation._fast_accepts(mutant), (mutant, verdict)
            assert validation.errors(mutant), mutant
            if verdict is not None:
                assert validation.errors(mutant) == verdict
    assert refused > 0


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


@settings(max_examples=300, deadline=None)
@given(
    base=st.sampled_from(VALID),
    name=st.sampled_from(
        [
            "name",
            "created",
            "modified",
            "pattern",
            "value",
            "object_refs",
            "hashes",
            "x_text",
            "valid_from",
            "count",
            "kill_chain_phases",
            "external_references",
            "labels",
            "spec_version",
        ]
    ),
    value=json_values,
)
def test_random_values_never_pass_the_fast_path_alone(
    base: dict[str, Any], name: str, value: Any
) -> None:
    mutant = copy.deepcopy(base)
    mutant[name] = value
    # Where the OASIS validator crashes (a bug in its checks, often in a mere SHOULD) there is
    # no verdict to compare with.
    if oasis(mutant):
        assert not validation._fast_accepts(mutant)
        assert validation.errors(mutant)


timestamps = st.builds(
    lambda y, mo, d, h, mi, s, fraction: (
        f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{s:02d}"
        + (f".{fraction}" if fraction else "")
        + "Z"
    ),
    st.integers(2000, 2030),
    st.integers(1, 13),
    st.integers(1, 31),
    st.integers(0, 23),
    st.integers(0, 59),
    st.integers(0, 60),
    st.one_of(st.just(""), st.text("0123456789", min_size=1, max_size=9)),
)


@settings(max_examples=300, deadline=None)
@given(created=timestamps, modified=timestamps, valid_from=timestamps, valid_until=timestamps)
def test_timestamp_order_is_judged_as_the_oasis_validator_does(
    created: str, modified: str, valid_from: str, valid_until: str
) -> None:
    obj = {
        **indicator(1),
        "created": created,
        "modified": modified,
        "valid_from": valid_from,
        "valid_until": valid_until,
    }
    # Same-shaped timestamps are compared as strings; the OASIS check parses them.
    if validation._fast_accepts(obj):
        assert validation.oasis_errors(obj) == []
    assert validation._timestamps_ordered(obj) == (
        not any("must be later" in e for e in validation.oasis_errors(obj))
    )
