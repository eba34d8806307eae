"""``indivisible audit``: seal, keep a tree head, verify; a tampered row fails with its name."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import update
from typer.testing import CliRunner

from indivisible.audit.models import ChangeRecord
from indivisible.cli import app
from indivisible.db import make_engine, make_session_factory, unit_of_work
from indivisible.migrate import upgrade
from tests.audit.test_ledger import grow

runner = CliRunner()


def test_seal_keep_a_head_verify_and_name_the_first_bad_entry(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'node.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with unit_of_work(make_session_factory(engine)) as session:
        grow(session, 50, seed=20)
    key = tmp_path / "node-key.pem"
    db = ["--database-url", url]

    sealed = runner.invoke(app, ["audit", "seal", "--key", str(key), *db])
    assert sealed.exit_code == 0, sealed.output
    assert "sealed 50 entries" in sealed.output
    assert key.stat().st_mode & 0o077 == 0  # the node's key is its owner's alone

    head = runner.invoke(app, ["audit", "tree-head", *db])
    assert head.exit_code == 0, head.output
    kept = tmp_path / "kept.json"
    kept.write_text(head.stdout)
    assert json.loads(head.stdout)["tree_size"] == 50

    intact = runner.invoke(app, ["audit", "verify", "--tree-head", str(kept), *db])
    assert intact.exit_code == 0, intact.output
    assert "the log is intact" in intact.output

    with engine.begin() as conn:
        conn.execute(
            update(ChangeRecord).where(ChangeRecord.seq == 17).values(subject_key="rewritten")
        )
    broken = runner.invoke(app, ["audit", "verify", "--tree-head", str(kept), "--json", *db])
    assert broken.exit_code == 1
    report = json.loads(broken.stdout)
    assert report["first_bad_entry"] == 17
    assert not report["ok"]
    plain = runner.invoke(app, ["audit", "verify", *db])
    assert plain.exit_code == 1
    assert "first bad entry: 17" in plain.output
    engine.dispose()
