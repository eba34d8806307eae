"""TLP from STIX marking references: both the STIX 2.1 TLP 1.0 ids and the OASIS TLP 2.0 ids.

Producers disagree on the identifiers (MISP, OpenCTI and python-stix2 each use different ones
for CLEAR and AMBER+STRICT), so we map both published sets and fail closed: a marking we do not
recognise counts as the most restrictive level.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class Tlp(StrEnum):
    clear = "clear"
    green = "green"
    amber = "amber"
    amber_strict = "amber+strict"
    red = "red"


# Ordered from least to most restrictive.
ORDER = (Tlp.clear, Tlp.green, Tlp.amber, Tlp.amber_strict, Tlp.red)

MARKING_IDS: dict[str, Tlp] = {
    # STIX 2.1 §7.2.1.4, TLP 1.0 (WHITE became CLEAR in TLP 2.0)
    "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9": Tlp.clear,
    "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da": Tlp.green,
    "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82": Tlp.amber,
    "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed": Tlp.red,
    # OASIS cti-stix-common-objects, TLP 2.0 extension definitions
    "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487": Tlp.clear,
    "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb": Tlp.green,
    "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421": Tlp.amber,
    "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003": Tlp.amber_strict,
    "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1": Tlp.red,
}

# Only these levels may leave the node over a federation link: AMBER+STRICT stays within the
# recipient's organisation and RED with the named recipients.
FEDERABLE = frozenset({Tlp.clear, Tlp.green, Tlp.amber})

# An object that carries no marking at all is treated as limited disclosure, not as public.
UNMARKED = Tlp.amber


def tlp_of(marking_refs: Iterable[str] | None) -> Tlp:
    """The most restrictive TLP among an object's markings; unknown markings count as RED."""
    levels = [MARKING_IDS.get(ref, Tlp.red) for ref in marking_refs or ()]
    if not levels:
        return UNMARKED
    return max(levels, key=ORDER.index)
