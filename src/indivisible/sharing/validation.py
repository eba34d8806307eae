"""STIX 2.1 validation by the OASIS rules, fast enough for bulk ingestion.

``stix2-validator`` takes about 10 ms an object on this hardware: its JSON Schema layer
re-resolves every ``$ref`` on every call and its timestamp check parses dates with dateutil.
Ingesting a 25,000-object ATT&CK release that way takes minutes. So each object goes through a
fast path first, built from the OASIS validator's own parts:

- the same JSON Schema files (shipped inside ``stix2validator``), compiled once with
  ``jsonschema-rs``, formats checked;
- the same "MUST" checks (``stix2validator.v21.musts``), except that the timestamp check parses
  with ``datetime`` instead of dateutil, for the properties the OASIS check reads, and the
  timestamp order check compares same-shaped timestamps as strings (the same order).

Only an object the fast path accepts is accepted on its word. Anything it doubts, and any kind of
object it does not cover (observed-data with embedded observables, SCOs with timestamps), goes
to the full OASIS validator, whose verdict and messages are final. The fast path may therefore be
stricter than the OASIS validator, never more lenient; ``tests/sharing/test_validation.py``
compares the two on valid and broken objects.
"""

from __future__ import annotations

import copy
import inspect
import json
import logging
import re
from collections.abc import Iterable
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema_rs
import stix2validator
from stix2validator import ValidationOptions, validate_instance
from stix2validator.v21 import enums, musts

logger = logging.getLogger(__name__)

OPTIONS = ValidationOptions(version="2.1", strict=False)
SCHEMAS = Path(stix2validator.__file__).parent / "schemas-2.1" / "schemas"
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,249}--[0-9a-fA-F-]{36}$")
# Kinds of object whose timestamps the OASIS check looks for inside embedded observables.
_SLOW_TYPES = frozenset({"observed-data", *enums.TIMESTAMP_OBSERVABLE_PROPERTIES})


def _timestamp_must(instance: dict[str, Any]) -> list[str]:
    """The OASIS ``timestamp`` check for an object's own timestamp properties: a value that
    matches the STIX timestamp format must also be a real date and time."""
    problems = []
    names = ["created", "modified", *enums.TIMESTAMP_PROPERTIES.get(instance.get("type"), [])]
    for name in names:
        if name not in instance:
            continue
        value = instance[name]
        if not isinstance(value, str):
            # The OASIS check fails on these (it cannot match its pattern against them).
            problems.append(f"'{name}' is not a timestamp string")
        elif musts.TIMESTAMP_FORMAT_RE.match(value):
            try:
                datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError as exc:
                problems.append(f"'{name}': '{value}' is not a valid timestamp: {exc}")
    return problems


# Timestamps of one shape (same length, STIX format): the string order is the time order, so
# the OASIS comparison (two strptime calls per pair, the slowest MUST check) can be skipped.
_SAME_SHAPE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?Z$")


def _timestamps_ordered(instance: dict[str, Any]) -> bool:
    """The OASIS ``timestamp_compare`` check (e.g. ``modified`` not before ``created``)."""
    pairs = [("modified", "ge", "created"), *enums.TIMESTAMP_COMPARE.get(instance["type"], [])]
    for first, op, second in pairs:
        if first not in instance or second not in instance:
            continue
        a, b = instance[first], instance[second]
        if (
            isinstance(a, str)
            and isinstance(b, str)
            and len(a) == len(b)
            and _SAME_SHAPE.match(a)
            and _SAME_SHAPE.match(b)
        ):
            ordered = a >= b if op == "ge" else a > b
        else:
            ordered = musts.compare(a, op, b)
        if not ordered:
            return False
    return True


_OTHER_MUSTS = [
    check
    for check in musts.list_musts(OPTIONS)
    if check not in (musts.timestamp, musts.timestamp_compare)
]
# Each check with the arguments it takes. The OASIS loop calls every check with the object
# alone and, on TypeError, again with the options: an exception per object for the pattern
# check, which costs more than the check itself.
_CHECKS = [(check, "options" in inspect.signature(check).parameters) for check in _OTHER_MUSTS]


