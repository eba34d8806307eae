"""``indivisible backup`` and ``indivisible restore``: a consistent snapshot of the node's
database in one file, restored into an empty SQLite or PostgreSQL database and checked."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from sqlalchemy import Engine
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url

from indivisible import backup as backups
from indivisible.cli.common import (
    DatabaseOption,
    JsonOption,
    console,
    emit,
    err_console,
    settings,
)
from indivisible.config import Settings
from indivisible.db import make_engine

# What the progress bar says in each step (backups.ProgressFn's first argument).
STEPS = {
    "backup": "Reading",
    "check": "Checking the file",
    "restore": "Writing",
    "verify": "Reading back",
}


def _engine(cfg: Settings, must_exist: bool) -> Engine:
    path = cfg.sqlite_path()
    if path is not None:
        if must_exist and not path.exists():
            err_console.print(
                f"[red]error[/red] (--database-url): no database at {escape(str(path))}"
            )
            raise typer.Exit(2)
        path.parent.mkdir(parents=True, exist_ok=True)
    return make_engine(cfg.database_url)


def _where(cfg: Settings) -> str:
    return make_url(cfg.database_url).render_as_string(hide_password=True)


@contextmanager
def _errors() -> Iterator[None]:
    """A refusal is exit code 2 and a mismatch 1, each with a message naming what is wrong."""
    try:
        yield
    except backups.Mismatch as exc:
        err_console.print(f"[red]error[/red]: {escape(exc.text())}", highlight=False)
        raise typer.Exit(1) from exc
    except backups.BackupError as exc:
        err_console.print(f"[red]error[/red]: {escape(exc.text())}", highlight=False)
        raise typer.Exit(2) from exc
    except sa_exc.DBAPIError as exc:
        first = (
            str(exc.orig).strip().splitlines()[0] if str(exc.orig).strip() else type(exc).__name__
        )
        err_console.print(f"[red]error[/red] (database): {escape(first)}", highlight=False)
        raise typer.Exit(2) from exc
    except OSError as exc:
        err_console.print(f"[red]error[/red]: {escape(str(exc))}", highlight=False)
        raise typer.Exit(2) from exc


@contextmanager
def _progress(shown: bool) -> Iterator[backups.ProgressFn]:
    """One bar a step, on stderr so that stdout keeps only the report."""
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        disable=not shown,
    ) as bar:
        tasks: dict[str, TaskID] = {}

        def update(step: str, table: str, done: int, total: int) -> None:
            if step not in tasks:
                tasks[step] = bar.add_task(STEPS.get(step, step), total=total)
            bar.update(tasks[step], completed=done, description=f"{STEPS.get(step, step)} {table}")

        yield update


def _tables(tables: list[backups.TableSummary]) -> None:
    table = Table("table", "rows", "SHA-256")
    empty = 0
    for summary in tables:
        if summary.rows == 0:
            empty += 1
            continue
        table.add_row(summary.name, f"{summary.rows:,}", summary.sha256[:16])
    if empty:
        table.caption = f"and {empty} empty tables"
    console.print(table)


def _summaries(tables: list[backups.TableSummary]) -> list[dict[str, Any]]:
    return [{"name": t.name, "rows": t.rows, "sha256": t.sha256} for t in tables]


def backup(
    output: Path | None = typer.Option(
        None, "--output", "-o", dir_okay=False, help="The backup file to write (must not exist)."
    ),
    verify: Path | None = typer.Option(
        None,
        "--verify",
        exists=True,
        dir_okay=False,
        help="Check a backup file's rows against its digests instead, without a database.",
    ),
    database_url: str | None = DatabaseOption,
    as_json: bool = JsonOption,
) -> None:
    """Write the whole database, as it is at one moment, to one file that restores on SQLite
    or PostgreSQL; the node may keep running. Not in it: the node's key file and the
    early-warning event store (docs/operator.md)."""
    if (output is None) == (verify is None):
        err_console.print(
            "[red]error[/red]: give --output FILE to make a backup, or --verify FILE to check one"
        )
        raise typer.Exit(2)
    if verify is not None:
        with _errors(), _progress(not as_json) as progress:
            checked = backups.check(verify, progress)
        if as_json:
            emit({"file": str(verify), "ok": True, **_described(checked)}, True)
            return
        _tables(checked.tables)
        console.print(
            f"{escape(str(verify))}: every table matches its digest: {checked.rows:,} rows in "
            f"{len(checked.tables)} tables, revision {checked.revision}, made by Indivisible "
            f"{checked.indivisible_version} on {checked.dialect} at {checked.created_at}.",
            highlight=False,
        )
        return
    assert output is not None
    cfg = settings(database_url)
    engine = _engine(cfg, must_exist=True)
    try:
        with _errors(), _progress(not as_json) as progress:
            report = backups.create(engine, output, progress)
    finally:
        engine.dispose()
    key, events = cfg.node_key_file(), cfg.events_file()
    if as_json:
        emit(
            {
                "file": str(output),
                **_described(report),
                "seconds": round(report.seconds, 3),
                "not_included": {"node_key_file": str(key), "event_store": str(events)},
            },
            True,
        )
        return
    _tables(report.tables)
    console.print(
        f"Backed up {report.rows:,} rows in {len(report.tables)} tables (revision "
        f"{report.revision}, {report.dialect}) to {escape(str(output))} in "
        f"{report.seconds:.1f} s.\nDigest: {report.digest}",
        highlight=False,
    )
    console.print(
        f"Not in the backup: the node's key file ({escape(str(key))}), a secret to keep "
        f"separately, and the early-warning event store ({escape(str(events))}), imported "
        "again from its sources.",
        highlight=False,
    )


def _described(report: backups.BackupReport) -> dict[str, Any]:
    return {
        "revision": report.revision,
        "source_dialect": report.dialect,
        "created_at": report.created_at,
        "indivisible_version": report.indivisible_version,
        "rows": report.rows,
        "digest": report.digest,
        "tables": _summaries(report.tables),
    }


def restore(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="The backup file."),
    database_url: str | None = DatabaseOption,
    allow_broken_audit_log: bool = typer.Option(
        False,
        "--allow-broken-audit-log",
        help="Restore even if the audit log in the backup does not verify (it is reported).",
    ),
    as_json: bool = JsonOption,
) -> None:
    """Restore a backup into a new, empty database, SQLite or PostgreSQL whichever the backup
    was taken from, in one transaction: migrate, insert, read every table back against the
    backup's digests, upgrade an older backup's schema, verify the audit log. Exit code 0
    when all of it holds, 1 on a mismatch, 2 when refused; nothing is written unless 0."""
    cfg = settings(database_url)
    engine = _engine(cfg, must_exist=False)
    try:
        with _errors(), _progress(not as_json) as progress:
            report = backups.restore(engine, file, progress, allow_broken_audit_log)
    finally:
        engine.dispose()
    audit = report.audit
    problems = [p.message.format(**p.params) for p in audit.problems]
    key = cfg.node_key_file()
    if as_json:
        emit(
            {
                "file": str(file),
                "database": _where(cfg),
                "revision": report.revision,
                "schema_revision": report.head,
                "source_dialect": report.source_dialect,
                "dialect": report.dialect,
                "rows": report.rows,
                "digest": report.digest,
                "tables": _summaries(report.tables),
                "seconds": round(report.seconds, 3),
                "audit": {
                    "ok": audit.ok,
                    "entries": audit.entries,
                    "unsealed": audit.unsealed,
                    "tree_heads_checked": audit.heads_checked,
                    "root_hash": audit.root_hash,
                    "problems": problems,
                },
            },
            True,
        )
        return
    _tables(report.tables)
    console.print(
        f"Restored {report.rows:,} rows in {len(report.tables)} tables from "
        f"{escape(str(file))} ({report.source_dialect}, revision {report.revision}) into "
        f"{escape(_where(cfg))} in {report.seconds:.1f} s; every table reads back as it was "
        "backed up.",
        highlight=False,
    )
    if report.revision != report.head:
        console.print(f"Upgraded the schema from revision {report.revision} to {report.head}.")
    console.print(
        f"Audit log: {audit.entries} entries, {audit.unsealed} not yet sealed, "
        f"{audit.heads_checked} tree heads checked; root {audit.root_hash}"
    )
    if audit.ok:
        console.print("[green]the log is intact[/green]")
    for problem in problems[:20]:
        console.print(f"[red]bad[/red] {escape(problem)}", highlight=False)
    console.print(
        f"The node's key file is not in backups: put it back at {escape(str(key))}, or the "
        "node signs new tree heads with a new key that members must be told of.",
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    app.command("backup")(backup)
    app.command("restore")(restore)
