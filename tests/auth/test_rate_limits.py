"""Rate limits and login throttling wired into the app, on both databases: a client over its
limit gets 429 with Retry-After before anything is read or written, in the protocol it
spoke; repeated failed logins make even the right password wait, on the web form and over
TAXII Basic alike. The clock is the test's, so nothing here depends on timing."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from indivisible.auth.throttle import LoginLimits, Throttle
from tests.conftest import Account

TAXII = "application/taxii+json;version=2.1"


class Clock:
    def __init__(self) -> None:
        self.now = 5000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(app: FastAPI) -> Iterator[Clock]:
    """The app's limits for this test: 2 requests a second and 4 at once per token, 3 and 6 per
    address; 3 failed logins per account and address in 15 minutes, 5 per address."""
    clock = Clock()
    original = app.state.throttle
    app.state.throttle = Throttle(
        per_token=(2.0, 4),
        per_address=(3.0, 6),
        login=LoginLimits(per_account_and_address=3, per_address=5, per_account=50),
        login_window_seconds=900.0,
        clock=clock,
    )
    yield clock
    app.state.throttle = original


def test_a_token_over_its_limit_waits_and_others_go_on(
    client: TestClient, accounts: dict[str, Account], clock: Clock
) -> None:
    liaison = {"Authorization": f"Bearer {accounts['liaison'].token}"}
    analyst = {"Authorization": f"Bearer {accounts['analyst'].token}"}
    answers = [client.get("/api/v1/auth/me", headers=liaison) for _ in range(5)]
    assert [a.status_code for a in answers] == [200, 200, 200, 200, 429]
    refused = answers[-1]
    assert refused.headers["retry-after"] == "1"
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["code"] == "rate_limited"
    # Another token still has the address's last request; then the address is spent too.
    assert client.get("/api/v1/auth/me", headers=analyst).status_code == 200
    assert client.get("/api/v1/auth/me", headers=analyst).status_code == 429
    # The health check is never counted, so monitors do not lock a node's clients out.
    assert client.get("/api/v1/health").status_code == 200
    clock.now += 1.0
    assert client.get("/api/v1/auth/me", headers=liaison).status_code == 200


def test_a_refused_write_writes_nothing(
    client: TestClient, accounts: dict[str, Account], clock: Clock
) -> None:
    admin = {"Authorization": f"Bearer {accounts['admin'].token}"}
    before = client.get("/api/v1/auth/tokens", headers=admin).json()
    for _ in range(2):
        client.get("/api/v1/auth/me", headers=admin)
    made = client.post("/api/v1/auth/tokens", json={"name": "one"}, headers=admin)
    assert made.status_code == 201, made.text
    refused = client.post("/api/v1/auth/tokens", json={"name": "two"}, headers=admin)
    assert refused.status_code == 429
    clock.now += 60
    after = client.get("/api/v1/auth/tokens", headers=admin).json()
    assert sorted(t["name"] for t in after) == sorted([t["name"] for t in before] + ["one"])


def test_taxii_clients_get_a_taxii_error(
    client: TestClient, accounts: dict[str, Account], clock: Clock
) -> None:
    headers = {"Authorization": f"Bearer {accounts['analyst'].token}", "Accept": TAXII}
    answers = [client.get("/taxii2/", headers=headers) for _ in range(5)]
    assert [a.status_code for a in answers][-1] == 429
    assert answers[-1].headers["content-type"].startswith("application/taxii+json")
    assert answers[-1].json()["http_status"] == "429"
    assert answers[-1].headers["retry-after"] == "1"


def _login(client: TestClient, username: str, password: str) -> Any:
    form = client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert token
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf": token.group(1), "next": "/"},
        follow_redirects=False,
    )


def test_failed_logins_make_even_the_right_password_wait(
    client: TestClient, accounts: dict[str, Account], clock: Clock, app: FastAPI
) -> None:
    # The page loads count as requests too: generous request limits here.
    app.state.throttle.addresses = None
    app.state.throttle.tokens = None
    liaison = accounts["liaison"]
    for _ in range(3):
        wrong = _login(client, liaison.username, "not-the-password")
        assert wrong.status_code == 401
    locked = _login(client, liaison.username, liaison.password)
    assert locked.status_code == 429
    assert locked.headers["retry-after"] == "900"
    assert "Too many failed logins" in locked.text
    assert "indivisible_session" not in locked.headers.get("set-cookie", "")
    # The same over TAXII Basic: the password would be right, the account waits.
    basic = base64.b64encode(f"{liaison.username}:{liaison.password}".encode()).decode()
    taxii = client.get("/taxii2/", headers={"Authorization": f"Basic {basic}", "Accept": TAXII})
    assert taxii.status_code == 429
    assert taxii.json()["http_status"] == "429"
    # Another account from the same address has its own count, until the address's is spent.
    observer = accounts["observer"]
    assert _login(client, observer.username, observer.password).status_code == 303
    for _ in range(2):
        _login(client, observer.username, "wrong")
    assert _login(client, accounts["analyst"].username, "wrong").status_code == 429
    # The window passes: the owner logs in, and a success clears its account's count.
    clock.now += 901
    assert _login(client, liaison.username, liaison.password).status_code == 303


def test_the_app_builds_its_limits_from_the_settings(app: FastAPI) -> None:
    # The test app runs with no request limits (tests/conftest.py); a node's defaults have both.
    from indivisible.auth.throttle import throttle_for
    from indivisible.config import Settings

    defaults = throttle_for(Settings())
    assert defaults.tokens is not None and defaults.tokens.rate == 20.0
    assert defaults.addresses is not None and defaults.addresses.burst == 500
    assert defaults.login.per_account_and_address == 5
    assert app.state.throttle.tokens is None and app.state.throttle.addresses is None
