"""The web UI in real Chromium (Debian's, driven by Playwright) against a live node."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from indivisible.auth import service as auth_service
from indivisible.auth.principal import Actor, Role
from indivisible.auth.schemas import PrincipalCreate
from indivisible.db import make_engine, make_session_factory, unit_of_work
from indivisible.migrate import upgrade
from indivisible.registry import loader
from indivisible.web.pages import STATUS_FILLS

CHROMIUM = "/usr/bin/chromium"
PASSWORD = "browser-test-password"
pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def live_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A node on its own SQLite file, served by uvicorn in a child process, as a user would run it."""
    url = f"sqlite:///{tmp_path_factory.mktemp('live') / 'node.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with unit_of_work(make_session_factory(engine)) as session:
        loader.load(session, Actor.console("browser-test"))
        auth_service.create_principal(
            session,
            Actor.console("browser-test"),
            PrincipalCreate(
                username="officer",
                display_name="Liaison officer",
                role=Role.liaison,
                state="KAZ",
                password=PASSWORD,
            ),
        )
    engine.dispose()
    port = _free_port()
    log = (Path(str(tmp_path_factory.getbasetemp())) / "uvicorn.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "indivisible.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env={**os.environ, "INDIVISIBLE_DATABASE_URL": url},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    # Waiting for readiness, bounded; this asserts nothing about speed.
    for _ in range(200):
        try:
            with urllib.request.urlopen(f"{base}/api/v1/health") as response:
                if response.status == 200:
                    break
        except OSError:
            time.sleep(0.1)
    else:
        process.kill()
        pytest.fail("the node did not start; see uvicorn.log")
    yield base
    process.terminate()
    process.wait(timeout=10)
    log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: scripts/test installs Debian's chromium package")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(locale="en-GB")
    tab = context.new_page()
    yield tab
    context.close()


def fill(page: Page, state: str) -> str | None:
    return page.locator(f'#map-inner path[data-state="{state}"]').get_attribute("fill")


def test_log_in_switch_languages_and_read_the_sco_map(live_node: str, page: Page) -> None:
    page.goto(f"{live_node}/organisations/SCO")
    expect(page).to_have_url(f"{live_node}/login?next=%2Forganisations%2FSCO")
    page.get_by_label("Username").fill("officer")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{live_node}/organisations/SCO")
    expect(page.locator("h1")).to_contain_text("Shanghai Cooperation Organisation")

    page.locator('a[data-lang="ru"]').click()
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    expect(page.get_by_role("heading", name="Хронология членства")).to_be_visible()
    expect(page.locator("h1")).to_contain_text("Шанхайская организация сотрудничества")

    page.locator('a[data-lang="zh"]').click()
    expect(page.locator("html")).to_have_attribute("lang", "zh")
    expect(page.get_by_role("heading", name="成员资格时间线")).to_be_visible()
    expect(page.locator("h1")).to_contain_text("上海合作组织")

    # India: an observer before the Astana summit of 9 June 2017, a member from that day.
    page.fill('input[name="on"]', "2016-12-31")
    page.locator("form.mapform button").click()
    expect(page.locator("#map-inner")).to_have_attribute("data-on", "2016-12-31")
    assert fill(page, "IND") == STATUS_FILLS["observer"]
    assert fill(page, "KAZ") == STATUS_FILLS["member"]
    assert fill(page, "BLR") == STATUS_FILLS["observer"]
    assert fill(page, "USA") == "#e5e7eb"

    page.fill('input[name="on"]', "2017-06-09")
    page.locator("form.mapform button").click()
    expect(page.locator("#map-inner")).to_have_attribute("data-on", "2017-06-09")
    assert fill(page, "IND") == STATUS_FILLS["member"]
    assert fill(page, "PAK") == STATUS_FILLS["member"]
    assert fill(page, "IRN") == STATUS_FILLS["observer"]


def test_the_home_map_follows_the_date_through_htmx(live_node: str, page: Page) -> None:
    page.goto(f"{live_node}/login")
    page.get_by_label("Username").fill("officer")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.select_option("#org", "SCO")
    page.fill("#on", "2024-07-04")
    page.locator("#on").dispatch_event("change")
    expect(page.locator("#map-inner")).to_have_attribute("data-on", "2024-07-04")
    assert fill(page, "BLR") == STATUS_FILLS["member"]
    page.select_option("#org", "CSTO")
    expect(page.locator("#map-inner")).to_have_attribute("data-organisation", "CSTO")
    # The address bar follows, so the view can be bookmarked.
    expect(page).to_have_url(f"{live_node}/?org=CSTO&on=2024-07-04")
    assert fill(page, "BLR") == STATUS_FILLS["member"]
    assert fill(page, "ARM") == STATUS_FILLS["frozen"]
    assert fill(page, "CHN") == "#e5e7eb"
