"""A live node in a child process and Debian's Chromium, shared by the browser tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from indivisible.app import create_app
from indivisible.auth import service as auth_service
from indivisible.auth.principal import Actor, Role
from indivisible.auth.schemas import PrincipalCreate, TokenCreate
from indivisible.cbm.demo import create_demo_cbm
from indivisible.cli.node import create_demo_sharing
from indivisible.config import Settings
from indivisible.crisis.demo import load_demo_crisis
from indivisible.db import make_engine, make_session_factory, unit_of_work
from indivisible.migrate import upgrade
from indivisible.registry import loader
from indivisible.warning import store, synthetic
from tests.live import serving

CHROMIUM = "/usr/bin/chromium"
USERNAME = "officer"
PASSWORD = "browser-test-password"
SECRETARY = "secretary"
# API tokens issued for the live node, by username: tests act through the API with them.
TOKENS: dict[str, str] = {}
CHINA_LIAISON = "chn-officer"
# Crisis response: two more CSTO states' liaison officers and the CSTO secretariat.
RUSSIA_LIAISON = "rus-officer"
TAJIK_LIAISON = "tjk-officer"
CSTO_SECRETARY = "csto-secretary"


@pytest.fixture(scope="session")
def live_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A node on its own SQLite file, served by uvicorn as a user would run it."""
    url = f"sqlite:///{tmp_path_factory.mktemp('live') / 'node.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with unit_of_work(make_session_factory(engine)) as session:
        loader.load(session, Actor.console("browser-test"))
        auth_service.create_principal(
            session,
            Actor.console("browser-test"),
            PrincipalCreate(
                username=USERNAME,
                display_name="Liaison officer",
                role=Role.liaison,
                state="KAZ",
                password=PASSWORD,
            ),
        )
        auth_service.create_principal(
            session,
            Actor.console("browser-test"),
            PrincipalCreate(
                username=SECRETARY,
                display_name="SCO secretariat",
                role=Role.secretariat,
                body="SCO-SECRETARIAT",
                password=PASSWORD,
            ),
        )
        auth_service.create_principal(
            session,
            Actor.console("browser-test"),
            PrincipalCreate(
                username=CHINA_LIAISON,
                display_name="Chinese liaison officer",
                role=Role.liaison,
                state="CHN",
                password=PASSWORD,
            ),
        )
        TOKENS[CHINA_LIAISON] = auth_service.issue_token(
            session,
            Actor.console("browser-test"),
            TokenCreate(name="t"),
            for_username=CHINA_LIAISON,
        ).secret
        for username, role, state, body in (
            (RUSSIA_LIAISON, Role.liaison, "RUS", None),
            (TAJIK_LIAISON, Role.liaison, "TJK", None),
            (CSTO_SECRETARY, Role.secretariat, None, "CSTO-SECRETARIAT"),
        ):
            auth_service.create_principal(
                session,
                Actor.console("browser-test"),
                PrincipalCreate(
                    username=username, display_name=username, role=role, state=state,
                    body=body, password=PASSWORD,
                ),
            )  # fmt: skip
        # The demo's collections and its two reports of one address, which correlate.
        create_demo_sharing(session)
        # The demonstration year of notifications, annual data and inspections.
        create_demo_cbm(session)
    # The demo crisis: the Kazakhstan scenario replayed through the node's API.
    load_demo_crisis(
        lambda: create_app(
            Settings(database_url=url, webhook_interval_seconds=0, allow_unsigned_submissions=True)
        ),
        lambda: unit_of_work(make_session_factory(engine)),
    )
    engine.dispose()
    # Synthetic events for the early-warning pages, in the store beside the node's database.
    with store.opened(Path(url.removeprefix("sqlite:///")).parent / "events.duckdb") as events:
        synthetic.write(events, synthetic.plan(60_000, months=120, seed=9), seed=9)
    with serving(url, Path(str(tmp_path_factory.getbasetemp()))) as base:
        yield base


@pytest.fixture(scope="session")
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


def log_in(page: Page, base: str, next_path: str = "/", username: str = USERNAME) -> None:
    page.goto(f"{base}/login?next={next_path}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
