"""Country names and codes of the event datasets, to ISO 3166-1 alpha-3.

GED names countries in its own way, with the former name in brackets ("Russia (Soviet
Union)", "DR Congo (Zaire)") and gives Gleditsch-Ward numbers; ACLED gives ISO 3166-1
numeric codes. Names are resolved through pycountry after dropping the bracket, with the
GED spellings pycountry does not know listed here; a name found nowhere is an error for its
row, never a guess.

A GED event before 1992 named "Russia (Soviet Union)" or "Serbia (Yugoslavia)" is assigned
to today's state of that name, as GED's naming suggests; its coordinates may lie in another
successor state (docs/warning.md).
"""

from __future__ import annotations

import re
from functools import cache

import pycountry

# GED spellings that pycountry does not resolve (UCDP country list, as the GED sample
# spells them).
GED_NAMES = {
    "DR Congo": "COD",
    "Congo": "COG",
    "Ivory Coast": "CIV",
    "Bosnia-Herzegovina": "BIH",
    "Kingdom of eSwatini": "SWZ",
    "Macedonia, FYR": "MKD",
    "Russia": "RUS",
    "Iran": "IRN",
    "Syria": "SYR",
    "Turkey": "TUR",
    "Laos": "LAO",
    "Vietnam": "VNM",
    "Bolivia": "BOL",
    "Venezuela": "VEN",
    "Tanzania": "TZA",
    "Moldova": "MDA",
    "Cambodia": "KHM",
    "Myanmar": "MMR",
    "Yemen": "YEM",
    "Serbia": "SRB",
    "South Sudan": "SSD",
    "Sudan": "SDN",
    "North Korea": "PRK",
    "South Korea": "KOR",
    "Palestine": "PSE",
    "Czech Republic": "CZE",
    "East Timor": "TLS",
    "Cape Verde": "CPV",
    "Gambia": "GMB",
    "Kosovo": "XKX",
}

_BRACKET = re.compile(r"\s*\(.*\)\s*$")


@cache
def from_name(name: str) -> str | None:
    """ISO alpha-3 for a dataset's country name, or None when it is not known."""
    plain = _BRACKET.sub("", name).strip()
    if not plain:
        return None
    if plain in GED_NAMES:
        return GED_NAMES[plain]
    try:
        return str(pycountry.countries.lookup(plain).alpha_3)
    except LookupError:
        return None


@cache
def from_numeric(code: str) -> str | None:
    """ISO alpha-3 for an ISO 3166-1 numeric code (ACLED's ``iso``), or None."""
    digits = code.strip()
    if not digits.isdigit():
        return None
    found = pycountry.countries.get(numeric=digits.zfill(3))
    return str(found.alpha_3) if found is not None else None


def known(alpha_3: str) -> bool:
    return alpha_3 == "XKX" or pycountry.countries.get(alpha_3=alpha_3) is not None
