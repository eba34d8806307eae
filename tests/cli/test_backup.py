"""``indivisible backup`` and ``restore`` on SQLite and PostgreSQL: a node with real data comes
back row for row (also from one database to the other), a backup taken while the node writes
is one moment of it, and a changed file, a full target or a newer revision is refused with
nothing written."""

from __future__ import annotations

import hashlib
import json
import os
import threading
import uuid
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, func, inspect, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from indivisible import backup as backups
from indivisible import jsonio
from indivisible.audit import ledger
from indivisible.audit.models import AuditLogState, AuditTreeHead, ChangeRecord
from indivisible.audit.service import record_change
from indivisible.auth.models import Principal
from indivisible.auth.principal import Actor, Role
from indivisible.cbm.demo import create_demo_cbm
from indivisible.cli import app
from indivisible.cli.node import create_demo_sharing
from indivisible.crisis.models import Consultation, Crisis
from indivisible.db import as_utc, make_engine, make_session_factory, unit_of_work
from indivisible.migrate import upgrade
from indivisible.models import Base
from indivisible.registry import loader
from indivisible.sharing.models import NodeKey, StixObject, StixObservable
from tests.audit.test_ledger import grow
from tests.conftest import BACKENDS, POSTGRES_ENV, _drop_postgres_database, _postgres_database

runner = CliRunner()
KEY = Ed25519PrivateKey.generate()


# --- databases --------------------------------------------------------------------------------


class Databases:
    """New, empty databases of either kind, dropped (PostgreSQL) when the module ends."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.engines: dict[str, Engine] = {}
        self.dropped: list[tuple[Engine, str]] = []

    def new(self, kind: str) -> str:
        if kind == "sqlite":
            return f"sqlite:///{self.directory / (uuid.uuid4().hex[:10] + '.db')}"
        url, admin = _postgres_database(os.environ[POSTGRES_ENV])
        self.dropped.append((admin, url))
        return url

    def engine(self, url: str) -> Engine:
        if url not in self.engines:
            self.engines[url] = make_engine(url)
        return self.engines[url]

    def close(self) -> None:
        for engine in self.engines.values():
            engine.dispose()
        for admin, url in self.dropped:
            _drop_postgres_database(admin, url)


@pytest.fixture(scope="module")
def databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Databases]:
    made = Databases(tmp_path_factory.mktemp("backup"))
    yield made
    made.close()


def edge_rows(session: Session, tag: str) -> None:
    """Values that must come back exactly: microseconds, big integers, floats that are not
    short in decimal, text keys in an order collations disagree on, nested JSON."""
    moment = datetime(2026, 3, 1, 4, 5, 6, 789012, tzinfo=UTC)
    for name in ("Zeta", "alpha", "Émile", "中文", "_under", "a b"):
        session.add(NodeKey(name=f"{tag}-{name}", secret=f"s-{name}", created_at=moment))
    crisis = Crisis(
        affected_state="KAZ",
        organisation_code="CSTO",
        kind="unrest",
        summary=f'Test crisis {tag}: «кавычки», 引号, "quotes", back\\slash\nnew line',
        started_on=date(2022, 1, 2),
        created_at=moment,
    )
    session.add(crisis)
    session.flush()
    session.add(
        Consultation(
            crisis_id=crisis.id,
            held_at=moment + timedelta(microseconds=1),
            time_zone="Asia/Almaty",
            format="videoconference",
            participants=["KAZ", "RUS", "中", {"nested": [1.5, 0.1 + 0.2, 2**53 + 1, None]}],
            summary="",
        )
    )
    first_object = session.scalars(select(StixObject.id).order_by(StixObject.id)).first()
    assert first_object is not None
    session.add(
        StixObservable(
            object_id=first_object, kind="ipv4", value=f"{tag}-range", low=2**62, high=2**63 - 1
        )
    )
    record_change(
        session,
        Actor.console("backup-test"),
        action="update",
        subject_type="edge",
        subject_key=tag,
        before={},
        after={"z": 1, "a": [1e-300, -0.0, 123456789.123456789], "ключ": "значение"},
    )


def seal(session: Session) -> None:
    ledger.seal(session, key=KEY, head_interval=timedelta(0))


@dataclass
class Node:
    kind: str
    url: str
    engine: Engine
    backup: Path


@pytest.fixture(scope="module")
def nodes(databases: Databases, tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Node]:
    """A node with real data on each backend, built once, with a backup of it. The SQLite node
    is built as a node is: migrated, reference data, demo sharing and CBM data, sealed change
    records. The PostgreSQL node is that one restored there, then written to natively."""
    built: dict[str, Node] = {}
    directory = tmp_path_factory.mktemp("nodes")

    def node(kind: str) -> Node:
        if kind in built:
            return built[kind]
        url = databases.new(kind)
        engine = databases.engine(url)
        factory = make_session_factory(engine)
        if kind == "sqlite":
            upgrade(engine)
            with unit_of_work(factory) as session:
                loader.load(session, Actor.console("test"))
            with unit_of_work(factory) as session:
                create_demo_sharing(session)
                create_demo_cbm(session)
                edge_rows(session, "sqlite")
                grow(session, 40, seed=3)
        else:
            backups.restore(engine, node("sqlite").backup)
            with unit_of_work(factory) as session:
                edge_rows(session, "pg")
                grow(session, 20, seed=4)
        with unit_of_work(factory) as session:
            seal(session)
        with unit_of_work(factory) as session:
            grow(session, 5, seed=5)  # and some not sealed yet
        path = directory / f"{kind}.zip"
        backups.create(engine, path)
        built[kind] = Node(kind, url, engine, path)
        return built[kind]

    return node


# --- comparing --------------------------------------------------------------------------------


def _value(value: Any) -> Any:
    if isinstance(value, datetime):
        return as_utc(value)
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)  # key order too
    return value


def rows_of(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows as the application reads them, in one order on any database."""
    out = {}
    with engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            rows = [tuple(_value(v) for v in row) for row in connection.execute(select(table))]
            out[table.name] = sorted(rows, key=repr)
    return out


