"""The load benchmark's smoke run (`benchmarks/load.py --quick`) as CI runs it: it builds a
node, serves it, drives it at two small levels and reports them. Only correctness is checked
here, never a timing: what a machine measures is the benchmark's business, not the test's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from indivisible.db import make_engine
from tests.conftest import POSTGRES_ENV

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "load.py"
QUICK_LEVELS = [2, 4]
WRITES = {"cbm_notify", "crisis_position", "taxii_add"}


def bench(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    """A database of the benchmark's own: on the CI's PostgreSQL server when configured (a
    name of its own beside the tests' database, dropped afterwards), else an SQLite file."""
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        yield f"sqlite:///{tmp_path / 'load.db'}"
        return
    url = make_url(base)
    name = f"{url.database}_load_bench_{uuid.uuid4().hex[:8]}"
    yield url.set(database=name).render_as_string(hide_password=False)
    admin = make_engine(url.render_as_string(hide_password=False))
    try:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def test_the_quick_run_reports_every_level(database_url: str, tmp_path: Path) -> None:
    report = tmp_path / "load.json"
    done = bench("--quick", "--database-url", database_url, "--json", str(report))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    result: dict[str, Any] = json.loads(report.read_text())
    assert result["benchmark"] == "load"
    assert result["config"]["levels"] == QUICK_LEVELS
    assert result["config"]["quick"] is True
    levels = result["results"]
    assert [level["clients"] for level in levels] == QUICK_LEVELS
    known = {op["operation"] for op in result["config"]["mix"]}
    for level in levels:
        assert level["requests"] > 0 and level["throughput"] > 0
        assert level["p50_ms"] <= level["p95_ms"] <= level["p99_ms"] <= level["max_ms"]
        assert set(level["operations"]) <= known
        assert sum(op["requests"] for op in level["operations"].values()) == level["requests"]
        assert level["errors"] == sum(op["errors"] for op in level["operations"].values())
        assert isinstance(level["target_met"], bool)
    # The mix reads and writes: a run of a few hundred requests sends both.
    sent = {op for level in levels for op, o in level["operations"].items() if o["requests"]}
    assert sent & WRITES and sent - WRITES

    # The controls: each operation alone, at the largest level, after the mix.
    controls = result["controls"]
    assert [c["operation"] for c in controls] == ["node_health", "warning_alerts"]
    for control in controls:
        assert control["clients"] == QUICK_LEVELS[-1]
        assert set(control["operations"]) == {control["operation"]}
        assert control["operations"][control["operation"]]["requests"] == control["requests"] > 0
        assert isinstance(control["target_met"], bool)

    # The table: one row per level, each judged against the target.
    table = done.stdout
    assert "Load:" in table
    for level in levels:
        row = next(line for line in table.splitlines() if line.startswith(f"│ {level['clients']} "))
        assert ("PASS" in row) or ("MISS" in row)
    assert str(report) in table.replace("\n", "")
    assert "Controls: one operation alone" in table
    for control in controls:
        assert any(line.startswith(f"│ {control['operation']} ") for line in table.splitlines())

    if database_url.startswith("postgresql"):
        # On PostgreSQL a tiny run has no reason to fail a request: every answer must be the
        # expected one. (On SQLite the audit sealer's commits make some writes answer 503,
        # a documented limit of the single-file database, so errors are not asserted there.)
        measured = [*levels, *controls]
        assert all(r["errors"] == 0 and r["warmup_errors"] == 0 for r in measured), [
            r["error_samples"] for r in measured
        ]


def test_an_unknown_control_is_refused_before_anything_is_built(tmp_path: Path) -> None:
    target = tmp_path / "never.db"
    done = bench("--quick", "--database-url", f"sqlite:///{target}", "--controls", "nothing")
    assert done.returncode != 0
    assert "--controls: unknown operation(s) nothing" in done.stderr
    assert not target.exists()


def test_a_database_it_did_not_create_is_left_alone(tmp_path: Path) -> None:
    precious = tmp_path / "precious.db"
    precious.write_bytes(b"someone else's data")
    done = bench("--quick", "--database-url", f"sqlite:///{precious}", timeout=120)
    assert done.returncode == 2
    assert "not made by this benchmark" in done.stdout
    assert precious.read_bytes() == b"someone else's data"
