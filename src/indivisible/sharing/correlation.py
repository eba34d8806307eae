"""Observable values in STIX objects, normalised so that two states' reports of the same
thing meet: IP addresses and networks, domains, URLs, e-mail addresses and file hashes, found
in cyber-observable objects and in the STIX patterns of indicators.

Only equality comparisons (``=``, ``IN``) in patterns yield values: ``!=``, ``LIKE`` or
``MATCHES`` describe many values, not one that was seen.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Any

from stix2patterns.v21.pattern import Pattern

# STIX object type and property -> kind of observable.
_VALUE_TYPES = {
    "ipv4-addr": "ipv4",
    "ipv6-addr": "ipv6",
    "domain-name": "domain",
    "url": "url",
    "email-addr": "email",
}
_HASHED_TYPES = frozenset({"file", "artifact", "x509-certificate"})
_HASH_NAMES = {
    "md5": "md5",
    "sha-1": "sha1",
    "sha1": "sha1",
    "sha-256": "sha256",
    "sha256": "sha256",
    "sha-512": "sha512",
    "sha512": "sha512",
    "sha3-256": "sha3-256",
    "sha3-512": "sha3-512",
    "ssdeep": "ssdeep",
    "tlsh": "tlsh",
}
_LITERAL = re.compile(r"'((?:[^'\\]|\\.)*)'")
# Bytes, not characters: the value is indexed, and index entries have a size limit.
MAX_VALUE = 1000


@dataclass(frozen=True)
class Observable:
    kind: str
    value: str
    # For IPv4: the first and last address of the network, as integers, so that an address
    # meets the networks that contain it.
    low: int | None = None
    high: int | None = None


def normalise(kind: str, raw: str) -> Observable | None:
    value = raw.strip()
    if not value or len(value.encode()) > MAX_VALUE - 20:
        return None
    if kind in ("ipv4", "ipv6"):
        try:
            network = ipaddress.ip_network(value, strict=False)
        except ValueError:
            return None
        if (network.version == 4) != (kind == "ipv4"):
            return None
        text = str(network.network_address) if network.num_addresses == 1 else str(network)
        if kind == "ipv4":
            return Observable(
                kind, text, int(network.network_address), int(network.broadcast_address)
            )
        return Observable(kind, text)
    if kind == "domain":
        return Observable(kind, value.lower().rstrip("."))
    if kind == "email":
        return Observable(kind, value.lower())
    if kind == "url":
        return Observable(kind, value)
    # Hashes: "<algorithm>:<lower-case digest>".
    return Observable("hash", f"{kind}:{value.lower()}")


def _hash_kind(name: str) -> str | None:
    return _HASH_NAMES.get(name.strip("'\"").lower())


def _literals(operator: str, text: str) -> list[str]:
    if operator not in ("=", "IN"):
        return []
    return [m.group(1).replace("\\'", "'").replace("\\\\", "\\") for m in _LITERAL.finditer(text)]


def from_pattern(pattern: str) -> set[Observable]:
    found: set[Observable] = set()
    try:
        comparisons = Pattern(pattern).inspect().comparisons
    except Exception:
        # An invalid pattern was refused by validation already; nothing to correlate.
        return found
    for object_type, tests in comparisons.items():
        for path, operator, literal in tests:
            kind: str | None = None
            if object_type in _VALUE_TYPES and path == ["value"]:
                kind = _VALUE_TYPES[object_type]
            elif object_type in _HASHED_TYPES and len(path) == 2 and path[0] == "hashes":
                kind = _hash_kind(str(path[1]))
            if kind is None:
                continue
            for value in _literals(operator, literal):
                observable = normalise(kind, value)
                if observable is not None:
                    found.add(observable)
    return found


def observables(obj: dict[str, Any]) -> set[Observable]:
    """The correlatable values an object carries."""
    kind = obj.get("type")
    found: set[Observable] = set()
    if kind in _VALUE_TYPES and isinstance(obj.get("value"), str):
        observable = normalise(_VALUE_TYPES[str(kind)], obj["value"])
        if observable is not None:
            found.add(observable)
    if kind in _HASHED_TYPES and isinstance(obj.get("hashes"), dict):
        for name, digest in obj["hashes"].items():
            algorithm = _hash_kind(str(name))
            if algorithm is not None and isinstance(digest, str):
                observable = normalise(algorithm, digest)
                if observable is not None:
                    found.add(observable)
    if (
        kind == "indicator"
        and obj.get("pattern_type") == "stix"
        and isinstance(obj.get("pattern"), str)
    ):
        found |= from_pattern(obj["pattern"])
    return found
