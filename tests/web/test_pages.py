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
    assert r.headers["location"] == "/login?next=/organisations/SCO"


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
