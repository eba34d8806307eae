"""Backups of a node's database that one can restore on SQLite or PostgreSQL, and check.

A backup is one zip file: ``manifest.json`` and one ``tables/<table>.jsonl`` per table, each
line a JSON array of one row's values in the manifest's column order, rows in primary-key
order (binary order of text keys, the same on both databases). Every value is written in a
form that reads back exactly: moments in UTC with microseconds, days as ISO dates, JSON
columns as the text stored, floats as the shortest text that reads back as the same double,
bytes in base64, decimals as text. The manifest holds the format, the Indivisible version,
the Alembic revision, the source database, the moment, and for each table its columns, row
count and the SHA-256 of its lines; ``digest`` covers those.

Consistency: every table is read in one read transaction, so the backup is the database as
it was at one moment while the node goes on writing (PostgreSQL: REPEATABLE READ, READ ONLY;
SQLite: one read transaction, which WAL mode lets writers work beside).

Restore goes into a database with no rows, in one transaction: the schema is migrated to the
backup's revision, the rows inserted, PostgreSQL's sequences set past the largest ids, every
table read back and compared with the manifest's counts and digests, the schema upgraded to
this version's head if the backup is older, and the audit log verified. Anything wrong rolls
it all back. A backup from a newer version (a revision this code does not know) is refused.

Not in a backup: the node's key file (a secret: the operator keeps it apart) and the
early-warning event store (DuckDB), which holds imported data that is imported again from
its sources. Everything else the node knows is, secrets in the database included (password
and token hashes, webhook and federation secrets): a backup file is as sensitive as the
database, and is written readable by its owner alone.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import os
import time
import uuid
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from datetime import time as clock
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO

from alembic import command
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Connection,
    Date,
    DateTime,
    Engine,
    Float,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    Time,
    TypeDecorator,
    Uuid,
    cast,
    func,
    inspect,
    select,
    text,
)
from sqlalchemy import exc as sa_exc
from sqlalchemy import table as table_clause
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

import indivisible
from indivisible import jsonio
from indivisible.audit import ledger
from indivisible.errors import IndivisibleError
from indivisible.i18n import _
from indivisible.migrate import alembic_config
from indivisible.models import Base

FORMAT = "indivisible-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
BATCH = 2000

# (step, table, rows done in the step, rows in the step): how the CLI draws its progress bar.
ProgressFn = Callable[[str, str, int, int], None]


class BackupError(IndivisibleError):
    """The backup or restore cannot be done: a file that is not a backup, a database that is
    not empty, a revision this version cannot restore. Nothing was written."""


class Mismatch(BackupError):
    """What was read does not match what the backup says: a changed or damaged file, or a
    restore that did not come out the same. Nothing was written."""


# --- values ---------------------------------------------------------------------------------


def _utc(value: datetime) -> datetime:
    # SQLite hands back naive moments; everything is stored in UTC.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _encode_float(value: float) -> float | str:
    # JSON has no NaN or infinities: they are written as the text float() reads back.
    return value if math.isfinite(value) else repr(value)


def _whole(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"not a whole number: {value!r}")
    return value


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"not true or false: {value!r}")
    return value


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"not a number: {value!r}")
    return float(value)


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"not text: {value!r}")
    return value


# How each kind of column is written to the file and read back, by the kind's name.
_ENCODE: dict[str, Callable[[Any], Any]] = {
    "int": _whole,
    "bool": _flag,
    "float": lambda v: _encode_float(float(v)),
    "decimal": lambda v: str(v),
    "str": _text,
    "date": lambda v: v.isoformat(),
    "datetime": lambda v: v.isoformat(timespec="microseconds"),
    "datetime_tz": lambda v: _utc(v).isoformat(timespec="microseconds"),
    "time": lambda v: v.isoformat(timespec="microseconds"),
    "json": _text,
    "bytes": lambda v: base64.b64encode(bytes(v)).decode("ascii"),
    "uuid": str,
}


def _decode_moment(value: Any) -> datetime:
    moment = datetime.fromisoformat(_text(value))
    if moment.tzinfo is None:
        raise ValueError(f"a moment without its offset: {value!r}")
    return moment.astimezone(UTC)


_DECODE: dict[str, Callable[[Any], Any]] = {
    "int": _whole,
    "bool": _flag,
    "float": _number,
    "decimal": lambda v: Decimal(_text(v)),
    "str": _text,
    "date": lambda v: date.fromisoformat(_text(v)),
    "datetime": lambda v: datetime.fromisoformat(_text(v)),
    "datetime_tz": _decode_moment,
    "time": lambda v: clock.fromisoformat(_text(v)),
    "json": _text,
    "bytes": lambda v: base64.b64decode(_text(v), validate=True),
    "uuid": lambda v: uuid.UUID(_text(v)),
}


# Checked in order: a Float is a Numeric, and Text and Enum are Strings.
_KINDS: tuple[tuple[type[Any], str], ...] = (
    (Boolean, "bool"),
    (Integer, "int"),
    (Float, "float"),
    (Numeric, "decimal"),
    (Date, "date"),
    (Time, "time"),
    (JSON, "json"),
    (LargeBinary, "bytes"),
    (Uuid, "uuid"),
    (String, "str"),
)


def _kind(column: Column[Any]) -> str | None:
    """The kind a column's values are written as; None for a type this format cannot keep."""
    kind = column.type
    if isinstance(kind, DateTime):
        return "datetime_tz" if kind.timezone else "datetime"
    return next((name for family, name in _KINDS if isinstance(kind, family)), None)