def assert_same(source: Engine, target: Engine) -> None:
    expected, found = rows_of(source), rows_of(target)
    assert expected.keys() == found.keys()
    for name, rows in expected.items():
        assert found[name] == rows, f"table {name} differs"
    assert sum(map(len, found.values())) > 4000


def audit_ok(engine: Engine) -> ledger.Verification:
    with Session(engine) as session:
        result = ledger.verify(session)
    assert result.ok, result.problems
    return result


def tables_in(url: str, databases: Databases) -> list[str]:
    return inspect(databases.engine(url)).get_table_names()


# --- round trips ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", BACKENDS)
def test_a_node_comes_back_row_for_row(
    kind: str, nodes: Callable[[str], Node], databases: Databases
) -> None:
    node = nodes(kind)
    url = databases.new(kind)
    target = databases.engine(url)
    report = backups.restore(target, node.backup)

    assert_same(node.engine, target)
    assert report.audit.ok and report.audit.entries > 1000 and report.audit.heads_checked >= 1
    assert report.audit.unsealed == 5
    assert report.audit.root_hash == audit_ok(node.engine).root_hash
    assert report.head == report.revision == backups.code_revision()
    with Session(node.engine) as session:
        assert report.rows == sum(
            session.scalar(select(func.count()).select_from(t)) or 0
            for t in Base.metadata.sorted_tables
        )
    # New rows take new ids (PostgreSQL's sequences were moved past the restored ones).
    with unit_of_work(make_session_factory(target)) as session:
        largest = session.scalar(select(func.max(Principal.id))) or 0
        added = Principal(
            username="after-restore", display_name="After", role="admin",
            created_at=datetime.now(UTC),
        )  # fmt: skip
        session.add(added)
        record_change(
            session, Actor.console("test"), action="create", subject_type="principal",
            subject_key="after-restore", before=None, after={"ok": True},
        )  # fmt: skip
        session.flush()
        assert added.id == largest + 1
    with unit_of_work(make_session_factory(target)) as session:
        seal(session)
    audit_ok(target)

    # The file checks alone too, and says what it holds.
    checked = backups.check(node.backup)
    assert (checked.revision, checked.dialect, checked.digest) == (
        report.revision,
        kind,
        report.digest,
    )
    assert node.backup.stat().st_mode & 0o077 == 0  # secrets inside: the owner's alone


