"""Node life cycle: migrate, load reference data, create demo accounts, serve."""

from __future__ import annotations

import os
import secrets
from datetime import UTC, datetime

import typer
import uvicorn
from sqlalchemy import select
from sqlalchemy.orm import Session

from indivisible.app import create_app
from indivisible.auth import service as auth_service
from indivisible.auth.models import Principal
from indivisible.auth.principal import Actor, Role
from indivisible.auth.schemas import PrincipalCreate, TokenCreate
from indivisible.cbm.demo import create_demo_cbm
from indivisible.cli.common import DatabaseOption, console, settings, transaction
from indivisible.cli.registry import print_report
from indivisible.config import get_settings
from indivisible.crisis.demo import DEMO_SCENARIO, load_demo_crisis
from indivisible.db import make_engine
from indivisible.migrate import upgrade
from indivisible.registry import loader
from indivisible.registry.models import Body
from indivisible.sharing import service as sharing_service
from indivisible.sharing.models import TaxiiCollection
from indivisible.sharing.schemas import CollectionCreate, Distribution, Grant, Grantee, Release
from indivisible.warning import store, synthetic

# (username, display name, role, state, body kind + organisation); the body is looked up in the data.
DEMO_ACCOUNTS: list[tuple[str, str, Role, str | None, tuple[str, str] | None]] = [
    ("admin", "Node administrator", Role.admin, None, None),
    ("sco-secretariat", "SCO Secretariat officer", Role.secretariat, None, ("secretariat", "SCO")),
    (
        "csto-secretariat",
        "CSTO Secretariat officer",
        Role.secretariat,
        None,
        ("secretariat", "CSTO"),
    ),
    ("rus-liaison", "Russia liaison officer", Role.liaison, "RUS", None),
    ("kaz-liaison", "Kazakhstan liaison officer", Role.liaison, "KAZ", None),
    ("tjk-liaison", "Tajikistan liaison officer", Role.liaison, "TJK", None),
    ("rus-analyst", "Analyst (Russia)", Role.analyst, "RUS", None),
    ("chn-observer", "Observer (China)", Role.observer, "CHN", None),
]


