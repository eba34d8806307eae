"""Fixtures of crisis response: the Kazakhstan scenario replayed through the API."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from indivisible.auth.principal import Role
from indivisible.crisis import scenario as scenarios
from indivisible.crisis.scenario import ReplayError
from tests.conftest import bearer_tokens

KAZAKHSTAN = scenarios.bundled("kazakhstan-2022")
# The password bearer_tokens gives its principals, for logging in to the web pages.
PASSWORD = "long-enough-pw"


def caller(client: TestClient, headers: dict[str, dict[str, str]]) -> scenarios.Call:
    def call(actor: str, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        answer = client.request(method, path, json=body, headers=headers[actor])
        if answer.status_code >= 300:
            raise ReplayError(0, path, answer.status_code, answer.text)
        result: dict[str, Any] = answer.json()
        return result

    return call


@pytest.fixture
def replayed(client: TestClient, db: Session) -> tuple[int, dict[str, dict[str, str]]]:
    users: dict[str, tuple[Role, str | None, str | None]] = {
        state: (Role.liaison, state, None)
        for state in scenarios.actors(KAZAKHSTAN) - {scenarios.SECRETARIAT}
    }
    users[scenarios.SECRETARIAT] = (Role.secretariat, None, "CSTO-SECRETARIAT")
    users["USA"] = (Role.liaison, "USA", None)
    headers = bearer_tokens(db, "kz", users)  # usernames kz-<actor>
    return scenarios.replay(KAZAKHSTAN, caller(client, headers)), headers