def _musts_pass(instance: dict[str, Any]) -> bool:
    """The OASIS "MUST" checks, as ``_iter_errors_custom`` runs them, children included."""
    for check, with_options in _CHECKS:
        result = check(instance, OPTIONS) if with_options else check(instance)
        if result is None:
            continue
        if not isinstance(result, Iterable) or next(iter(result), None) is not None:
            return False
    for value in instance.values():
        if type(value) is list:
            for child in value:
                if (
                    isinstance(child, dict)
                    and "id" in child
                    and "type" in child
                    and not _musts_pass(child)
                ):
                    return False
    return True


def _load(uri: str) -> Any:
    path = Path(uri.removeprefix("file://"))
    if not path.resolve().is_relative_to(SCHEMAS.resolve()):
        raise ValueError(f"schema reference outside the OASIS schemas: {uri}")
    return _patched(json.loads(path.read_text()), path)


def _patched(schema: Any, path: Path) -> Any:
    # As stix2validator does: draft URLs over https, and $id set to the file itself so that
    # relative references resolve against it.
    schema = copy.copy(schema)
    if "$schema" in schema:
        schema["$schema"] = schema["$schema"].replace(
            "http://json-schema.org/draft/", "https://json-schema.org/draft/"
        )
    if "$id" in schema:
        schema["$id"] = path.as_uri()
    return schema


@cache
def _schema_files() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for path in sorted(SCHEMAS.rglob("*.json")):
        if "examples" not in path.parts:
            found.setdefault(path.stem, path)
    return found


@cache
def _validator(name: str) -> Any:
    path = _schema_files()[name]
    schema = _patched(json.loads(path.read_text()), path)
    return jsonschema_rs.validator_for(
        schema, retriever=_load, validate_formats=True, base_uri=path.as_uri()
    )


def _fast_accepts(obj: dict[str, Any]) -> bool:
    """Whether the fast path is sure the object is valid; False means "ask the OASIS one"."""
    kind = obj["type"]
    if kind in _SLOW_TYPES or kind == "bundle":
        return False
    files = _schema_files()
    if kind in files:
        name = kind
    elif all(p not in obj for p in ("created", "modified")) and kind != "marking-definition":
        name = "cyber-observable-core"
    else:
        name = "core"
    try:
        if (
            not _validator(name).is_valid(obj)
            or _timestamp_must(obj)
            or not _timestamps_ordered(obj)
        ):
            return False
        return _musts_pass(obj)
    # The OASIS checks assume the schema has already refused wrong shapes, and can crash on
    # them; whatever the cause, the full validator decides.
    except Exception:
        return False


def errors(obj: Any) -> list[str]:
    """The reasons an object is not valid STIX 2.1 (empty when it is), in the OASIS words."""
    if not isinstance(obj, dict):
        return ["an object must be a JSON object"]
    kind, stix_id = obj.get("type"), obj.get("id")
    # The OASIS validator assumes these shapes and crashes on others.
    if not isinstance(kind, str) or not isinstance(stix_id, str):
        return ["an object must have a string 'type' and a string 'id'"]
    if not _ID.match(stix_id) or not stix_id.startswith(kind + "--"):
        return [f"'id' must be '{kind[:60]}--' followed by a UUID"]
    try:
        if _fast_accepts(obj):
            return []
        result = validate_instance(obj, OPTIONS)
    # Hostile input must not crash a third-party check and take the envelope down with it.
    except Exception as exc:
        logger.warning("the STIX validator failed on %s: %r", stix_id, exc)
        return [f"the object could not be validated: {type(exc).__name__}"]
    return [str(error) for error in result.errors]


def oasis_errors(obj: dict[str, Any]) -> list[str]:
    """The OASIS validator alone, for comparing the two."""
    return [str(error) for error in validate_instance(obj, OPTIONS).errors]
