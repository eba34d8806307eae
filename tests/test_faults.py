"""Faults, with live processes: the node killed with SIGKILL at random moments while clients
write (notifications, STIX envelopes, decisions and positions), and its PostgreSQL server
stopped and started under load. Afterwards every write the node acknowledged is there with
its content, none is there in part, nothing the node never read is there, and the audit log
verifies against every tree head the node served meanwhile.

CI runs a few rounds. A longer run, printing the figures::

    CRASH_ROUNDS=50 pytest tests/test_faults.py -s

CRASH_SEED changes the random kill moments (threads make a run repeatable only roughly).
The writers sign their submissions with registered keys, as a production node requires: the
signature rows are then part of what must be whole. tests/faults.py explains the outcomes.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from indivisible.audit import ledger
from indivisible.db import make_engine, make_session_factory, unit_of_work
from tests import faults
from tests.conftest import BACKENDS, POSTGRES_ENV, _drop_postgres_database, _postgres_database
from tests.live import ROOT, Node, free_port

ROUNDS = int(os.environ.get("CRASH_ROUNDS", "3"))
SEED = int(os.environ.get("CRASH_SEED", "2026"))
# How long the private PostgreSQL stays down each time.
OUTAGE_SECONDS = 2.0
# Change records the sealer finds at once, enough to keep it in one transaction for seconds.
BACKLOG = 8_000
# Readiness waits: the bound ends a hung test; it is no claim about speed.
LIMIT = 120.0


def node_env(workdir: Path) -> dict[str, str]:
    return {
        "INDIVISIBLE_ALLOW_UNSIGNED_SUBMISSIONS": "false",
        # The sealer runs often and signs a tree head whenever the log grew, so that kills
        # land in the middle of sealing too.
        "INDIVISIBLE_AUDIT_SEAL_INTERVAL_SECONDS": "0.1",
        "INDIVISIBLE_AUDIT_TREE_HEAD_INTERVAL_SECONDS": "0",
        "INDIVISIBLE_NODE_KEY_PATH": str(workdir / "node-key.pem"),
        "INDIVISIBLE_EVENTS_PATH": str(workdir / "events.duckdb"),
    }


@pytest.fixture(params=BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of the test's own: a SQLite file, or a fresh PostgreSQL database
    on the configured server, dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'node.db'}"
        return
    url, admin = _postgres_database(os.environ[POSTGRES_ENV])
    try:
        yield url
    finally:
        _drop_postgres_database(admin, url)


def cli(url: str, workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The ``indivisible`` command, as the operator runs it against the stopped node's data."""
    return subprocess.run(
        [sys.executable, "-c", "from indivisible.cli import main; main()", *args],
        cwd=ROOT,
        env={
            **os.environ,
            "INDIVISIBLE_DATABASE_URL": url,
            "INDIVISIBLE_NODE_KEY_PATH": str(workdir / "node-key.pem"),
        },
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@dataclass
class Checked:
    findings: faults.Findings
    log_entries: int
    heads_checked: int
    summary: str


def check_everything(url: str, workdir: Path, journal: faults.Journal, header: str) -> Checked:
    """The node is stopped: what the database holds, and the audit log, as the faults left
    it and once the operator has sealed the rest."""
    engine = make_engine(url)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            findings = faults.check_database(session, journal)
            left = ledger.verify(session, journal.heads)
    finally:
        engine.dispose()
    heads = workdir / "kept-heads.json"
    heads.write_text(json.dumps(journal.heads))
    sealed = cli(url, workdir, "audit", "seal")
    assert sealed.returncode == 0, sealed.stdout + sealed.stderr
    verified = cli(url, workdir, "audit", "verify", "--json", "--tree-head", str(heads))
    try:
        report = json.loads(verified.stdout)
    except ValueError:
        report = {"ok": False, "output": verified.stdout + verified.stderr}

    counts = journal.counts()
    lines = [header]
    for kind, counter in counts.items():
        lines.append(
            f"  {kind:12} sent {counter['sent']:5}  acknowledged {counter[faults.ACKED]:5}"
            f" (found {findings.found[kind]:5})  answer lost {counter[faults.UNKNOWN] - counter['503']:4}"
            f"  503 {counter['503']:4}  refused connection {counter[faults.REFUSED]:4}"
            f"  failed {counter[faults.FAILED]}  (median {counter['median ms']} ms)"
        )
    lines.append(f"  stored: {dict(findings.stored)}")
    lines.append(
        f"  audit log: {report.get('entries')} entries, {report.get('tree_heads_checked')} tree"
        f" heads checked ({len(journal.heads)} kept by a member during the run), verified"
        f" {report.get('ok')} (as left by the faults: {left.ok}); problems found"
        f" {len(findings.problems)}"
    )
    summary = "\n".join(lines)
    print(summary)

    failed = [w for w in journal.writes if w.outcome == faults.FAILED]
    assert not failed, [(w.kind, w.status, w.detail) for w in failed[:10]]
    assert all(w.retry_after for w in journal.writes if w.status == 503), (
        "a 503 without Retry-After"
    )
    assert not findings.problems, "\n".join(findings.problems)
    for kind in faults.KINDS:
        assert findings.found[kind] == counts[kind][faults.ACKED], kind
    assert left.ok, [p.message.format(**p.params) for p in left.problems]
    assert report.get("ok") is True and report.get("unsealed") == 0, report
    return Checked(findings, int(report["entries"]), int(report["tree_heads_checked"]), summary)


def test_acknowledged_writes_survive_sigkill(database: str, tmp_path: Path) -> None:
    world = faults.prepare(database)
    journal = faults.Journal()
    stop = threading.Event()
    rng = random.Random(SEED)
    node = Node(database, tmp_path, env=node_env(tmp_path))
    workers: list[faults.Worker] = []
    kills = 0
    # First a kill in the middle of sealing, made sure of: a log sealed so far with a head a
    # member kept, and a backlog that keeps the sealer in one transaction for seconds.
    journal.keep_head(faults.seal(database, tmp_path / "node-key.pem"))
    mid_seal = 0
    watch = faults.SealWatch(database)
    try:
        for _attempt in range(3):
            faults.backlog(database, BACKLOG)
            sealed, unsealed = faults.log_state(database)
            node.start()
            faults.wait_for(watch.busy, LIMIT, "the node's sealer at work on the backlog")
            node.kill()
            kills += 1
            after, _left = faults.log_state(database)
            assert after in (sealed, sealed + unsealed), "a seal half kept"
            if after == sealed:  # rolled back whole, as it should; else it ended just before
                mid_seal += 1
                break
    finally:
        watch.close()
    assert mid_seal == 1, "no kill landed in the middle of a seal"
    node.start()
    try:
        faults.setup_over_http(world, node.base)
        workers = [
            *faults.writers(world, journal, stop, SEED),
            faults.HeadKeeper(world, journal, stop),
        ]
        for worker in workers:
            worker.start()
        for _round in range(ROUNDS):
            # Kills land under load: once the writers are back (a write acknowledged since
            # the node started), at a random moment.
            started = time.monotonic()
            faults.wait_for(
                lambda started=started: any(  # type: ignore[misc]
                    journal.acked_since(kind, started) for kind in faults.KINDS
                ),
                LIMIT,
                "a write acknowledged after the node started",
            )
            time.sleep(rng.uniform(0.2, 2.0))
            node.kill()
            kills += 1
            # Down a moment: writers meet refused connections, then the supervisor restarts it.
            time.sleep(rng.uniform(0.0, 0.5))
            node.start()
        restarted = time.monotonic()
        # Nothing to do by hand after a crash: the last restart takes every kind of write.
        for kind in ("notification", "envelope", "decision", "position"):
            faults.wait_for(
                lambda kind=kind: journal.acked_since(kind, restarted) > 0,  # type: ignore[misc]
                LIMIT,
                f"a {kind} acknowledged after the last restart",
            )
    finally:
        try:
            faults.stop_all(workers, stop)
        finally:
            node.stop()
    backend = "postgresql" if database.startswith("postgresql") else "sqlite"
    check_everything(
        database,
        tmp_path,
        journal,
        f"SIGKILL under load on {backend}: {ROUNDS} rounds, {kills} kills ({mid_seal} in the"
        f" middle of a seal, {ROUNDS} at random moments under load), {node.starts} starts,"
        f" seed {SEED}",
    )


@dataclass
class Outage:
    mode: str
    down: float  # pg_ctl stop returned
    up: float  # pg_ctl start was called
    recovered_in: float  # from pg_ctl start's return to the first read answered 200


def test_postgres_restart_under_load(tmp_path: Path) -> None:
    if not os.environ.get(POSTGRES_ENV):
        pytest.skip(f"PostgreSQL tests run when {POSTGRES_ENV} is set")
    reason = faults.cluster_unavailable_reason()
    if reason is not None:
        pytest.fail(f"{POSTGRES_ENV} is set, but no private cluster: {reason}", pytrace=False)
    bindir = faults.postgres_bindir()
    assert bindir is not None
    cluster = faults.PrivateCluster(bindir, free_port())
    try:
        cluster.init()
        cluster.start()
        url = cluster.create_database("indivisible")
        world = faults.prepare(url)
        journal = faults.Journal()
        stop = threading.Event()
        node = Node(url, tmp_path, env=node_env(tmp_path))
        workers: list[faults.Worker] = []
        outages: list[Outage] = []
        node.start()
        try:
            faults.setup_over_http(world, node.base)
            workers = [
                *faults.writers(world, journal, stop, SEED),
                faults.HeadKeeper(world, journal, stop),
                faults.Prober(world, journal, stop),
            ]
            for worker in workers:
                worker.start()
            began = time.monotonic()
            for kind in ("notification", "envelope", "position"):
                faults.wait_for(
                    lambda kind=kind: journal.acked_since(kind, began) > 0,  # type: ignore[misc]
                    LIMIT,
                    f"a {kind} acknowledged before the outage",
                )
            # A clean shutdown, then a crash of the server (immediate: recovery from the WAL).
            for mode in ("fast", "immediate"):
                cluster.stop(mode)
                down = time.monotonic()
                time.sleep(OUTAGE_SECONDS)
                up = time.monotonic()
                cluster.start()
                started = time.monotonic()
                recovered_in = faults.wait_for(
                    lambda started=started: any(  # type: ignore[misc]
                        p.status == 200 and p.sent >= started for p in journal.probes
                    ),
                    LIMIT,
                    f"a read answered 200 after PostgreSQL came back ({mode})",
                )
                outages.append(Outage(mode, down, up, recovered_in))
            back = time.monotonic()
            for kind in ("notification", "envelope", "decision", "position"):
                faults.wait_for(
                    lambda kind=kind: journal.acked_since(kind, back) > 0,  # type: ignore[misc]
                    LIMIT,
                    f"a {kind} acknowledged after the outages",
                )
        finally:
            try:
                faults.stop_all(workers, stop)
            finally:
                node.stop()

        lines = []
        for outage in outages:
            within = [
                p for p in journal.probes if p.sent >= outage.down and p.answered <= outage.up
            ]
            writes = [
                w for w in journal.writes if w.sent >= outage.down and w.answered <= outage.up
            ]
            wrong = [
                (p.path, p.status, p.detail) for p in within if p.status != 503 or not p.retry_after
            ]
            wrong += [(w.kind, w.status, w.detail) for w in writes if w.status != 503]
            codes = sorted({p.code or "" for p in within})
            lines.append(
                f"  outage ({outage.mode}): {len(within)} reads and {len(writes)} writes while"
                f" down, all 503 with Retry-After: {not wrong} (codes {codes}); recovered"
                f" {outage.recovered_in:.1f} s after PostgreSQL was up again, without a restart"
            )
            assert within, f"no read was answered while PostgreSQL was down ({outage.mode})"
            assert not wrong, wrong[:10]
        # Never a 500, never a hang: every read had an answer, 200 or 503.
        assert all(p.status in (200, 503) for p in journal.probes), [
            (p.path, p.status, p.detail) for p in journal.probes if p.status not in (200, 503)
        ][:10]
        checked = check_everything(
            url,
            tmp_path,
            journal,
            f"PostgreSQL restarted under load: {len(outages)} outages of {OUTAGE_SECONDS:.0f} s,"
            f" {len(journal.probes)} reads",
        )
        print("\n".join(lines))
        assert node.starts == 1, "the node was restarted; it should have recovered by itself"
        assert checked.log_entries > 0
    finally:
        cluster.destroy()