def migrate(database_url: str | None) -> None:
    cfg = settings(database_url)
    path = cfg.sqlite_path()
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    engine = make_engine(cfg.database_url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()


def init_node(database_url: str | None) -> bool:
    migrate(database_url)
    with transaction(database_url) as session:
        report = loader.load(session, Actor.console("init"))
        print_report(report)
    return not report.refused


def create_demo_accounts(session: Session) -> list[tuple[str, str, str, str]]:
    """Creates the demo accounts that do not exist yet; returns (username, role, password, token)."""
    actor = Actor.console("demo")
    created = []
    for username, display, role, state, body_spec in DEMO_ACCOUNTS:
        if session.scalars(select(Principal).where(Principal.username == username)).first():
            continue
        body = None
        if body_spec is not None:
            kind, organisation = body_spec
            body = session.scalars(
                select(Body.code)
                .where(Body.kind == kind, Body.organisation_code == organisation)
                .order_by(Body.code)
            ).first()
            if body is None:
                console.print(
                    f"[yellow]skipped {username}: no {kind} body of {organisation} in the registry[/yellow]"
                )
                continue
        password = secrets.token_urlsafe(12)
        auth_service.create_principal(
            session,
            actor,
            PrincipalCreate(
                username=username,
                display_name=display,
                role=role,
                state=state,
                body=body,
                password=password,
            ),
        )
        issued = auth_service.issue_token(
            session, actor, TokenCreate(name="demo", expires_in_days=30), for_username=username
        )
        created.append((username, role.value, password, issued.secret))
    return created


# Synthetic events generated for the early-warning demo: enough for every chart and backtest.
DEMO_EVENTS = 200_000

DEMO_ADDRESS = "203.0.113.45"  # RFC 5737 documentation range: clearly not a real address


def create_demo_sharing(session: Session) -> int:
    """Two demo collections and two reports of one address, so that TAXII, release and "also
    reported by" have something to show; returns how many collections were created."""
    if session.scalars(select(TaxiiCollection.id)).first() is not None:
        return 0
    console_actor = Actor.console("demo")
    shared = sharing_service.create_collection(
        session,
        console_actor,
        CollectionCreate(
            title="Shared with the node",
            description="Demo collection: read and posted by everyone on the node.",
            release=Release(distribution=Distribution.node),
        ),
    )
    sco = sharing_service.create_collection(
        session,
        console_actor,
        CollectionCreate(
            title="SCO members",
            description="Demo collection: SCO members only.",
            organisation="SCO",
            release=Release(distribution=Distribution.organisation, organisation="SCO"),
            grants=[Grant(grantee=Grantee.organisation, organisation="SCO", can_write=True)],
        ),
    )
    green = "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"
    kaz = Actor(label="demo", role=Role.liaison, state_code="KAZ")
    tjk = Actor(label="demo", role=Role.liaison, state_code="TJK")
    moment = "2026-01-15T08:00:00.000Z"
    sharing_service.submit(
        session,
        kaz,
        shared,
        [
            {
                "type": "indicator",
                "spec_version": "2.1",
                "id": "indicator--6d1f8f3e-0d5a-4c1e-9d0c-3f6e2a7b9c01",
                "created": moment,
                "modified": moment,
                "name": "Demo: command-and-control address",
                "description": "Demonstration data, not a real report.",
                "indicator_types": ["malicious-activity"],
                "pattern": f"[ipv4-addr:value = '{DEMO_ADDRESS}']",
                "pattern_type": "stix",
                "valid_from": moment,
                "object_marking_refs": [green],
            }
        ],
    )
    sharing_service.submit(
        session,
        tjk,
        sco,
        [
            {
                "type": "ipv4-addr",
                "spec_version": "2.1",
                "id": "ipv4-addr--0b6c2f0e-5a8d-5c8f-9b7e-1d2c3e4f5a02",
                "value": DEMO_ADDRESS,
                "object_marking_refs": [green],
            }
        ],
    )
    return 2


def print_accounts(created: list[tuple[str, str, str, str]]) -> None:
    if not created:
        console.print(
            "Demo accounts already exist; their passwords were printed when they were created. "
            "Reset one with [bold]indivisible user password USERNAME[/bold]."
        )
        return
    # One line per account, never wrapped, so a password or token can be copied whole.
    console.print("[bold]Demo accounts[/bold] (shown once: the node keeps only hashes)")
    for username, role, password, token in created:
        console.print(
            f"  {username:<16} {role:<12} password: {password}   API token: {token}",
            soft_wrap=True,
            highlight=False,
        )


def create_demo_crisis(database_url: str | None) -> None:
    """Replay the Kazakhstan scenario through the node's API on a node with no crisis yet."""
    # The scenario's states hold no keys on a demo node: its submissions are marked unsigned.
    cfg = settings(database_url).model_copy(
        update={"webhook_interval_seconds": 0, "allow_unsigned_submissions": True}
    )
    crisis = load_demo_crisis(lambda: create_app(cfg), lambda: transaction(database_url))
    if crisis is not None:
        console.print(f"Replayed the {DEMO_SCENARIO} crisis scenario: /crisis/{crisis}")


def create_demo_events(database_url: str | None) -> None:
    """Synthetic events for the early-warning pages, on a node whose event store is empty:
    no real extract ships with the node, and the pages say the data is synthetic."""
    path = settings(database_url).events_file()
    with store.opened(path) as connection:
        if store.count(connection) > 0:
            return
        written = synthetic.write(connection, synthetic.plan(DEMO_EVENTS, seed=7), seed=7)
    console.print(f"Generated {written:,} synthetic events for the early-warning demo ({path}).")


def point_app_at(database_url: str | None) -> None:
    """Makes the app uvicorn builds use this database. The app reads its settings from the
    environment through a cached function, so the cache must be dropped too, or a URL given
    on the command line would lose to one read earlier."""
    if database_url:
        os.environ["INDIVISIBLE_DATABASE_URL"] = database_url
        get_settings.cache_clear()


def register(app: typer.Typer) -> None:
    @app.command()
    def init(database_url: str | None = DatabaseOption) -> None:
        """Migrate the database and load the reference data."""
        if not init_node(database_url):
            raise typer.Exit(1)

    @app.command()
    def demo(database_url: str | None = DatabaseOption) -> None:
        """Create the demo accounts (printed once, with passwords and API tokens) and, on a node
        with no TAXII collection yet, two demo collections with two reports that correlate; on
        one with no CBM notification yet, a demonstration year of confidence-building."""
        with transaction(database_url) as session:
            created = create_demo_accounts(session)
            create_demo_sharing(session)
            create_demo_cbm(session)
        create_demo_crisis(database_url)
        create_demo_events(database_url)
        print_accounts(created)

    @app.command()
    def serve(
        host: str | None = typer.Option(None, help="Address to listen on."),
        port: int | None = typer.Option(None, help="Port to listen on."),
        workers: int = typer.Option(
            1, help="Worker processes (PostgreSQL only for more than one)."
        ),
        database_url: str | None = DatabaseOption,
    ) -> None:
        """Serve the web UI and the API."""
        point_app_at(database_url)
        cfg = settings(database_url)
        console.print(
            f"Serving on http://{host or cfg.host}:{port or cfg.port}/ (database {cfg.database_url})"
        )
        uvicorn.run(
            "indivisible.app:create_app",
            factory=True,
            host=host or cfg.host,
            port=port or cfg.port,
            workers=workers,
            log_level="info",
        )

    @app.command()
    def start(
        host: str | None = typer.Option(None, help="Address to listen on."),
        port: int | None = typer.Option(None, help="Port to listen on."),
        database_url: str | None = DatabaseOption,
    ) -> None:
        """Everything a new node needs: migrate, load reference data, demo accounts, then serve."""
        started = datetime.now(UTC)
        init_node(database_url)
        with transaction(database_url) as session:
            created = create_demo_accounts(session)
            create_demo_sharing(session)
            create_demo_cbm(session)
        create_demo_crisis(database_url)
        create_demo_events(database_url)
        print_accounts(created)
        # The demo's users file from the web forms, which cannot sign: a demo node takes
        # unsigned submissions (and marks them) unless the operator said otherwise.
        if "INDIVISIBLE_ALLOW_UNSIGNED_SUBMISSIONS" not in os.environ:
            os.environ["INDIVISIBLE_ALLOW_UNSIGNED_SUBMISSIONS"] = "true"
            get_settings.cache_clear()
            console.print("Demo node: unsigned submissions are accepted and marked unsigned.")
        console.print(f"Ready in {(datetime.now(UTC) - started).total_seconds():.1f} s.")
        serve(host=host, port=port, workers=1, database_url=database_url)