def _line(values: list[Any]) -> bytes:
    return jsonio.dumps(values).encode("utf-8") + b"\n"


# --- tables ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    kind: str


@dataclass(frozen=True)
class TableSpec:
    name: str
    columns: tuple[ColumnSpec, ...]
    primary_key: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "columns": [{"name": c.name, "kind": c.kind} for c in self.columns],
            "primary_key": list(self.primary_key),
        }


def schema() -> list[TableSpec]:
    """Every table of this version's schema, in the order rows can be inserted (a table after
    those it refers to)."""
    specs = []
    for table in Base.metadata.sorted_tables:
        columns = []
        for column in table.columns:
            kind = _kind(column)
            if kind is None:  # a new column type needs a kind here before it ships
                raise BackupError(
                    _("Column {table}.{column} has a type backups cannot keep: {type}."),
                    code="backup_unsupported_type",
                    params={"table": table.name, "column": column.name, "type": str(column.type)},
                )
            columns.append(ColumnSpec(column.name, kind))
        specs.append(
            TableSpec(table.name, tuple(columns), tuple(c.name for c in table.primary_key))
        )
    return specs


class _JsonText(TypeDecorator[str]):
    """A JSON column read as the text stored, so that it is written back the same."""

    impl = Text
    cache_ok = True

    def column_expression(self, column: ColumnElement[Any]) -> ColumnElement[Any]:
        return cast(column, Text)


class _PostgresJsonText(_JsonText):
    """The same on PostgreSQL, where the text is cast back to json on its way in."""

    cache_ok = True

    def bind_expression(self, bindvalue: Any) -> ColumnElement[Any]:
        return cast(bindvalue, postgresql.JSON)


def _column_type(kind: str, dialect: str) -> Any:
    if kind == "json":
        return _PostgresJsonText() if dialect == "postgresql" else _JsonText()
    return {
        "int": BigInteger(),
        "bool": Boolean(),
        "float": Float(),
        "decimal": Numeric(asdecimal=True),
        "str": Text(),
        "date": Date(),
        "datetime": DateTime(),
        "datetime_tz": DateTime(timezone=True),
        "time": Time(),
        "bytes": LargeBinary(),
        "uuid": Uuid(),
    }[kind]


def _table(spec: TableSpec, dialect: str) -> Table:
    """A table to read and write ``spec``'s rows with, independent of this version's models
    (a backup of an older schema is restored with its own columns)."""
    return Table(
        spec.name,
        MetaData(),
        *(
            Column(c.name, _column_type(c.kind, dialect), primary_key=c.name in spec.primary_key)
            for c in spec.columns
        ),
    )


def _rows(connection: Connection, spec: TableSpec) -> Iterator[bytes]:
    """The table's rows as lines of the backup, in primary-key order: text keys in binary
    order, which is SQLite's and, with COLLATE "C", PostgreSQL's."""
    dialect = connection.dialect.name
    table = _table(spec, dialect)
    kinds = {c.name: c.kind for c in spec.columns}
    order = [
        table.c[name].collate("C")
        if dialect == "postgresql" and kinds[name] == "str"
        else table.c[name]
        for name in spec.primary_key
    ]
    encoders = [_ENCODE[c.kind] for c in spec.columns]
    stmt = select(*table.c).order_by(*order).execution_options(yield_per=BATCH)
    try:
        for row in connection.execute(stmt):
            yield _line([None if v is None else e(v) for e, v in zip(encoders, row, strict=True)])
    except (ValueError, TypeError) as exc:  # a value SQLite kept in another type than declared
        raise BackupError(
            _("Table {table} holds a value that cannot be written as its column's type: {error}"),
            code="backup_bad_value",
            params={"table": spec.name, "error": str(exc)},
        ) from exc