@pytest.mark.skipif(len(BACKENDS) < 2, reason=f"needs PostgreSQL ({POSTGRES_ENV})")
@pytest.mark.parametrize(("source", "target"), [("sqlite", "postgresql"), ("postgresql", "sqlite")])
def test_a_node_moves_between_databases(
    source: str, target: str, nodes: Callable[[str], Node], databases: Databases
) -> None:
    node = nodes(source)
    engine = databases.engine(databases.new(target))
    report = backups.restore(engine, node.backup)
    assert (report.source_dialect, report.dialect) == (source, target)
    assert_same(node.engine, engine)
    audit_ok(engine)


# --- a snapshot while the node writes ---------------------------------------------------------


class Writer(threading.Thread):
    """Writes as a node does, each in its own transaction: an account and the change record
    that names it; every third time, seals the log and signs a tree head."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.done = 0
        self.stop = threading.Event()
        self.moved = threading.Condition()
        self.errors: list[BaseException] = []

    def run(self) -> None:
        engine = make_engine(self.url)
        factory = make_session_factory(engine)
        try:
            while not self.stop.is_set():
                with unit_of_work(factory) as session:
                    account = Principal(
                        username=f"writer-{self.done}", display_name="Writer", role="admin",
                        created_at=datetime.now(UTC),
                    )  # fmt: skip
                    session.add(account)
                    session.flush()
                    actor = Actor(label="writer", role=Role.admin, principal_id=account.id)
                    record_change(
                        session, actor, action="create", subject_type="principal",
                        subject_key=account.username, before=None, after={"n": self.done},
                    )  # fmt: skip
                if self.done % 3 == 2:
                    with unit_of_work(factory) as session:
                        seal(session)
                with self.moved:
                    self.done += 1
                    self.moved.notify_all()
        except BaseException as exc:  # reported by the test
            self.errors.append(exc)
        finally:
            engine.dispose()

    def wait_for(self, count: int) -> None:
        with self.moved:
            assert self.moved.wait_for(lambda: self.done >= count or bool(self.errors), 30)
        assert not self.errors, self.errors


@pytest.mark.parametrize("kind", BACKENDS)
def test_a_backup_is_one_moment_while_the_node_writes(
    kind: str, databases: Databases, tmp_path: Path
) -> None:
    url = databases.new(kind)
    engine = databases.engine(url)
    upgrade(engine)
    writer = Writer(url)
    writer.start()
    writer.wait_for(5)
    during: list[int] = []

    def hold(step: str, table: str, done: int, total: int) -> None:
        # After the first table (the sealer's bookmark) is read, let the node write on.
        if not during:
            during.append(writer.done)
            writer.wait_for(writer.done + 12)

    path = tmp_path / "busy.zip"
    try:
        made = backups.create(engine, path, hold)
    finally:
        writer.stop.set()
        writer.join(30)
    assert not writer.errors, writer.errors
    rows = {t.name: t.rows for t in made.tables}
    assert during and rows["principal"] <= during[0] + 1 < writer.done  # later writes left out

    restored = databases.engine(databases.new(kind))
    report = backups.restore(restored, path)  # every change record's account is there
    assert report.audit.ok, report.audit.problems
    with Session(restored) as session:
        accounts = session.scalar(select(func.count()).select_from(Principal))
        records = session.scalar(select(func.count()).where(ChangeRecord.actor == "writer"))
        sealed = session.scalar(select(func.count()).where(ChangeRecord.seq.is_not(None)))
        state = session.get(AuditLogState, 1)
        head = session.scalar(select(func.max(AuditTreeHead.tree_size)))
    assert accounts == records == rows["principal"] == rows["change_record"]
    assert state is not None and state.tree_size == sealed and head == sealed


# --- refusals ---------------------------------------------------------------------------------


def rewrite(
    source: Path,
    target: Path,
    change: Callable[[str, bytes], bytes | None],
    manifest: Callable[[dict[str, Any]], None] = lambda m: None,
    reseal: bool = False,
) -> Path:
    """A copy of a backup with members changed (None drops one); ``reseal`` recomputes the
    manifest's digests as someone covering their tracks would."""
    members: dict[str, bytes] = {}
    with zipfile.ZipFile(source) as archive:
        for name in archive.namelist():
            data = change(name, archive.read(name))
            if data is not None:
                members[name] = data
    document = json.loads(members.pop("manifest.json"))
    manifest(document)
    if reseal:
        for table in document["tables"]:
            data = members[f"tables/{table['name']}.jsonl"]
            table["sha256"] = hashlib.sha256(data).hexdigest()
        document["digest"] = backups.tables_digest(
            [backups.TableSummary(t["name"], t["rows"], t["sha256"]) for t in document["tables"]]
        )
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
        archive.writestr("manifest.json", json.dumps(document))
    return target


