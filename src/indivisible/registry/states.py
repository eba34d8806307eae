"""The ISO 3166-1 list of states and territories, named in English, Russian and Chinese from CLDR."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from importlib.metadata import version

import pycountry
from babel import Locale

from indivisible.registry.schemas import SourceCreate

ISO_SOURCE_KEY = "iso-3166-1"
CLDR_SOURCE_KEY = "unicode-cldr-territories"
# The day these sources were taken into the registry; fixed so that loads stay idempotent.
TAKEN = date(2026, 11, 23)


def sources() -> list[SourceCreate]:
    return [
        SourceCreate(
            key=ISO_SOURCE_KEY,
            title="ISO 3166-1 country codes (as packaged by Debian iso-codes in pycountry)",
            publisher="International Organization for Standardization",
            url="https://www.iso.org/iso-3166-country-codes.html",
            reference=f"pycountry {version('pycountry')}",
            accessed=TAKEN,
        ),
        SourceCreate(
            key=CLDR_SOURCE_KEY,
            title="Unicode CLDR territory display names (English, Russian, Chinese), as shipped in Babel",
            publisher="Unicode Consortium",
            url="https://cldr.unicode.org/",
            reference=f"Babel {version('babel')}",
            accessed=TAKEN,
        ),
    ]


@dataclass(frozen=True)
class IsoState:
    code: str
    alpha2: str
    numeric: str
    name_en: str
    name_ru: str
    name_zh: str
    official_name_en: str | None


def iso_states() -> list[IsoState]:
    en, ru, zh = Locale("en"), Locale("ru"), Locale("zh")
    out = []
    for country in pycountry.countries:
        a2 = country.alpha_2
        common = getattr(country, "common_name", None) or country.name
        out.append(
            IsoState(
                code=country.alpha_3,
                alpha2=a2,
                numeric=country.numeric,
                name_en=en.territories.get(a2, common),
                name_ru=ru.territories.get(a2, common),
                name_zh=zh.territories.get(a2, common),
                official_name_en=getattr(country, "official_name", None) or country.name,
            )
        )
    return out
