"""Small, valid STIX 2.1 objects for the sharing tests, built by hand so each field is known."""

from __future__ import annotations

import uuid
from typing import Any

TLP_GREEN = "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"
TLP_RED = "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed"
TLP_CLEAR = "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487"
_NAMESPACE = uuid.UUID("6f4d3c2b-1a09-4e8f-9a7b-5c6d7e8f9a0b")


def stix_id(kind: str, n: int) -> str:
    return f"{kind}--{uuid.uuid5(_NAMESPACE, f'{kind}:{n}')}"


def timestamp(day: int, hour: int = 0) -> str:
    return f"2024-01-{day:02d}T{hour:02d}:00:00.000Z"


def indicator(
    n: int, *, day: int = 1, value: str | None = None, markings: list[str] | None = None
) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "type": "indicator",
        "spec_version": "2.1",
        "id": stix_id("indicator", n),
        "created": timestamp(1),
        "modified": timestamp(day),
        "name": f"Indicator {n}",
        "pattern": f"[ipv4-addr:value = '{value or f'198.51.100.{n % 250}'}']",
        "pattern_type": "stix",
        "valid_from": "2024-01-01T00:00:00Z",
        "indicator_types": ["malicious-activity"],
    }
    if markings:
        obj["object_marking_refs"] = markings
    return obj


def malware(n: int, *, day: int = 1) -> dict[str, Any]:
    return {
        "type": "malware",
        "spec_version": "2.1",
        "id": stix_id("malware", n),
        "created": timestamp(1),
        "modified": timestamp(day),
        "name": f"Malware {n}",
        "is_family": True,
        "malware_types": ["trojan"],
    }


def relationship(n: int, source: str, target: str) -> dict[str, Any]:
    return {
        "type": "relationship",
        "spec_version": "2.1",
        "id": stix_id("relationship", n),
        "created": timestamp(1),
        "modified": timestamp(1),
        "relationship_type": "indicates",
        "source_ref": source,
        "target_ref": target,
    }


def identity(n: int) -> dict[str, Any]:
    return {
        "type": "identity",
        "spec_version": "2.1",
        "id": stix_id("identity", n),
        "created": timestamp(1),
        "modified": timestamp(1),
        "name": f"Ministry {n}",
        "identity_class": "organization",
    }


def envelope(*objects: dict[str, Any]) -> dict[str, Any]:
    return {"objects": list(objects)}
