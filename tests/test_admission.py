"""The admission line: at most ``limit`` requests in the app at once, a place given back when
the response starts (or the app fails), health and static files never queued."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from indivisible.admission import Admission, Message, Receive, Scope, Send
from indivisible.app import create_app
from indivisible.config import Settings
from tests.conftest import Backend


class Gate:
    """An app whose requests stay inside until the test opens their gate, counting how many
    are inside at once."""

    def __init__(self) -> None:
        self.inside = 0
        self.most = 0
        self.entered: asyncio.Queue[str] = asyncio.Queue()
        self.gates: dict[str, asyncio.Event] = {}
        self.fail: set[str] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        name = scope["path"]
        self.inside += 1
        self.most = max(self.most, self.inside)
        await self.entered.put(name)
        try:
            await self.gates.setdefault(name, asyncio.Event()).wait()
            if name in self.fail:
                raise RuntimeError(name)
            await send({"type": "http.response.start", "status": 200, "headers": []})
        finally:
            self.inside -= 1
        # The body goes out after the place is given back, as an event stream's would.
        await self.gates.setdefault(name + "/body", asyncio.Event()).wait()
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    def open(self, name: str) -> None:
        self.gates.setdefault(name, asyncio.Event()).set()


def _request(path: str) -> Scope:
    return {"type": "http", "path": path, "method": "GET"}


async def _receive() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


async def _send(message: Message) -> None:
    return None


async def _settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


def test_no_more_than_the_limit_are_inside_and_the_rest_go_in_in_order() -> None:
    async def run() -> None:
        gate = Gate()
        line = Admission(gate, limit=2)
        names = [f"/r{i}" for i in range(6)]
        tasks = [asyncio.create_task(line(_request(n), _receive, _send)) for n in names]
        await _settle()
        assert gate.inside == 2
        order = [gate.entered.get_nowait() for _ in range(2)]
        for name in names:
            gate.open(name + "/body")
        # Each response that starts lets the next in line enter, even while its body streams.
        for _ in range(4):
            gate.open(order[-2])
            await _settle()
            order.append(gate.entered.get_nowait())
            assert gate.inside == 2
        for name in names:
            gate.open(name)
        await asyncio.gather(*tasks)
        assert order == names
        assert gate.most == 2

    asyncio.run(run())


def test_a_failing_request_gives_its_place_back() -> None:
    async def run() -> None:
        gate = Gate()
        line = Admission(gate, limit=1)
        gate.fail.add("/bad")
        bad = asyncio.create_task(line(_request("/bad"), _receive, _send))
        good = asyncio.create_task(line(_request("/good"), _receive, _send))
        await _settle()
        assert gate.entered.get_nowait() == "/bad"
        assert gate.entered.empty()
        gate.open("/bad")
        with pytest.raises(RuntimeError):
            await bad
        await _settle()
        assert gate.entered.get_nowait() == "/good"
        gate.open("/good")
        gate.open("/good/body")
        await good

    asyncio.run(run())


@pytest.mark.parametrize("path", ["/api/v1/health", "/static/app.css"])
def test_health_and_static_files_do_not_wait(path: str) -> None:
    async def run() -> None:
        gate = Gate()
        line = Admission(gate, limit=1)
        busy = asyncio.create_task(line(_request("/busy"), _receive, _send))
        await _settle()
        passing: Any = asyncio.create_task(line(_request(path), _receive, _send))
        await _settle()
        assert gate.inside == 2
        for name in ("/busy", "/busy/body", path, path + "/body"):
            gate.open(name)
        await asyncio.gather(busy, passing)

    asyncio.run(run())


def test_a_burst_never_opens_more_connections_than_the_pool_keeps(backend: Backend) -> None:
    """More clients than places, each request taking a connection: the serving process opens
    at most one connection per place and keeps them, instead of opening and closing one per
    request past the pool (on PostgreSQL a new server process each time)."""
    limit = 8  # above SQLAlchemy's default pool of 5, which a burst would overflow
    app = create_app(
        Settings(
            database_url=backend.url,
            max_requests_in_flight=limit,
            webhook_interval_seconds=0,
            audit_seal_interval_seconds=0,
            rate_limit_per_token=0,
            rate_limit_per_address=0,
        )
    )
    opened = []
    event.listen(app.state.engine, "connect", lambda *_: opened.append(1))
    # A write without credentials: the request's session takes its connection (and begins)
    # before authentication refuses it.
    barrier = threading.Barrier(24)
    answers: list[int] = []

    with TestClient(app) as client:

        def burst() -> None:
            barrier.wait()
            for _ in range(10):
                answers.append(client.post("/api/v1/auth/keys", json={}).status_code)

        threads = [threading.Thread(target=burst) for _ in range(24)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    app.state.engine.dispose()
    assert answers == [401] * 240
    assert 1 <= len(opened) <= limit
