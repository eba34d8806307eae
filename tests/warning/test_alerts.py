"""Alert rules over indicators and anomaly flags, on both databases: a state's users keep and
subscribe to them, evaluation fires once per rule, key and month with the data that fired
it, the firing reaches the state's event stream, and bad rules get a clear 4xx."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from indivisible.auth.principal import Role
from indivisible.cbm.models import CbmEvent
from indivisible.warning import store, synthetic
from indivisible.warning.models import AlertFiring, AlertRule
from tests.conftest import bearer_tokens


@pytest.fixture
def events(app: FastAPI, tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "events.duckdb"
    with store.opened(path) as connection:
        synthetic.write(connection, synthetic.plan(30_000, months=84, seed=5), seed=5)
    original = app.state.settings
    app.state.settings = original.model_copy(update={"events_path": str(path)})
    yield path
    app.state.settings = original


@pytest.fixture
def tokens(db: Session) -> dict[str, dict[str, str]]:
    return bearer_tokens(
        db,
        "al",
        {
            "kaz": (Role.liaison, "KAZ", None),
            "kaz-analyst": (Role.analyst, "KAZ", None),
            "rus": (Role.liaison, "RUS", None),
            "chn-observer": (Role.observer, "CHN", None),
        },
    )


def rule(**overrides: Any) -> dict[str, Any]:
    return {"name": "Afghan fatalities", "country": "AFG", "indicator": "fatalities",
            "condition": "above", "threshold": 0, **overrides}  # fmt: skip


def test_rules_fire_once_reach_the_state_and_carry_their_data(
    client: TestClient, db: Session, tokens: dict[str, dict[str, str]], events: Path
) -> None:
    made = client.post("/api/v1/warning/alerts", json=rule(), headers=tokens["kaz"])
    assert made.status_code == 201, made.text
    assert made.json()["subscribed"] is True and made.json()["state"] == "KAZ"
    anomalous = client.post(
        "/api/v1/warning/alerts",
        json=rule(name="Central Asia unusual", country=None, region="central-asia",
                  indicator="events", condition="anomalous", threshold=None),
        headers=tokens["kaz"],
    )  # fmt: skip
    assert anomalous.status_code == 201, anomalous.text
    first = client.post("/api/v1/warning/alerts/evaluate?months=12", headers=tokens["kaz"])
    assert first.status_code == 200, first.text
    assert first.json()["rules"] == 2 and first.json()["fired"] >= 1
    again = client.post("/api/v1/warning/alerts/evaluate?months=12", headers=tokens["kaz"])
    assert again.json()["fired"] == 0
    inbox = client.get("/api/v1/warning/alerts/firings", headers=tokens["kaz"]).json()
    assert len(inbox) == first.json()["fired"]
    above = [f for f in inbox if f["rule"] == made.json()["id"]]
    assert above and all(f["value"] > 0 and f["detail"]["threshold"] == 0 for f in above)
    one = client.get(f"/api/v1/warning/alerts/firings/{inbox[0]['id']}", headers=tokens["kaz"])
    assert one.status_code == 200 and one.json()["id"] == inbox[0]["id"]
    # Each firing was announced to Kazakhstan on the event stream, and to no one else.
    told = db.scalars(select(CbmEvent.state_code).where(CbmEvent.kind == "warning-alert")).all()
    assert told and set(told) == {"KAZ"} and len(told) == first.json()["fired"]
    # Another state sees neither the rules nor what they fired.
    assert client.get("/api/v1/warning/alerts", headers=tokens["rus"]).json() == []
    assert client.get("/api/v1/warning/alerts/firings", headers=tokens["rus"]).json() == []
    assert client.get(f"/api/v1/warning/alerts/firings/{inbox[0]['id']}", headers=tokens["rus"]).status_code == 404  # fmt: skip
    assert client.put(f"/api/v1/warning/alerts/{made.json()['id']}/subscription", headers=tokens["rus"]).status_code == 404  # fmt: skip
    # A colleague subscribes, then unsubscribes.
    path = f"/api/v1/warning/alerts/{made.json()['id']}/subscription"
    assert client.get("/api/v1/warning/alerts/firings", headers=tokens["kaz-analyst"]).json() == []
    assert client.put(path, headers=tokens["kaz-analyst"]).json()["subscribed"] is True
    assert len(client.get("/api/v1/warning/alerts/firings", headers=tokens["kaz-analyst"]).json()) == len(above)  # fmt: skip
    assert client.delete(path, headers=tokens["kaz-analyst"]).json()["subscribed"] is False
    assert client.get("/api/v1/warning/alerts/firings", headers=tokens["kaz-analyst"]).json() == []


@pytest.mark.parametrize(
    ("who", "body", "status", "field"),
    [
        ("kaz", rule(region="central-asia"), 422, "region"),
        ("kaz", rule(threshold=None), 422, "threshold"),
        ("kaz", rule(condition="anomalous"), 422, "threshold"),
        (
            "kaz",
            rule(condition="anomalous", threshold=None, indicator="events_mean_3"),
            422,
            "threshold",
        ),
        ("kaz", rule(country=None, region="atlantis"), 422, "region"),
        ("kaz", rule(indicator="rainfall"), 422, "indicator"),
        ("kaz", rule(threshold=-1), 422, "threshold"),
        ("chn-observer", rule(), 403, None),
    ],
)
def test_bad_rules_are_refused_and_change_nothing(
    client: TestClient,
    db: Session,
    tokens: dict[str, dict[str, str]],
    who: str,
    body: dict[str, Any],
    status: int,
    field: str | None,
) -> None:
    before = db.scalar(select(func.count()).select_from(AlertRule))
    answer = client.post("/api/v1/warning/alerts", json=body, headers=tokens[who])
    assert answer.status_code == status, answer.text
    if field is not None:
        assert field in [e["field"] for e in answer.json()["errors"]], answer.text
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(AlertRule)) == before
    assert db.scalar(select(func.count()).select_from(AlertFiring)) == 0
