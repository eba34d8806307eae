"""The translation layer: Babel catalogues for English, Russian and Chinese, read from .po files.

Catalogues are compiled in memory on first use, so the repository holds only the reviewed .po text.
"""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LOCALES = ("en", "ru", "zh")
LANGUAGE_NAMES = {"en": "English", "ru": "Русский", "zh": "中文"}
CATALOGUES = Path(__file__).parent


# The cookie that keeps a user's choice of language.
LANG_COOKIE = "indivisible_lang"


def _(message: str) -> str:
    """Marks a string for extraction where it is defined; it is translated where it is shown."""
    return message


@cache
def translations(locale: str) -> NullTranslations:
    path = CATALOGUES / locale / "LC_MESSAGES" / "messages.po"
    if locale not in LOCALES or not path.exists():
        return NullTranslations()
    with path.open("rb") as handle:
        catalogue = read_po(handle, locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalogue)
    buffer.seek(0)
    return Translations(buffer)


def negotiate(cookie: str | None, accept_language: str | None, default: str = "en") -> str:
    """The user's choice wins; otherwise the browser's first supported language."""
    if cookie in LOCALES:
        return cookie
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag[:2] in LOCALES:
            return tag[:2]
    return default
