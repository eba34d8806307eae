"""The crisis pages over the replayed Kazakhstan scenario: the list with measures side by
side, the crisis with its timeline and measures, the printable report, who could help, and
a form's refused step shown next to its field, changing nothing."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from indivisible.auth.principal import Role
from indivisible.crisis.models import DeploymentEvent
from tests.conftest import Account
from tests.crisis.conftest import PASSWORD
from tests.web.test_pages import login


def as_state(client: TestClient, actor: str) -> None:
    login(client, Account(f"kz-{actor.lower()}", PASSWORD, "", Role.liaison))


def csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found
    return found.group(1)


def test_the_crisis_page_shows_timeline_measures_and_sources(
    client: TestClient, replayed: tuple[int, dict[str, dict[str, str]]]
) -> None:
    crisis_id, _headers = replayed
    as_state(client, "KAZ")
    listing = client.get("/crisis")
    assert listing.status_code == 200
    assert f'href="/crisis/{crisis_id}"' in listing.text and "5/5" in listing.text
    page = client.get(f"/crisis/{crisis_id}")
    assert page.status_code == 200, page.text
    html = page.text
    # One timeline row for the request and decision, one for the plan, six contingents.
    assert html.count('<th scope="row">') >= 8
    assert 'class="phase-on-task"' in html and 'class="phase-withdrawal"' in html
    assert "Colonel-General Andrei Serdyukov" in html
    assert "tass.ru/mezhdunarodnaya-panorama/13359529" in html
    assert "Decision to full deployment" in html and "± " in html
    # Kazakhstan's liaison officer asks, but contributes nothing: no pledge form.
    assert f'action="/crisis/{crisis_id}/pledge"' not in html

    pdf = client.get(f"/api/v1/crisis/crises/{crisis_id}/report.pdf?lang=ru")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert pdf.headers["content-type"] == "application/pdf"

    helpers = client.get("/crisis/who-could-help?state=KAZ&on=2022-01-05")
    assert helpers.status_code == 200
    for state in ("ARM", "BLR", "KGZ", "RUS", "TJK"):
        assert f'href="/states/{state}"' in helpers.text


def test_a_step_out_of_order_from_the_form_is_named_and_changes_nothing(
    client: TestClient, db: Session, replayed: tuple[int, dict[str, dict[str, str]]]
) -> None:
    crisis_id, headers = replayed
    as_state(client, "TJK")
    page = client.get(f"/crisis/{crisis_id}")
    contingent = client.get(f"/api/v1/crisis/crises/{crisis_id}", headers=headers["TJK"]).json()
    tajik = next(c for c in contingent["operation"]["contingents"] if c["state"] == "TJK")
    before = db.scalar(select(func.count()).select_from(DeploymentEvent))
    # The contingent is home: nothing may follow, and the form says so.
    answer = client.post(
        f"/crisis/{crisis_id}/step",
        data={
            "csrf": csrf(page.text),
            "contingent": str(tajik["id"]),
            "kind": "arrived",
            "at_local": "2022-01-20T10:00",
            "time_zone": "Asia/Almaty",
        },
    )
    assert answer.status_code == 409
    assert "cannot be arrived after home" in answer.text, re.findall(
        r"role=\"alert\"[^<]*<", answer.text
    )
    bad_zone = client.post(
        f"/crisis/{crisis_id}/step",
        data={
            "csrf": csrf(page.text),
            "contingent": str(tajik["id"]),
            "kind": "home",
            "at_local": "2022-01-20T10:00",
            "time_zone": "Mars/Olympus",
        },
    )
    assert bad_zone.status_code == 422 and 'data-field="time_zone"' in bad_zone.text
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(DeploymentEvent)) == before


def test_the_crisis_page_speaks_russian_and_chinese(
    client: TestClient, replayed: tuple[int, dict[str, dict[str, str]]]
) -> None:
    crisis_id, _headers = replayed
    as_state(client, "RUS")
    for lang, words in (
        ("ru", ("Хронология", "Показатели", "От запроса до решения", "сут")),
        ("zh", ("时间线", "指标", "从请求到决定", "天")),
    ):
        client.cookies.set("indivisible_lang", lang)
        html = client.get(f"/crisis/{crisis_id}").text
        for word in words:
            assert word in html, (lang, word)
        pdf = client.get(f"/api/v1/crisis/crises/{crisis_id}/report.pdf?lang={lang}")
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
