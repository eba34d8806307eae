"""The demo's crisis: the Kazakhstan scenario of January 2022, replayed through the node's
own API as its states' liaison officers and the CSTO secretariat, so that what the demo
shows was checked by the same rules as anything a user enters.

The replay acts through accounts named ``scenario-<actor>`` whose API tokens live only for
the replay and are revoked at its end; the audit trail shows every step under them. The
requests go straight to the application object (no network, no HTTP client library).
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Callable, MutableMapping
from contextlib import AbstractContextManager
from typing import Any

from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session

from indivisible.auth import service as auth_service
from indivisible.auth.models import Principal
from indivisible.auth.principal import Actor, Role
from indivisible.auth.schemas import PrincipalCreate, TokenCreate
from indivisible.crisis import scenario as scenarios
from indivisible.crisis.models import Crisis
from indivisible.registry.models import Body

DEMO_SCENARIO = "kazakhstan-2022"


async def _asgi(
    app: FastAPI, method: str, path: str, body: bytes, headers: dict[str, str]
) -> tuple[int, bytes]:
    """One HTTP request handed to the application as its server would hand it."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 0),
        "server": ("localhost", 80),
    }
    delivered = False
    status = 0
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if delivered:
            return {"type": "http.disconnect"}
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(chunks)


def api_caller(app: FastAPI, tokens: dict[str, str]) -> scenarios.Call:
    def call(actor: str, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        headers = {
            "authorization": f"Bearer {tokens[actor]}",
            "content-type": "application/json",
        }
        status, answer = asyncio.run(_asgi(app, method, path, json.dumps(body).encode(), headers))
        if status >= 300:
            raise scenarios.ReplayError(0, path, status, answer.decode(errors="replace"))
        result: dict[str, Any] = json.loads(answer)
        return result

    return call


def scenario_accounts(
    session: Session, scenario: scenarios.Scenario
) -> tuple[dict[str, str], list[int]]:
    """An API token for each actor of the scenario (creating its account if need be);
    answers the tokens by actor and their ids, to revoke."""
    console = Actor.console("scenario")
    tokens: dict[str, str] = {}
    ids: list[int] = []
    for actor in sorted(scenarios.actors(scenario)):
        username = f"scenario-{actor.lower()}"
        exists = session.scalars(select(Principal).where(Principal.username == username)).first()
        if exists is None:
            secretariat = actor == scenarios.SECRETARIAT
            body = (
                session.scalars(
                    select(Body.code)
                    .where(
                        Body.kind == "secretariat", Body.organisation_code == scenario.organisation
                    )
                    .order_by(Body.code)
                ).first()
                if secretariat
                else None
            )
            auth_service.create_principal(
                session,
                console,
                PrincipalCreate(
                    username=username,
                    display_name=f"Scenario replay ({actor})",
                    role=Role.secretariat if secretariat else Role.liaison,
                    state=None if secretariat else actor,
                    body=body,
                    password=secrets.token_urlsafe(24),
                ),
            )
        issued = auth_service.issue_token(
            session,
            console,
            TokenCreate(name="scenario replay", expires_in_days=1),
            for_username=username,
        )
        tokens[actor] = issued.secret
        ids.append(issued.token.id)
    return tokens, ids


def load_demo_crisis(
    make_app: Callable[[], FastAPI], transaction: Callable[[], AbstractContextManager[Session]]
) -> int | None:
    """Replay the demo scenario on a node with no crisis yet; answers the crisis id, or None
    when the node has crises already. ``transaction`` opens a committed unit of work on the
    node's database; ``make_app`` builds the node's application on it."""
    scenario = scenarios.bundled(DEMO_SCENARIO)
    with transaction() as session:
        if session.scalars(select(Crisis.id)).first() is not None:
            return None
        tokens, token_ids = scenario_accounts(session, scenario)
    try:
        return scenarios.replay(scenario, api_caller(make_app(), tokens))
    finally:
        with transaction() as session:
            console = Actor.console("scenario")
            for token_id in token_ids:
                auth_service.revoke_token(session, console, token_id)
