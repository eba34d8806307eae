"""Fixtures: real databases (SQLite always, PostgreSQL when configured), built by Alembic and
loaded with the shipped reference data once per backend; each test runs in a rolled-back transaction."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from indivisible.app import create_app
from indivisible.auth import service as auth_service
from indivisible.auth.principal import Actor, Role
from indivisible.auth.schemas import PrincipalCreate, TokenCreate
from indivisible.config import Settings
from indivisible.db import make_engine, make_session_factory, unit_of_work
from indivisible.migrate import upgrade
from indivisible.registry import loader

POSTGRES_ENV = "INDIVISIBLE_TEST_POSTGRES_URL"
BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get(POSTGRES_ENV) else [])


def _postgres_database(base_url: str) -> tuple[str, Engine]:
    """A fresh database on the configured server, so runs never see each other's rows."""
    url = make_url(base_url.replace("postgresql://", "postgresql+psycopg://", 1))
    admin = make_engine(url.render_as_string(hide_password=False))
    name = f"indivisible_test_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # any failure to reach the server must fail the run, not skip it
        pytest.fail(f"{POSTGRES_ENV} is set but PostgreSQL is unreachable: {exc}", pytrace=False)
    return url.set(database=name).render_as_string(hide_password=False), admin


@dataclass
class Backend:
    name: str
    url: str
    engine: Engine
    report: loader.LoadReport


@pytest.fixture(scope="session", params=BACKENDS)
def backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Backend]:
    admin: Engine | None = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'test.db'}"
    else:
        url, admin = _postgres_database(os.environ[POSTGRES_ENV])
    engine = make_engine(url)
    upgrade(engine)
    with unit_of_work(make_session_factory(engine)) as session:
        report = loader.load(session, Actor.console("test-setup"))
    yield Backend(request.param, url, engine, report)
    engine.dispose()
    if admin is not None:
        _drop_postgres_database(admin, url)


def _drop_postgres_database(admin: Engine, url: str) -> None:
    name = make_url(url).database
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def empty_engine(backend: Backend, tmp_path: Path) -> Iterator[Engine]:
    """An empty database on the same backend, for tests of the migrations themselves."""
    admin: Engine | None = None
    if backend.name == "sqlite":
        url = f"sqlite:///{tmp_path / 'empty.db'}"
    else:
        url, admin = _postgres_database(os.environ[POSTGRES_ENV])
    engine = make_engine(url)
    yield engine
    engine.dispose()
    if admin is not None:
        _drop_postgres_database(admin, url)


@pytest.fixture
def connection(backend: Backend) -> Iterator[Connection]:
    conn = backend.engine.connect()
    outer = conn.begin()
    yield conn
    outer.rollback()
    conn.close()


@pytest.fixture
def session_factory(connection: Connection) -> sessionmaker[Session]:
    # Commits inside the code under test release savepoints; the outer transaction is rolled back.
    return sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )


@pytest.fixture
def db(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    session = session_factory()
    yield session
    session.close()


@pytest.fixture(scope="session")
def app(backend: Backend) -> FastAPI:
    # Webhooks are delivered and the audit log sealed by tests that call deliver_due and
    # seal themselves: a background loop would share the test's connection from another thread.
    return create_app(
        Settings(
            database_url=backend.url,
            max_body_bytes=64_000,
            webhook_interval_seconds=0,
            audit_seal_interval_seconds=0,
            # Most tests post unsigned; tests/auth/test_submissions.py turns this off.
            allow_unsigned_submissions=True,
            # One app serves the whole run from one address, faster than any client would:
            # tests/auth/test_rate_limits.py puts limits on with a clock of its own.
            rate_limit_per_token=0,
            rate_limit_per_address=0,
            login_failures_per_account_and_address=0,
            login_failures_per_address=0,
            login_failures_per_account=0,
        )
    )


@pytest.fixture
def client(app: FastAPI, session_factory: sessionmaker[Session]) -> Iterator[TestClient]:
    original = app.state.session_factory
    app.state.session_factory = session_factory
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client
    app.state.session_factory = original


@dataclass
class Account:
    username: str
    password: str
    token: str
    role: Role

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


ACCOUNT_SPECS: dict[str, tuple[Role, str | None, str | None]] = {
    "admin": (Role.admin, None, None),
    "secretariat": (Role.secretariat, None, "SCO-SECRETARIAT"),
    "liaison": (Role.liaison, "KAZ", None),
    "analyst": (Role.analyst, "RUS", None),
    "observer": (Role.observer, "CHN", None),
}


@pytest.fixture
def accounts(db: Session) -> dict[str, Account]:
    """One account per role, created in the test's transaction."""
    actor = Actor.console("test")
    out = {}
    for name, (role, state, body) in ACCOUNT_SPECS.items():
        password = f"{name}-password-123"
        auth_service.create_principal(
            db,
            actor,
            PrincipalCreate(
                username=f"t-{name}",
                display_name=name.title(),
                role=role,
                state=state,
                body=body,
                password=password,
            ),
        )
        issued = auth_service.issue_token(
            db, actor, TokenCreate(name="test"), for_username=f"t-{name}"
        )
        out[name] = Account(f"t-{name}", password, issued.secret, role)
    db.commit()
    return out


DATA_DIR = Path(__file__).parent / "registry" / "fixtures"


def bearer_tokens(
    db: Session, prefix: str, users: dict[str, tuple[Role, str | None, str | None]]
) -> dict[str, dict[str, str]]:
    """Principals named ``<prefix>-<name>`` with (role, state, body), each with an API token;
    answers the Authorization header of each by name."""
    console = Actor.console("test")
    headers = {}
    for name, (role, state, body) in users.items():
        username = f"{prefix}-{name}".lower()
        auth_service.create_principal(
            db,
            console,
            PrincipalCreate(
                username=username, display_name=name, role=role, state=state, body=body,
                password="long-enough-pw",
            ),
        )  # fmt: skip
        issued = auth_service.issue_token(db, console, TokenCreate(name="t"), for_username=username)
        headers[name] = {"Authorization": f"Bearer {issued.secret}"}
    db.commit()
    return headers
