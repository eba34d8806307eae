"""The translation layer: complete catalogues, and errors in the caller's language."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient

from indivisible.i18n import LOCALES, negotiate, translations
from tests.conftest import Account

I18N = Path(__file__).resolve().parent.parent / "src" / "indivisible" / "i18n"
FIELDS = re.compile(r"\{(\w*)\}")


@pytest.mark.parametrize("locale", ["ru", "zh"])
def test_every_message_is_translated_with_the_same_placeholders(locale: str) -> None:
    with (I18N / "messages.pot").open("rb") as handle:
        template = read_po(handle)
    with (I18N / locale / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalogue = read_po(handle, locale=locale)
    ids = {str(m.id) for m in template if m.id}
    assert ids == {str(m.id) for m in catalogue if m.id}, (
        "run tools/translations.py after extracting"
    )
    for message in catalogue:
        if message.id:
            assert message.string, f"{locale}: {message.id!r} is untranslated"
            assert set(FIELDS.findall(str(message.id))) == set(
                FIELDS.findall(str(message.string))
            ), message.id


def test_negotiation_prefers_the_users_choice() -> None:
    assert negotiate("zh", "ru-RU,ru;q=0.9") == "zh"
    assert negotiate(None, "ru-RU,ru;q=0.9,en;q=0.8") == "ru"
    assert negotiate("xx", "de-DE,zh-CN;q=0.5") == "zh"
    assert negotiate(None, None) == "en"
    assert set(LOCALES) == {"en", "ru", "zh"}
    assert translations("ru").gettext("Map") == "Карта"


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "Unknown organisation NOPE."),
        ("ru", "Неизвестная организация NOPE."),
        ("zh", "未知组织 NOPE。"),
    ],
)
def test_domain_errors_speak_the_callers_language(
    client: TestClient, accounts: dict[str, Account], language: str, expected: str
) -> None:
    r = client.get(
        "/api/v1/registry/organisations/NOPE/members",
        headers={**accounts["analyst"].headers, "Accept-Language": language},
    )
    assert r.status_code == 404
    assert r.json()["detail"] == expected
    assert r.json()["code"] == "unknown_organisation"


def test_validation_errors_name_field_and_rule_in_russian(
    client: TestClient, accounts: dict[str, Account]
) -> None:
    body = {
        "state": "kaz",
        "organisation": "SCO",
        "status": "member",
        "valid_from": "2001-13-01",
        "sources": [],
    }
    r = client.post(
        "/api/v1/registry/memberships",
        json=body,
        headers={**accounts["admin"].headers, "Accept-Language": "ru"},
    )
    assert r.status_code == 422
    problems = {e["field"]: e for e in r.json()["errors"]}
    assert r.json()["title"] == "Неверные данные"
    assert problems["state"]["rule"] == "string_pattern_mismatch"
    assert problems["state"]["message"].startswith("Должно соответствовать шаблону")
    assert problems["valid_from"]["message"] == "Должно быть датой в формате ГГГГ-ММ-ДД."
    assert problems["sources"]["message"] == "Минимум элементов: 1."
