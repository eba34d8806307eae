"""Server-rendered pages: login with CSRF, redirects, languages and the map on a date."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from indivisible.web.pages import STATUS_FILLS
from tests.conftest import Account


def login(client: TestClient, account: Account) -> None:
    form = client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert token
    r = client.post(
        "/login",
        data={
            "username": account.username,
            "password": account.password,
            "csrf": token.group(1),
            "next": "/",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text


def fill_of(html: str, state: str) -> str:
    match = re.search(rf'data-state="{state}" fill="([^"]+)"', html)
    assert match, state
    return match.group(1)


def test_pages_need_a_session(client: TestClient) -> None:
    r = client.get("/organisations/SCO", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/login?next=%2Forganisations%2FSCO"
    r = client.get("/states/KAZ?on=2022-01-05", follow_redirects=False)
    assert r.headers["location"] == "/login?next=%2Fstates%2FKAZ%3Fon%3D2022-01-05"


def test_login_needs_the_form_csrf_token(client: TestClient, accounts: dict[str, Account]) -> None:
    client.get("/login")
    r = client.post(
        "/login",
        data={"username": "t-analyst", "password": "analyst-password-123", "csrf": "forged"},
    )
    assert r.status_code == 403
    assert "indivisible_session" not in client.cookies


def test_wrong_password_is_refused_without_saying_which_part(
    client: TestClient, accounts: dict[str, Account]
) -> None:
    page = client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token
    r = client.post(
        "/login",
        data={"username": "t-analyst", "password": "wrong-password", "csrf": token.group(1)},
    )
    assert r.status_code == 401
    assert "Wrong username or password." in r.text


def test_login_then_pages_render_in_three_languages(
    client: TestClient, accounts: dict[str, Account]
) -> None:
    login(client, accounts["analyst"])
    home = client.get("/")
    assert home.status_code == 200 and 'lang="en"' in home.text and "Log out" in home.text
    client.get("/lang/ru", follow_redirects=False)
    ru = client.get("/organisations/SCO")
    assert 'lang="ru"' in ru.text and "Хронология членства" in ru.text and "Шанхайская" in ru.text
    client.get("/lang/zh", follow_redirects=False)
    zh = client.get("/states/AFG")
    assert 'lang="zh"' in zh.text and "安全带" in zh.text and "阿富汗" in zh.text
    for path in (
        "/agreements",
        "/agreements/CST-1992",
        "/states/KAZ?on=2022-01-05",
        "/organisations/CSTO",
    ):
        assert client.get(path).status_code == 200, path


def test_unknown_language_is_ignored_and_next_stays_local(client: TestClient) -> None:
    r = client.get("/lang/xx?next=https://evil.example/", follow_redirects=False)
    assert r.headers["location"] == "/"
    assert "indivisible_lang" not in r.cookies


@pytest.mark.parametrize(
    ("on", "state", "status"),
    [
        ("2016-12-31", "IND", "observer"),
        ("2017-06-09", "IND", "member"),
        ("2023-07-03", "IRN", "observer"),
        ("2023-07-04", "IRN", "member"),
        ("2024-07-04", "BLR", "member"),
    ],
)
def test_map_colours_states_by_status_on_the_date(
    client: TestClient, accounts: dict[str, Account], on: str, state: str, status: str
) -> None:
    login(client, accounts["observer"])
    html = client.get("/map", params={"org": "SCO", "on": on}).text
    assert fill_of(html, state) == STATUS_FILLS[status]
    assert fill_of(html, "USA") == "#e5e7eb"


def test_logout_needs_csrf_and_ends_the_session(
    client: TestClient, accounts: dict[str, Account]
) -> None:
    login(client, accounts["liaison"])
    assert client.post("/logout", data={"csrf": "forged"}).status_code == 403
    page = client.get("/")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token
    assert (
        client.post("/logout", data={"csrf": token.group(1)}, follow_redirects=False).status_code
        == 303
    )
    assert client.get("/", follow_redirects=False).status_code == 303


def test_a_cookie_session_cannot_write_through_the_api_without_csrf(
    client: TestClient, accounts: dict[str, Account]
) -> None:
    login(client, accounts["admin"])
    r = client.post("/api/v1/auth/tokens", json={"name": "from-browser"})
    assert r.status_code == 403 and r.json()["code"] == "csrf"
    assert client.get("/api/v1/auth/me").json()["role"] == "admin"


def test_security_headers(client: TestClient) -> None:
    r = client.get("/login")
    assert r.headers["x-frame-options"] == "DENY"
    assert "default-src 'self'" in r.headers["content-security-policy"]


def test_the_language_switch_keeps_the_query(
    client: TestClient, accounts: dict[str, Account]
) -> None:
    login(client, accounts["analyst"])
    page = client.get("/", params={"org": "CSTO", "on": "2010-01-01"})
    assert 'href="/lang/ru?next=%2F%3Forg%3DCSTO%26on%3D2010-01-01"' in page.text
    r = client.get("/lang/ru?next=%2F%3Forg%3DCSTO%26on%3D2010-01-01", follow_redirects=False)
    assert r.headers["location"] == "/?org=CSTO&on=2010-01-01"


def test_people_get_error_pages_not_json(client: TestClient, accounts: dict[str, Account]) -> None:
    login(client, accounts["analyst"])
    client.get("/lang/ru", follow_redirects=False)
    bad_date = client.get("/states/KAZ", params={"on": "not-a-date"})
    assert bad_date.status_code == 422 and bad_date.headers["content-type"].startswith("text/html")
    assert 'role="alert"' in bad_date.text and "Неверные данные" in bad_date.text
    missing = client.get("/states/ZZZ")
    assert missing.status_code == 404 and "Неизвестный код государства ZZZ." in missing.text
    fragment = client.get("/map", params={"org": "NOPE"}, headers={"HX-Request": "true"})
    assert (
        fragment.status_code == 404
        and "<html" not in fragment.text
        and 'role="alert"' in fragment.text
    )
    assert client.get("/no-such-page").status_code == 404


def test_state_page_speaks_the_pages_language_and_shows_caveats(
    client: TestClient, accounts: dict[str, Account]
) -> None:
    login(client, accounts["analyst"])
    client.get("/lang/zh", follow_redirects=False)
    page = client.get("/states/KAZ", params={"on": "2022-01-05"})
    assert "集体安全条约" in page.text or "集体安全" in page.text
    assert "Collective Security Treaty</a>" not in page.text
    client.get("/lang/en", follow_redirects=False)
    armenia = client.get("/states/ARM", params={"on": "2025-01-01"})
    assert "This state&#39;s own participation is" in armenia.text
    assert 'data-caveat="' in client.get("/states/RUS", params={"on": "2020-01-01"}).text
    kazakhstan = client.get("/states/KAZ", params={"on": "2022-01-05"}).text
    # Consultation duties are grouped: one line per agreement and article, states listed by name.
    assert kazakhstan.count('data-agreement="CIS-CHARTER-1993"') == 1
    line = kazakhstan.split('data-agreement="CIS-CHARTER-1993"', 1)[1].split("</li>", 1)[0]
    assert "Azerbaijan" in line and "Uzbekistan" in line


def test_an_htmx_request_without_a_session_sends_the_whole_page_to_login(
    client: TestClient,
) -> None:
    r = client.get(
        "/map",
        params={"org": "SCO"},
        headers={
            "HX-Request": "true",
            "HX-Current-URL": "http://127.0.0.1:8000/?org=SCO&on=2020-01-01",
        },
        follow_redirects=False,
    )
    assert r.status_code == 204
    assert r.headers["hx-redirect"] == "/login?next=%2F%3Forg%3DSCO%26on%3D2020-01-01"
    hostile = client.get(
        "/map",
        headers={"HX-Request": "true", "HX-Current-URL": "https://evil.example//x"},
        follow_redirects=False,
    )
    assert (
        hostile.headers["hx-redirect"] == "/login?next=%2F%2Fx"
        or hostile.headers["hx-redirect"] == "/login?next=%2F"
    )