def _count(connection: Connection, name: str) -> int:
    return int(
        connection.execute(select(func.count()).select_from(table_clause(name))).scalar_one()
    )


def _quoted(connection: Connection, name: str) -> str:
    return connection.dialect.identifier_preparer.quote(name)


# --- reports --------------------------------------------------------------------------------


@dataclass
class TableSummary:
    name: str
    rows: int
    sha256: str


@dataclass
class BackupReport:
    """What a backup holds: written by ``create``, read back by ``check``."""

    path: Path
    revision: str
    dialect: str
    created_at: str
    indivisible_version: str
    digest: str
    tables: list[TableSummary] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables)


@dataclass
class RestoreReport:
    path: Path
    revision: str  # the backup's
    head: str  # the schema's after the restore
    source_dialect: str
    dialect: str
    digest: str
    tables: list[TableSummary]
    audit: ledger.Verification
    seconds: float = 0.0

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables)


def tables_digest(tables: list[TableSummary]) -> str:
    """The manifest's ``digest``: SHA-256 over the compact JSON of [name, rows, sha256] of
    every table, in the manifest's order."""
    text_ = json.dumps(
        [[t.name, t.rows, t.sha256] for t in tables], separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(text_.encode()).hexdigest()


# --- revisions ------------------------------------------------------------------------------


def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config("sqlite://"))


def code_revision() -> str:
    """The schema revision this version of Indivisible migrates to."""
    head = _scripts().get_current_head()
    assert head is not None
    return head


def _known(revision: str) -> bool:
    try:
        return _scripts().get_revision(revision) is not None
    except CommandError:
        return False


def _at_or_after(revision: str, other: str) -> bool:
    """Whether ``revision`` is ``other`` or comes after it."""
    return any(r.revision == other for r in _scripts().iterate_revisions(revision, "base"))


def _revision(connection: Connection) -> str | None:
    if "alembic_version" not in inspect(connection).get_table_names():
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def _migrate(connection: Connection, revision: str) -> None:
    """Alembic's upgrade on this connection, inside its transaction."""
    config = alembic_config(connection.engine.url.render_as_string(hide_password=False))
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


# --- backup ---------------------------------------------------------------------------------


@contextmanager
def _snapshot(engine: Engine) -> Iterator[Connection]:
    """One read transaction over the whole database."""
    with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection.execution_options(
                isolation_level="REPEATABLE READ", postgresql_readonly=True
            )
        with connection.begin():
            yield connection


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def create(engine: Engine, path: Path, progress: ProgressFn | None = None) -> BackupReport:
    """Write a backup of the database to ``path``, a file that must not exist yet. It is
    written beside as ``<path>.partial`` and renamed when complete, so a failed backup never
    leaves a file that looks whole."""
    started = time.monotonic()
    if path.exists():
        raise BackupError(
            _("{path} exists already: give the backup a new file name."),
            code="backup_exists",
            params={"path": str(path)},
        )
    specs = schema()
    expected = code_revision()
    partial = path.with_name(path.name + ".partial")
    with _snapshot(engine) as connection:
        # The first read fixes the snapshot (SQLite's deferred BEGIN takes it here).
        revision = _revision(connection)
        if revision is None:
            raise BackupError(
                _("The database holds no Indivisible schema: nothing to back up."),
                code="backup_no_schema",
            )
        if revision != expected:
            raise BackupError(
                _("The database is at revision {found}, but this version of Indivisible is at {expected}: back it up with the version that runs it, or migrate it first (indivisible init)."),
                code="backup_revision",
                params={"found": revision, "expected": expected},
            )  # fmt: skip
        total = sum(_count(connection, spec.name) for spec in specs)
        report = BackupReport(
            path=path,
            revision=revision,
            dialect=connection.dialect.name,
            created_at=_now(),
            indivisible_version=indivisible.__version__,
            digest="",
        )
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(descriptor, "wb") as handle:
                _write(connection, handle, specs, report, progress, total)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(partial, path)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    report.seconds = time.monotonic() - started
    return report