def change_row(
    table: str,
    column: str,
    where: Callable[[dict[str, Any]], bool],
    value: Any,
    columns: list[str],
) -> Callable[[str, bytes], bytes]:
    def change(name: str, data: bytes) -> bytes:
        if name != f"tables/{table}.jsonl":
            return data
        lines = []
        for line in data.splitlines():
            row = dict(zip(columns, jsonio.loads(line), strict=True))
            if where(row):
                row[column] = value
            lines.append(jsonio.dumps(list(row.values())).encode() + b"\n")
        return b"".join(lines)

    return change


def columns_of(path: Path, table: str) -> list[str]:
    manifest = backups.read_manifest(path)
    spec = next(spec for spec, _summary in manifest.tables if spec.name == table)
    return [c.name for c in spec.columns]


@pytest.mark.parametrize("kind", BACKENDS)
def test_a_changed_file_a_full_target_and_a_newer_revision_are_refused(
    kind: str, nodes: Callable[[str], Node], databases: Databases, tmp_path: Path
) -> None:
    node = nodes(kind)
    columns = columns_of(node.backup, "state")
    renamed = change_row("state", "name_en", lambda r: r["code"] == "KAZ", "Kazakstan", columns)
    tampered = rewrite(node.backup, tmp_path / "tampered.zip", renamed)
    with pytest.raises(backups.Mismatch, match="Table state in the backup does not match"):
        backups.check(tampered)
    url = databases.new(kind)
    with pytest.raises(backups.Mismatch, match="Table state"):
        backups.restore(databases.engine(url), tampered)
    assert tables_in(url, databases) == []

    # The tables' digests in the manifest recomputed, not the manifest's own.
    original = backups.read_manifest(node.backup).digest
    resealed = rewrite(node.backup, tmp_path / "resealed.zip", renamed, reseal=True)
    half = rewrite(
        resealed, tmp_path / "half.zip", lambda n, d: d, lambda m: m.update(digest=original)
    )
    with pytest.raises(backups.Mismatch, match="manifest"):
        backups.restore(databases.engine(url), half)
    assert tables_in(url, databases) == []

    # Everything recomputed: the digests hold, but the audit log catches a sealed record changed.
    records = columns_of(node.backup, "change_record")
    rewritten = change_row(
        "change_record", "subject_key", lambda r: r["seq"] == 7, "rewritten", records
    )
    forged = rewrite(node.backup, tmp_path / "forged.zip", rewritten, reseal=True)
    backups.check(forged)
    with pytest.raises(backups.Mismatch, match=r"audit log does not verify \(Entry 7"):
        backups.restore(databases.engine(url), forged)
    assert tables_in(url, databases) == []
    kept = backups.restore(databases.engine(url), forged, allow_broken_audit_log=True)
    assert not kept.audit.ok and kept.audit.first_bad == 7

    # A target with rows is refused and left as it was.
    before = rows_of(databases.engine(url))
    with pytest.raises(backups.BackupError, match=r"not empty \(table agreement has"):
        backups.restore(databases.engine(url), node.backup)
    assert rows_of(databases.engine(url)) == before

    # A backup from a newer version of Indivisible.
    newer = rewrite(
        node.backup,
        tmp_path / "newer.zip",
        lambda n, d: d,
        lambda m: m.update(alembic_revision="0099"),
    )
    other = databases.new(kind)
    with pytest.raises(backups.BackupError, match="revision 0099, which this version"):
        backups.restore(databases.engine(other), newer)
    assert tables_in(other, databases) == []

    # Not a backup at all.
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not a zip")
    with pytest.raises(backups.BackupError, match="is not an Indivisible backup"):
        backups.restore(databases.engine(other), junk)
    assert tables_in(other, databases) == []


