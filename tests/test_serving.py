"""How a serving process holds its heap: what start-up made is left out of garbage collection."""

from __future__ import annotations

import gc

from fastapi import FastAPI
from fastapi.testclient import TestClient

from indivisible.app import YOUNG_GENERATION_THRESHOLD


def test_a_started_node_freezes_what_start_up_made(app: FastAPI) -> None:
    with TestClient(app) as client:
        assert client.get("/api/v1/health").status_code == 200
        # Start-up's objects (modules, the validator's grammar, rule sets) are frozen; a full
        # collection no longer walks them.
        assert gc.get_freeze_count() > 100_000
        assert gc.get_threshold()[0] == YOUNG_GENERATION_THRESHOLD
        # What requests make is still collected.
        cycle: list[object] = []
        cycle.append(cycle)
        del cycle
        assert gc.collect() >= 1