def _write(
    connection: Connection,
    handle: BinaryIO,
    specs: list[TableSpec],
    report: BackupReport,
    progress: ProgressFn | None,
    total: int,
) -> None:
    """Every table's rows, then the manifest, into the zip file open at ``handle``."""
    done = 0
    with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for spec in specs:
            digest = hashlib.sha256()
            rows = 0
            with archive.open(_member(spec.name), "w", force_zip64=True) as out:
                for line in _rows(connection, spec):
                    out.write(line)
                    digest.update(line)
                    rows += 1
                    if progress is not None and rows % BATCH == 0:
                        progress("backup", spec.name, done + rows, total)
            done += rows
            if progress is not None:
                progress("backup", spec.name, done, total)
            report.tables.append(TableSummary(spec.name, rows, digest.hexdigest()))
        report.digest = tables_digest(report.tables)
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "indivisible_version": report.indivisible_version,
            "alembic_revision": report.revision,
            "source_dialect": report.dialect,
            "created_at": report.created_at,
            "not_included": ["node key file", "early-warning event store"],
            "tables": [
                {**spec.as_json(), "rows": summary.rows, "sha256": summary.sha256}
                for spec, summary in zip(specs, report.tables, strict=True)
            ],
            "digest": report.digest,
        }
        archive.writestr(MANIFEST, json.dumps(manifest, indent=1, ensure_ascii=False))


# --- reading a backup -----------------------------------------------------------------------


@dataclass
class Manifest:
    path: Path
    revision: str
    source_dialect: str
    created_at: str
    indivisible_version: str
    digest: str
    tables: list[tuple[TableSpec, TableSummary]]


def _not_a_backup(path: Path, reason: str) -> BackupError:
    return BackupError(
        _("{path} is not an Indivisible backup: {reason}"),
        code="backup_unreadable",
        params={"path": str(path), "reason": reason},
    )


def _member(table: str) -> str:
    return f"tables/{table}.jsonl"


