"""Engines, sessions and the declarative base shared by every domain's tables."""

from __future__ import annotations

import select
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import psycopg
from sqlalchemy import Engine, MetaData, create_engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from indivisible import jsonio
from indivisible.errors import Unavailable
from indivisible.i18n import _

# Named constraints make Alembic migrations identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite defers BEGIN on its own and so breaks SAVEPOINTs; we take over transaction control
    # (see _begin_sqlite) so that a refused fact's savepoint really rolls back.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # SQLite ignores foreign keys unless every connection asks for them.
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


# Execution option marking a transaction that will write (deps.get_db sets it for unsafe
# methods). SQLite's deferred BEGIN takes the write lock at the first write, and refuses it at
# once, without waiting busy_timeout, when another connection committed since this
# transaction's first read (SQLITE_BUSY_SNAPSHOT): with a few concurrent writers, many writes
# failed so. A writing transaction takes the lock when it begins, and waits its turn.
WRITES = "indivisible_writes"


def _begin_sqlite(connection: Any) -> None:
    immediate = connection.get_execution_options().get(WRITES, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


# JSON columns are read with orjson (jsonio) on both databases: 0.5 µs a document where
# json.loads took 2.8 (findings' parameters and signed documents), and an inbox page spent 6%
# of its time there.
def make_engine(url: str, pool_size: int | None = None) -> Engine:
    """``pool_size``: the connections the pool keeps open (SQLAlchemy's default, 5,
    when None). A serving process asks for what it uses at once: past the pool, each
    connection is opened for one request and closed after it, a new PostgreSQL backend every
    time (the load benchmark, benchmarks/README.md)."""
    sizing = {} if pool_size is None else {"pool_size": pool_size}
    if url.startswith("sqlite"):
        # An in-memory database lives in one connection, with a pool that has no size.
        in_memory = make_url(url).database in (None, "", ":memory:")
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False},
            hide_parameters=True,
            json_deserializer=jsonio.loads,
            **({} if in_memory else sizing),
        )
        event.listen(engine, "connect", _configure_sqlite)
        event.listen(engine, "begin", _begin_sqlite)
        return engine
    if url.startswith("postgresql://"):
        # psycopg 3 is the driver we install; a bare postgresql:// URL would ask for psycopg2.
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    # A server that drops packets (not one that refuses them) would hold every request
    # until the client gives up; bounded, it is a 503 like a server that is down. The URL's
    # own connect_timeout wins.
    connect_args = {} if "connect_timeout" in make_url(url).query else {"connect_timeout": 10}
    # hide_parameters keeps values (token digests, passwords' hashes) out of error messages and logs.
    engine = create_engine(
        url,
        hide_parameters=True,
        connect_args=connect_args,
        json_deserializer=jsonio.loads,
        **sizing,
    )
    event.listen(engine, "connect", _fresh)
    event.listen(engine, "checkin", _fresh)
    event.listen(engine, "checkout", _checker(engine))
    return engine


# A pooled connection is checked when a request takes it, so that one the server dropped
# (restarted, or its backend terminated) is replaced and the node recovers alone, as
# SQLAlchemy's pool_pre_ping does. pool_pre_ping asks the server every time: a round trip
# per request, a tenth of a light request's CPU (benchmarks/README.md, "Connections checked
# without a round trip"). An idle connection's socket has nothing to read unless the server
# closed it or sent it an error, and seeing that costs no round trip. A connection idle for
# longer than this is still asked, for what a socket does not show: a peer gone without
# closing, a firewall that forgot the connection.
PING_AFTER_IDLE_SECONDS = 10.0
_IDLE_SINCE = "indivisible_idle_since"


def _fresh(_dbapi_connection: Any, record: Any) -> None:
    record.info[_IDLE_SINCE] = time.monotonic()


def _checker(engine: Engine) -> Callable[[Any, Any, Any], None]:
    def check(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        try:
            readable, _writable, _failed = select.select([dbapi_connection.fileno()], [], [], 0)
        except (OSError, ValueError, psycopg.Error):  # closed: no socket left to look at
            raise sa_exc.DisconnectionError() from None
        if readable:
            # The server spoke while nobody asked: its goodbye (a FATAL message, then the close).
            raise sa_exc.DisconnectionError()
        idle_since = record.info.get(_IDLE_SINCE, 0.0)
        if time.monotonic() - idle_since > PING_AFTER_IDLE_SECONDS:
            try:
                engine.dialect.do_ping(dbapi_connection)
            except psycopg.Error:
                raise sa_exc.DisconnectionError() from None

    return check


# PostgreSQL SQLSTATEs that mean "not now" rather than "not this": connection exceptions
# (class 08), administrator or crash shutdown and "starting up / shutting down" (57P01-57P03),
# too many connections (53300). Deadlocks, statement timeouts and program limits stay bugs.
_PG_UNAVAILABLE = ("08", "57P01", "57P02", "57P03", "53300")
# SQLite primary result codes: BUSY (another writer held the lock past busy_timeout, or a
# commit made a deferred transaction's snapshot stale) and CANTOPEN (the file is out of reach).
# LOCKED is a conflict inside one connection, a bug.
_SQLITE_BUSY = 5
_SQLITE_CANTOPEN = 14


def unavailable(exc: BaseException) -> Unavailable | None:
    """The 503 to answer for a database error that says the database cannot serve now, or
    None for any other error (a bug, to be answered 500 and logged as one).

    Only connection-level failures count: a refused or broken connection, a server shutting
    down or starting up, a pool with no connection free, SQLite's lock. A statement the
    database refuses (bad SQL, a constraint, a missing table) is never one."""
    if isinstance(exc, sa_exc.TimeoutError):  # every pooled connection is taken
        return Unavailable(
            _("The database is busy; try again in a moment."), code="database_busy", retry_after=1
        )
    if not isinstance(exc, sa_exc.DBAPIError):
        return None
    orig = exc.orig
    down = exc.connection_invalidated or (
        isinstance(orig, psycopg.OperationalError)
        # No SQLSTATE: the client failed to reach the server or lost it mid-statement.
        and (orig.sqlstate is None or orig.sqlstate.startswith(_PG_UNAVAILABLE))
    )
    if isinstance(orig, sqlite3.OperationalError):
        code = getattr(orig, "sqlite_errorcode", 0) & 0xFF
        if code == _SQLITE_BUSY:
            return Unavailable(
                _("The database is busy; try again in a moment."),
                code="database_busy",
                retry_after=1,
            )
        down = down or code == _SQLITE_CANTOPEN
    if not down:
        return None
    return Unavailable(
        _("The database is unavailable; try again in a few seconds."),
        code="database_unavailable",
    )


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: commit if the block succeeds, roll back if it raises."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def add_once(session: Session, row: Base) -> bool:
    """Add a row that a unique column keeps from being added twice (a replayed signature):
    False, with nothing of it left in the transaction, when it is there already."""
    try:
        with session.begin_nested():
            session.add(row)
    except sa_exc.IntegrityError:
        return False
    return True


def as_utc(moment: datetime | None) -> datetime | None:
    """A stored moment as an aware UTC datetime: SQLite hands back naive ones, and everything
    is stored in UTC."""
    return moment if moment is None or moment.tzinfo else moment.replace(tzinfo=UTC)
