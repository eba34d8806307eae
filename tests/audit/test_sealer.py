"""The node seals its change log by itself while it runs, and signs tree heads with its key."""

from __future__ import annotations

import time
from pathlib import Path

from fastapi.testclient import TestClient

from indivisible.app import create_app
from indivisible.audit import ledger
from indivisible.config import Settings
from indivisible.db import make_engine, make_session_factory, unit_of_work
from indivisible.migrate import upgrade
from tests.audit.test_ledger import grow


def test_a_running_node_seals_and_signs(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'node.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with unit_of_work(make_session_factory(engine)) as session:
        grow(session, 25, seed=30)
    settings = Settings(
        database_url=url,
        webhook_interval_seconds=0,
        audit_seal_interval_seconds=0.05,
        audit_tree_head_interval_seconds=0,
    )
    with TestClient(create_app(settings)):
        # Waits for the loop's first rounds, not for a speed: the bound only ends a hung test.
        deadline = time.monotonic() + 30
        head = None
        while head is None and time.monotonic() < deadline:
            with unit_of_work(make_session_factory(engine)) as session:
                found = ledger.latest_head(session)
                head = ledger.head_json(found) if found is not None else None
            time.sleep(0.05)
    assert head is not None and head["tree_size"] == 25
    assert (tmp_path / "node-key.pem").exists()
    with unit_of_work(make_session_factory(engine)) as session:
        assert ledger.verify(session, [head]).ok
    engine.dispose()
