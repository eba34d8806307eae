"""A database that cannot serve now is a 503 with Retry-After, in the protocol of the path
asked (problem+json, TAXII's error resource, an HTML page), never a 500 and never a false
success; a bug stays a 500. On PostgreSQL a connection killed mid-transaction leaves the pool
healthy: the next requests succeed without a restart."""

from __future__ import annotations

import asyncio
import os
import socket
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, func, select, text
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import Session, sessionmaker

from indivisible import db
from indivisible.app import _every, create_app
from indivisible.cbm.models import Notification
from indivisible.config import Settings
from indivisible.db import make_engine
from indivisible.deps import SESSION_COOKIE, DbSession
from indivisible.migrate import upgrade
from tests.conftest import POSTGRES_ENV, Account, _drop_postgres_database, _postgres_database

BEARER = {"Authorization": "Bearer ind_not-checked-the-database-is-down"}


def closed_port() -> int:
    """A port nothing listens on: bound, then released, so a connection there is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def node(url: str) -> FastAPI:
    return create_app(
        Settings(database_url=url, webhook_interval_seconds=0, audit_seal_interval_seconds=0)
    )


def assert_unavailable(answer: Any, media: str, code: str = "database_unavailable") -> None:
    assert answer.status_code == 503, answer.text
    assert int(answer.headers["retry-after"]) >= 1
    assert answer.headers["content-type"].startswith(media)
    # The guard's security headers are on this answer as on any other.
    assert answer.headers["x-content-type-options"] == "nosniff"
    if media == "application/problem+json":
        body = answer.json()
        assert body["status"] == 503 and body["code"] == code
        assert body["type"] == f"urn:indivisible:error:{code}" and body["detail"]
    elif media.startswith("application/taxii+json"):
        body = answer.json()
        assert body["http_status"] == "503" and body["error_code"] == code
        assert body["title"] and body["description"]
    else:
        assert "<html" in answer.text


@pytest.fixture
def down() -> Iterator[TestClient]:
    """A node whose PostgreSQL server is not there (nothing listens on its port)."""
    app = node(f"postgresql://postgres@127.0.0.1:{closed_port()}/indivisible")
    with TestClient(app, raise_server_exceptions=True) as client:
        yield client


def test_api_taxii_and_pages_answer_503_while_the_database_is_down(down: TestClient) -> None:
    # raise_server_exceptions is on: an outage that reached the 500 handler would raise here.
    assert_unavailable(
        down.get("/api/v1/cbm/notifications", headers=BEARER), "application/problem+json"
    )
    assert_unavailable(
        down.post("/api/v1/cbm/notifications", json={"kind": "exercise"}, headers=BEARER),
        "application/problem+json",
    )
    assert_unavailable(down.get("/taxii2/", headers=BEARER), "application/taxii+json")
    assert_unavailable(
        down.get("/taxii2/node/collections/", headers=BEARER), "application/taxii+json"
    )
    down.cookies.set(SESSION_COOKIE, "a-session-the-node-cannot-look-up")
    assert_unavailable(down.get("/"), "text/html")
    # What needs no database is still served.
    assert down.get("/api/v1/health").status_code == 200


def test_the_503_speaks_the_callers_language(down: TestClient) -> None:
    english = down.get("/api/v1/cbm/notifications", headers=BEARER).json()
    russian = down.get(
        "/api/v1/cbm/notifications", headers={**BEARER, "Accept-Language": "ru"}
    ).json()
    # Same error either way; the text comes from the catalogue (English until it is translated).
    assert russian["code"] == english["code"] == "database_unavailable"
    assert russian["detail"]


def test_a_sqlite_file_out_of_reach_is_503(tmp_path: Path) -> None:
    app = node(f"sqlite:///{tmp_path / 'no-such-directory' / 'node.db'}")
    with TestClient(app, raise_server_exceptions=True) as client:
        assert_unavailable(
            client.get("/api/v1/cbm/notifications", headers=BEARER), "application/problem+json"
        )


def _write_route(app: FastAPI) -> None:
    @app.post("/api/v1/test-only/write")
    def write(session: DbSession) -> dict[str, int]:
        # Any write: it needs SQLite's write lock.
        session.execute(text("UPDATE audit_log_state SET id = id"))
        return {"ok": 1}


def test_sqlite_locked_by_another_writer_is_503_busy(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'node.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    app = node(url)
    _write_route(app)

    # The node waits busy_timeout (5 s) for the lock; a short wait keeps this test quick.
    def short_wait(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA busy_timeout=50")

    event.listen(app.state.engine, "connect", short_wait)
    holder = sqlite3.connect(tmp_path / "node.db", isolation_level=None)
    try:
        with TestClient(app, raise_server_exceptions=True) as client:
            assert client.post("/api/v1/test-only/write").status_code == 200
            holder.execute("BEGIN IMMEDIATE")
            answer = client.post("/api/v1/test-only/write")
            assert_unavailable(answer, "application/problem+json", code="database_busy")
            holder.execute("ROLLBACK")
            assert client.post("/api/v1/test-only/write").status_code == 200
    finally:
        holder.close()


@pytest.fixture
def commit_raises(app: FastAPI, client: TestClient) -> Iterator[list[Exception]]:
    """Every commit of the node's requests raises the last error put in the list answered.
    (Starlette's State is no place for monkeypatch: it would delete the attribute on undo.)"""
    del client  # it points the node at the test's transaction; this wraps that
    errors: list[Exception] = []
    original: sessionmaker[Session] = app.state.session_factory

    def factory() -> Session:
        session = original()

        def commit() -> None:
            raise errors[-1]

        session.commit = commit  # type: ignore[method-assign]
        return session

    app.state.session_factory = factory
    try:
        yield errors
    finally:
        app.state.session_factory = original


def _notifications(db: Session) -> int:
    return int(db.scalar(select(func.count()).select_from(Notification)) or 0)


NOTIFICATION = {
    "kind": "exercise",
    "start": "2026-06-01",
    "end": "2026-06-10",
    "location": {"point": [80.0, 44.5], "radius_km": 20},
    "forces": {"personnel": 36000},
}


def test_a_commit_cut_off_is_503_and_nothing_is_acknowledged(
    client: TestClient,
    accounts: dict[str, Account],
    db: Session,
    commit_raises: list[Exception],
) -> None:
    commit_raises.append(
        OperationalError(
            "COMMIT", {}, psycopg.OperationalError("server closed the connection unexpectedly")
        )
    )
    before = _notifications(db)
    filed = client.post(
        "/api/v1/cbm/notifications", json=NOTIFICATION, headers=accounts["liaison"].headers
    )
    assert_unavailable(filed, "application/problem+json")
    # The request owned the transaction; it was rolled back, not half kept.
    assert _notifications(db) == before


def test_a_bug_in_the_database_layer_stays_a_500(
    client: TestClient,
    accounts: dict[str, Account],
    db: Session,
    commit_raises: list[Exception],
) -> None:
    before = _notifications(db)
    for bug in (
        ProgrammingError("COMMIT", {}, psycopg.errors.UndefinedTable('no table "x"')),
        # A statement the database refuses is a bug, whatever the driver's class for it.
        OperationalError("SELECT", {}, sqlite3.OperationalError("no such table: x")),
        OperationalError("SELECT", {}, psycopg.errors.QueryCanceled("statement timeout")),
    ):
        commit_raises.append(bug)
        filed = client.post(
            "/api/v1/cbm/notifications", json=NOTIFICATION, headers=accounts["liaison"].headers
        )
        assert filed.status_code == 500 and "retry-after" not in filed.headers, bug
        assert filed.json()["status"] == 500
    assert _notifications(db) == before


@pytest.fixture
def postgres_node() -> Iterator[tuple[FastAPI, Engine]]:
    """A node on a database of its own on the configured server, with the server's admin
    engine (to kill the node's connections)."""
    if not os.environ.get(POSTGRES_ENV):
        pytest.skip(f"PostgreSQL only: set {POSTGRES_ENV}")
    url, admin = _postgres_database(os.environ[POSTGRES_ENV])
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    app = node(url)
    yield app, admin
    app.state.engine.dispose()
    _drop_postgres_database(admin, url)


def test_a_connection_killed_mid_transaction_leaves_the_pool_healthy(
    postgres_node: tuple[FastAPI, Engine],
) -> None:
    app, admin = postgres_node

    def terminate(pid: int | None = None) -> None:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            if pid is not None:
                conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
                return
            # Every connection of the node, idle in its pool. Without a timeout,
            # pg_terminate_backend only signals; this part of the test is of connections the
            # server has dropped, so the server waits until each backend is gone (one still
            # exiting is a request's 503, tested above) and says whether it went.
            gone = conn.scalars(
                text(
                    "SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity "
                    "WHERE datname = :name AND backend_type = 'client backend' "
                    "AND pid <> pg_backend_pid()"
                ),
                {"name": app.state.engine.url.database},
            ).all()
            assert all(gone), "a terminated backend did not exit"

    @app.post("/api/v1/test-only/killed")
    def killed(session: DbSession) -> dict[str, int]:
        session.execute(text("UPDATE audit_log_state SET id = id"))
        terminate(int(session.scalar(text("SELECT pg_backend_pid()")) or 0))
        session.execute(text("SELECT 1"))  # the server is gone from under this transaction
        return {"ok": 1}

    @app.get("/api/v1/test-only/read")
    def read(session: DbSession) -> dict[str, int]:
        return {"n": int(session.scalar(text("SELECT count(*) FROM change_record")) or 0)}

    with TestClient(app, raise_server_exceptions=True) as client:
        # More kills than the pool holds connections: none may stay behind, broken.
        for _ in range(12):
            assert_unavailable(client.post("/api/v1/test-only/killed"), "application/problem+json")
            assert client.get("/api/v1/test-only/read").status_code == 200
        # Pooled connections the server dropped while idle are replaced on checkout.
        for _ in range(3):
            terminate()
            assert client.get("/api/v1/test-only/read").status_code == 200


def test_a_pooled_connection_is_asked_only_after_being_idle_long(
    postgres_node: tuple[FastAPI, Engine], monkeypatch: pytest.MonkeyPatch
) -> None:
    """No round trip to check a connection used a moment ago (its socket shows a server that
    dropped it, as the test above proves); one idle past the limit is asked, and replaced
    when the server does not answer."""
    app, _admin = postgres_node
    engine: Engine = app.state.engine
    asked: list[bool] = []
    answers = iter([False, True, True, True])

    def ping(_dbapi_connection: Any) -> bool:
        answered = next(answers)
        asked.append(answered)
        if not answered:
            raise psycopg.OperationalError("no answer")
        return True

    monkeypatch.setattr(engine.dialect, "do_ping", ping)

    def backend() -> int:
        with engine.connect() as conn:
            return int(conn.scalar(text("SELECT pg_backend_pid()")) or 0)

    first = backend()
    assert backend() == first and asked == []
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 0.0)
    # Asked, no answer: a new connection (asked in turn, as it is not used yet) instead.
    replaced = backend()
    assert replaced != first and asked == [False, True]
    assert backend() == replaced and asked == [False, True, True]


def test_a_background_round_that_meets_an_outage_says_so_in_one_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The audit sealer and webhook delivery run every few seconds: a locked or absent
    database is logged as a skipped round, a bug with its traceback."""
    locked = sqlite3.OperationalError("database is locked")
    locked.sqlite_errorcode = 5  # SQLITE_BUSY
    failures: list[BaseException] = [
        OperationalError("COMMIT", {}, locked),
        RuntimeError("a bug"),
    ]

    def work() -> None:
        if failures:
            raise failures.pop(0)

    async def two_rounds() -> None:
        loop = asyncio.create_task(_every(0.01, work, "audit sealing"))
        while failures:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)
        loop.cancel()

    with caplog.at_level("WARNING", logger="indivisible.app"):
        asyncio.run(two_rounds())
    skipped, failed = (r for r in caplog.records if "audit sealing" in r.getMessage())
    assert skipped.levelname == "WARNING" and skipped.exc_info is None
    assert "skipped (database_busy)" in skipped.getMessage()
    assert failed.levelname == "ERROR" and failed.exc_info is not None