def test_an_older_backup_is_restored_at_its_revision_then_upgraded(
    nodes: Callable[[str], Node], databases: Databases, tmp_path: Path
) -> None:
    """A backup made at revision 0015: before migrations 0016 (submission_signature), 0017
    (a version unique in its collection again), 0018 (push_receipt, a node account's key,
    an object's receipt), 0020 (an object's state signature) and 0021 (a key's adoption)."""
    node = nodes("sqlite")
    later_tables = {"submission_signature", "push_receipt"}
    later_columns = {
        "principal": {"node_public_key"},
        "stix_object": {"receipt_id", "signer_state", "signer_key"},
        "state_key": {"adopted_from"},
    }
    columns = {t: columns_of(node.backup, t) for t in later_columns}

    def member(name: str, data: bytes) -> bytes | None:
        table = name.removeprefix("tables/").removesuffix(".jsonl")
        if table in later_tables:
            return None
        if table not in later_columns:
            return data
        keep = [n for n, c in enumerate(columns[table]) if c not in later_columns[table]]
        rows = [jsonio.loads(line) for line in data.splitlines()]
        return b"".join(jsonio.dumps([row[n] for n in keep]).encode() + b"\n" for row in rows)

    def older(manifest: dict[str, Any]) -> None:
        manifest["alembic_revision"] = "0015"
        manifest["tables"] = [t for t in manifest["tables"] if t["name"] not in later_tables]
        for table in manifest["tables"]:
            gone = later_columns.get(table["name"], set())
            table["columns"] = [c for c in table["columns"] if c["name"] not in gone]

    old = rewrite(node.backup, tmp_path / "0015.zip", member, manifest=older, reseal=True)
    engine = databases.engine(databases.new("sqlite"))
    report = backups.restore(engine, old)
    assert (report.revision, report.head) == ("0015", backups.code_revision())
    assert {"submission_signature", "push_receipt"} <= set(inspect(engine).get_table_names())
    assert "receipt_id" in {c["name"] for c in inspect(engine).get_columns("stix_object")}
    assert report.audit.ok


# --- the commands -----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", BACKENDS)
def test_the_commands_end_to_end(
    kind: str, nodes: Callable[[str], Node], databases: Databases, tmp_path: Path
) -> None:
    node = nodes(kind)
    path = tmp_path / "node.zip"
    made = runner.invoke(app, ["backup", "--database-url", node.url, "--output", str(path)])
    assert made.exit_code == 0, made.output
    assert "Backed up" in made.output and "node's key file" in " ".join(made.output.split())
    assert "change_record" in made.output

    again = runner.invoke(app, ["backup", "--database-url", node.url, "-o", str(path)])
    assert again.exit_code == 2 and "exists already" in again.output
    neither = runner.invoke(app, ["backup", "--database-url", node.url])
    assert neither.exit_code == 2 and "--output FILE" in neither.output
    missing = runner.invoke(
        app, ["backup", "--database-url", f"sqlite:///{tmp_path / 'none.db'}", "-o", "x.zip"]
    )
    assert missing.exit_code == 2 and "no database at" in missing.output

    checked = runner.invoke(app, ["backup", "--verify", str(path), "--json"])
    assert checked.exit_code == 0, checked.output
    summary = json.loads(checked.stdout)
    assert summary["ok"] and summary["source_dialect"] == kind and summary["rows"] > 4000

    url = databases.new(kind)
    restored = runner.invoke(app, ["restore", str(path), "--database-url", url])
    assert restored.exit_code == 0, restored.output
    said = " ".join(restored.output.split())  # Rich wraps lines at the terminal's width
    assert "every table reads back as it was backed up" in said
    assert "the log is intact" in said
    assert_same(node.engine, databases.engine(url))

    full = runner.invoke(app, ["restore", str(path), "--database-url", url])
    assert full.exit_code == 2 and "not empty" in full.output

    columns = columns_of(path, "membership")
    changed = change_row("membership", "status", lambda r: r["id"] == 3, "observer", columns)
    tampered = rewrite(path, tmp_path / "tampered.zip", changed)
    bad = runner.invoke(app, ["backup", "--verify", str(tampered)])
    assert bad.exit_code == 1 and "Table membership" in bad.output
    other = databases.new(kind)
    refused = runner.invoke(app, ["restore", str(tampered), "--database-url", other, "--json"])
    assert refused.exit_code == 1 and "Table membership" in refused.output
    assert tables_in(other, databases) == []
