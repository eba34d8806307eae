"""A live node in a child process and Debian's Chromium, shared by the browser tests."""

from __future__ import annotations

import os
import selectors
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from indivisible.auth import service as auth_service
from indivisible.auth.principal import Actor, Role
from indivisible.auth.schemas import PrincipalCreate
from indivisible.db import make_engine, make_session_factory, unit_of_work
from indivisible.migrate import upgrade
from indivisible.registry import loader

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[2]
USERNAME = "officer"
PASSWORD = "browser-test-password"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_serving(
    process: subprocess.Popen[str], log: IO[str], limit: float = 60.0
) -> threading.Thread:
    """Reads uvicorn's output until it says it serves; a readiness wait, not a timing check."""
    assert process.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + limit
    while (left := deadline - time.monotonic()) > 0 and selector.select(timeout=left):
        line = process.stdout.readline()
        if not line:
            break
        log.write(line)
        if "Application startup complete" in line:
            # Keep draining the output, or a full pipe would stall the server.
            drain = threading.Thread(target=log.writelines, args=(process.stdout,), daemon=True)
            drain.start()
            selector.close()
            return drain
    selector.close()
    process.kill()
    pytest.fail(f"the node did not start; see {log.name}")


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
            "--no-access-log",
        ],
        cwd=ROOT,
        env={**os.environ, "INDIVISIBLE_DATABASE_URL": url},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    drain = _wait_until_serving(process, log)
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    process.wait(timeout=10)
    drain.join(timeout=10)
    if process.stdout is not None:
        process.stdout.close()
    log.close()


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


def log_in(page: Page, base: str, next_path: str = "/") -> None:
    page.goto(f"{base}/login?next={next_path}")
    page.get_by_label("Username").fill(USERNAME)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