def read_manifest(path: Path) -> Manifest:
    """The backup's manifest, checked for shape (not yet against the rows)."""
    try:
        with zipfile.ZipFile(path) as archive:
            raw = json.loads(archive.read(MANIFEST))
            names = set(archive.namelist())
    except (OSError, zipfile.BadZipFile, KeyError, ValueError, zlib.error, EOFError) as exc:
        raise _not_a_backup(path, str(exc)) from exc
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise _not_a_backup(path, "its manifest does not name the format")
    if raw.get("format_version") != FORMAT_VERSION:
        raise BackupError(
            _("{path} is a backup in format version {found}; this version of Indivisible reads version {expected}."),
            code="backup_format_version",
            params={"path": str(path), "found": raw.get("format_version"), "expected": FORMAT_VERSION},
        )  # fmt: skip
    try:
        tables = []
        for entry in raw["tables"]:
            spec = TableSpec(
                str(entry["name"]),
                tuple(ColumnSpec(str(c["name"]), str(c["kind"])) for c in entry["columns"]),
                tuple(str(n) for n in entry["primary_key"]),
            )
            if any(c.kind not in _DECODE for c in spec.columns) or not spec.primary_key:
                raise ValueError(f"table {spec.name} has a column of an unknown kind")
            if _member(spec.name) not in names:
                raise ValueError(f"the rows of table {spec.name} are missing")
            tables.append((spec, TableSummary(spec.name, int(entry["rows"]), str(entry["sha256"]))))
        manifest = Manifest(
            path=path,
            revision=str(raw["alembic_revision"]),
            source_dialect=str(raw["source_dialect"]),
            created_at=str(raw["created_at"]),
            indivisible_version=str(raw["indivisible_version"]),
            digest=str(raw["digest"]),
            tables=tables,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise _not_a_backup(path, f"its manifest is incomplete ({exc})") from exc
    if tables_digest([summary for _spec, summary in tables]) != manifest.digest:
        raise Mismatch(
            _("The manifest of {path} does not match its digest: the file was changed."),
            code="backup_mismatch",
            params={"path": str(path)},
        )
    return manifest


def _lines(archive: zipfile.ZipFile, table: str) -> Iterator[bytes]:
    with archive.open(_member(table)) as member:
        yield from member


def _damaged(table: str, detail: str) -> Mismatch:
    return Mismatch(
        _("Table {table} in the backup does not match the manifest ({detail}): the file was changed or damaged."),
        code="backup_mismatch",
        params={"table": table, "detail": detail},
    )  # fmt: skip


def check(path: Path, progress: ProgressFn | None = None) -> BackupReport:
    """Read every table of the backup and check its row count and digest against the
    manifest, without a database."""
    started = time.monotonic()
    manifest = read_manifest(path)
    total = sum(summary.rows for _spec, summary in manifest.tables)
    done = 0
    with zipfile.ZipFile(path) as archive:
        for spec, summary in manifest.tables:
            digest = hashlib.sha256()
            rows = 0
            try:
                for line in _lines(archive, spec.name):
                    digest.update(line)
                    rows += 1
            except (OSError, zipfile.BadZipFile, zlib.error, EOFError) as exc:
                raise _damaged(spec.name, str(exc)) from exc
            done += rows
            if progress is not None:
                progress("check", spec.name, done, total)
            if rows != summary.rows:
                raise _damaged(spec.name, f"{rows} rows, the manifest says {summary.rows}")
            if digest.hexdigest() != summary.sha256:
                raise _damaged(spec.name, "SHA-256")
    return BackupReport(
        path=path,
        revision=manifest.revision,
        dialect=manifest.source_dialect,
        created_at=manifest.created_at,
        indivisible_version=manifest.indivisible_version,
        digest=manifest.digest,
        tables=[summary for _spec, summary in manifest.tables],
        seconds=time.monotonic() - started,
    )


# --- restore --------------------------------------------------------------------------------


def _refuse_unless_empty(connection: Connection) -> None:
    for name in sorted(inspect(connection).get_table_names()):
        if name == "alembic_version":
            continue
        rows = _count(connection, name)
        if rows:
            raise BackupError(
                _("The target database is not empty (table {table} has {rows} rows): restore into a new, empty database."),
                code="restore_not_empty",
                params={"table": name, "rows": rows},
            )  # fmt: skip


def _check_columns(connection: Connection, manifest: Manifest) -> None:
    """The schema at the backup's revision has exactly the backup's tables and columns."""
    inspector = inspect(connection)
    present = set(inspector.get_table_names()) - {"alembic_version"}
    wanted = {spec.name for spec, _summary in manifest.tables}
    for name in sorted(present ^ wanted):
        raise Mismatch(
            _("Table {table} is in the backup or in the schema of revision {revision}, not in both: the file was changed."),
            code="backup_mismatch",
            params={"table": name, "revision": manifest.revision},
        )  # fmt: skip
    for spec, _summary in manifest.tables:
        columns = {c["name"] for c in inspector.get_columns(spec.name)}
        if columns != {c.name for c in spec.columns}:
            raise _damaged(spec.name, "columns")


def _insert(
    connection: Connection,
    archive: zipfile.ZipFile,
    spec: TableSpec,
    progress: Callable[[int], None],
) -> None:
    table = _table(spec, connection.dialect.name)
    names = [c.name for c in spec.columns]
    decoders = [_DECODE[c.kind] for c in spec.columns]
    batch: list[dict[str, Any]] = []
    try:
        for number, line in enumerate(_lines(archive, spec.name), start=1):
            try:
                values = jsonio.loads(line)
                if not isinstance(values, list) or len(values) != len(names):
                    raise ValueError("not one value per column")
                row = {
                    name: None if v is None else decode(v)
                    for name, decode, v in zip(names, decoders, values, strict=True)
                }
            except (ValueError, TypeError, RecursionError) as exc:
                raise _damaged(spec.name, f"row {number}: {exc}") from exc
            batch.append(row)
            if len(batch) == BATCH:
                connection.execute(table.insert(), batch)
                progress(len(batch))
                batch = []
        if batch:
            connection.execute(table.insert(), batch)
            progress(len(batch))
    except sa_exc.DBAPIError as exc:
        raise BackupError(
            _("The target database refused a row of table {table}: {error}"),
            code="restore_refused",
            params={"table": spec.name, "error": str(exc.orig).strip().splitlines()[0]},
        ) from exc


def _reset_sequences(connection: Connection, specs: list[TableSpec]) -> None:
    """PostgreSQL's id sequences past the largest restored id, so new rows do not collide."""
    for spec in specs:
        if len(spec.primary_key) != 1:
            continue
        column = spec.primary_key[0]
        if next(c.kind for c in spec.columns if c.name == column) != "int":
            continue
        table = _quoted(connection, spec.name)
        sequence = connection.execute(
            text("SELECT pg_get_serial_sequence(:table, :column)"),
            {"table": table, "column": column},
        ).scalar()
        if sequence is None:
            continue
        connection.execute(
            text(
                f"SELECT setval(:sequence, COALESCE((SELECT MAX({_quoted(connection, column)}) "  # noqa: S608
                f"FROM {table}), 0) + 1, false)"
            ),
            {"sequence": sequence},
        )


def _compare(connection: Connection, manifest: Manifest, progress: ProgressFn | None) -> None:
    """Read every table back and compare it with the manifest."""
    total = sum(summary.rows for _spec, summary in manifest.tables)
    done = 0
    for spec, summary in manifest.tables:
        digest = hashlib.sha256()
        rows = 0
        for line in _rows(connection, spec):
            digest.update(line)
            rows += 1
        done += rows
        if progress is not None:
            progress("verify", spec.name, done, total)
        if rows != summary.rows or digest.hexdigest() != summary.sha256:
            raise Mismatch(
                _("Table {table} does not read back as it was backed up ({rows} rows, {expected} in the backup): nothing was restored."),
                code="restore_mismatch",
                params={"table": spec.name, "rows": rows, "expected": summary.rows},
            )  # fmt: skip


def _foreign_keys(connection: Connection) -> None:
    """SQLite checks deferred foreign keys only at commit; check them first, to name the table."""
    problem = connection.exec_driver_sql("PRAGMA foreign_key_check").first()
    if problem is not None:
        raise Mismatch(
            _("A row of table {table} refers to a row of {parent} that is not in the backup: the file was changed."),
            code="restore_mismatch",
            params={"table": problem[0], "parent": problem[2]},
        )  # fmt: skip


def restore(
    engine: Engine,
    path: Path,
    progress: ProgressFn | None = None,
    allow_broken_audit_log: bool = False,
) -> RestoreReport:
    """Restore the backup at ``path`` into the empty database of ``engine``, in one
    transaction, and check it: every table against the manifest, then the audit log."""
    started = time.monotonic()
    manifest = read_manifest(path)
    if not _known(manifest.revision):
        raise BackupError(
            _("The backup is at revision {found}, which this version of Indivisible (at {expected}) does not know: restore it with the version that made it, or a later one."),
            code="restore_newer_revision",
            params={"found": manifest.revision, "expected": code_revision()},
        )  # fmt: skip
    head = code_revision()
    total = sum(summary.rows for _spec, summary in manifest.tables)
    specs = [spec for spec, _summary in manifest.tables]
    with engine.connect() as connection, connection.begin():
        _refuse_unless_empty(connection)
        check(path, progress)  # a changed file is refused before anything is written
        current = _revision(connection)
        if (
            current is not None
            and current != manifest.revision
            and (not _known(current) or _at_or_after(current, manifest.revision))
        ):
            raise BackupError(
                _("The target database's schema is at revision {found}, after the backup's {revision}: restore into a new, empty database."),
                code="restore_schema_ahead",
                params={"found": current, "revision": manifest.revision},
            )  # fmt: skip
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:  # foreign keys are checked once every row is in
            connection.exec_driver_sql("PRAGMA defer_foreign_keys = ON")
        _migrate(connection, manifest.revision)
        _check_columns(connection, manifest)
        done = 0
        with zipfile.ZipFile(path) as archive:
            for spec in specs:

                def advance(rows: int, name: str = spec.name) -> None:
                    nonlocal done
                    done += rows
                    if progress is not None:
                        progress("restore", name, done, total)

                _insert(connection, archive, spec, advance)
        if sqlite:
            _foreign_keys(connection)
        else:
            _reset_sequences(connection, specs)
        _compare(connection, manifest, progress)
        if manifest.revision != head:
            _migrate(connection, head)
        with Session(bind=connection) as session:
            audit = ledger.verify(session)
        if not audit.ok and not allow_broken_audit_log:
            first = audit.problems[0]
            raise Mismatch(
                _("The restored audit log does not verify ({problem}); nothing was restored. If the node's own log fails the same way (indivisible audit verify), restore anyway with --allow-broken-audit-log."),
                code="restore_audit",
                params={"problem": first.message.format(**first.params)},
            )  # fmt: skip
    return RestoreReport(
        path=path,
        revision=manifest.revision,
        head=head,
        source_dialect=manifest.source_dialect,
        dialect=engine.dialect.name,
        digest=manifest.digest,
        tables=[summary for _spec, summary in manifest.tables],
        audit=audit,
        seconds=time.monotonic() - started,
    )
