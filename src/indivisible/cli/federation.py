"""``indivisible link`` and ``indivisible sync``: federation with other nodes over TAXII."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import select

from indivisible.audit import ledger
from indivisible.auth import signing
from indivisible.auth.principal import Actor
from indivisible.cli.common import (
    DatabaseOption,
    JsonOption,
    cell,
    console,
    emit,
    err_console,
    settings,
    transaction,
)
from indivisible.db import make_engine, make_session_factory
from indivisible.errors import IndivisibleError
from indivisible.sharing import federation, pushes
from indivisible.sharing.models import FederationLink
from indivisible.sharing.schemas import LinkCreate

link_app = typer.Typer(help="Links to other nodes' TAXII collections.", no_args_is_help=True)


@link_app.command("add")
def add(
    name: str = typer.Argument(..., help="The remote node's name; received objects carry it."),
    url: str = typer.Option(
        ..., help="The remote collection: https://…/taxii2/<api-root>/collections/<id>/"
    ),
    collection: str = typer.Option(
        ..., help="The local collection: pulled objects land here, its objects are pushed."
    ),
    token: str | None = typer.Option(
        None, envvar="INDIVISIBLE_LINK_TOKEN", help="An API token of the remote (Bearer)."
    ),
    username: str | None = typer.Option(None, help="For HTTP Basic: the remote account."),
    password: str | None = typer.Option(
        None, envvar="INDIVISIBLE_LINK_PASSWORD", help="For HTTP Basic: its password."
    ),
    pull: bool = typer.Option(True, "--pull/--no-pull", help="Fetch the remote's new objects."),
    push: bool = typer.Option(
        False, "--push/--no-push", help="Send local objects released to linked nodes."
    ),
    database_url: str | None = DatabaseOption,
) -> None:
    """Register a remote TAXII collection to exchange objects with."""
    if (token is None) == (username is None or password is None):
        err_console.print("[red]error[/red] (token): give --token, or --username and --password")
        raise typer.Exit(2)
    with transaction(database_url) as session:
        link = federation.add_link(
            session,
            Actor.console("link-add"),
            LinkCreate(
                name=name,
                url=url,
                collection=collection,
                username=username if token is None else None,
                secret=token if token is not None else password or "",
                pull=pull,
                push=push,
            ),
        )
        directions = " and ".join(d for d, on in (("pull", link.pull), ("push", link.push)) if on)
    console.print(f"Linked {name} ({directions}) at {link.url}")


@link_app.command("list")
def list_links(database_url: str | None = DatabaseOption, as_json: bool = JsonOption) -> None:
    """The links, their checkpoints and the last error (secrets are never shown)."""
    with transaction(database_url) as session:
        rows = [
            {
                "name": link.name,
                "url": link.url,
                "collection": link.collection_id,
                "pull": link.pull,
                "push": link.push,
                "pulled_until": link.pulled_until,
                "pushed_until": link.pushed_until,
                "last_sync_at": link.last_sync_at,
                "last_error": link.last_error,
            }
            for link in federation.links(session, Actor.console("link-list"))
        ]
    if emit(rows, as_json):
        return
    table = Table("name", "url", "pull", "push", "pulled until", "pushed until", "last error")
    for row in rows:
        table.add_row(
            *(
                cell(row[k])
                for k in ("name", "url", "pull", "push", "pulled_until", "pushed_until")
            ),
            cell(row["last_error"]),
        )
    console.print(table)


@link_app.command("key")
def node_key(database_url: str | None = DatabaseOption, as_json: bool = JsonOption) -> None:
    """This node's public key, which signs its pushes: give it to the operators of the nodes
    it pushes to (``indivisible user node-key`` there)."""
    private = ledger.load_or_create_node_key(settings(database_url).node_key_file())
    public = signing.public_b64(private)
    shown = {"key_id": signing.key_id(signing.public_bytes(public)), "public_key": public}
    if not emit(shown, as_json):
        console.print(f"key id: {shown['key_id']}\npublic key: {public}")


@link_app.command("receipts")
def receipts(
    origin: str | None = typer.Option(None, "--origin", help="Only this node account's pushes."),
    verify: bool = typer.Option(
        False, "--verify", help="Check every signature again; exit 1 if one fails."
    ),
    database_url: str | None = DatabaseOption,
    as_json: bool = JsonOption,
) -> None:
    """The pushes linked nodes made here, with their signatures. ``--json`` prints each with
    the envelope it covers, which ``indivisible keys verify-item`` checks offline."""
    with transaction(database_url) as session:
        blocks = [
            pushes.read(r) for r in pushes.receipts(session, Actor.console("link-receipts"), origin)
        ]
    verdicts = [pushes.check(b) if b["signed"] else (True, "unsigned") for b in blocks]
    if not emit(
        [
            {**b, "verified": ok, "reason": why} if verify else b
            for b, (ok, why) in zip(blocks, verdicts, strict=True)
        ],
        as_json,
    ):
        table = Table("receipt", "origin", "received", "objects", "key", "check")
        for block, (ok, why) in zip(blocks, verdicts, strict=True):
            document = block["document"] or {}
            count = len((document.get("content") or {}).get("objects") or [])
            table.add_row(
                str(block["receipt"]),
                block["origin"],
                block["received_at"],
                str(count) if block["signed"] else "",
                cell(block["key_id"] or "unsigned"),
                ("ok" if ok else f"[red]{why}[/red]") if verify else "",
            )
        console.print(table)
    if verify and not all(ok for ok, _why in verdicts):
        raise typer.Exit(1)


@link_app.command("remove")
def remove(name: str, database_url: str | None = DatabaseOption) -> None:
    """Forget a link; what was received through it stays, with its origin."""
    with transaction(database_url) as session:
        federation.remove_link(session, Actor.console("link-remove"), name)
    console.print(f"Removed link {name}")


@link_app.command("rewind")
def rewind(
    name: str,
    since: datetime | None = typer.Option(
        None,
        "--since",
        formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M:%S%z"],
        help="Pull again what the remote added after this time (with its UTC offset); "
        "default: everything.",
    ),
    database_url: str | None = DatabaseOption,
) -> None:
    """Move a link's pull checkpoint back, so that the next sync fetches again what objects
    were refused for (a state's keys adopted since, say); stored ones stay stored once."""
    with transaction(database_url) as session:
        federation.rewind(session, Actor.console("link-rewind"), name, since)
    console.print(f"Link {name} will pull again from {since.isoformat() if since else 'the start'}")


def sync(
    link: str | None = typer.Option(None, "--link", help="Only this link (default: all)."),
    database_url: str | None = DatabaseOption,
    as_json: bool = JsonOption,
) -> None:
    """Pull new objects from each linked collection and push those released to linked nodes.

    Each page is committed with its checkpoint: re-running is idempotent, and an interrupted
    sync resumes where it stopped. Exits with 1 if a link failed.
    """
    actor = Actor.console("sync")
    with transaction(database_url) as session:
        names = [found.name for found in federation.links(session, actor, link)]
    node_settings = settings(database_url)
    node_key = ledger.load_or_create_node_key(node_settings.node_key_file())
    engine = make_engine(node_settings.database_url)
    factory = make_session_factory(engine)
    reports: list[federation.SyncReport] = []
    try:
        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=err_console,
            disable=as_json,
        ) as progress:
            for name in names:
                report = federation.SyncReport(link=name)
                reports.append(report)
                task = progress.add_task(name, total=None)
                with factory() as session:
                    current = session.scalars(
                        select(FederationLink).where(FederationLink.name == name)
                    ).one()
                    try:
                        for step in federation.sync(
                            session,
                            actor,
                            current,
                            node_key=node_key,
                            signed_objects_required=node_settings.signed_objects_required,
                        ):
                            session.commit()
                            report.add(step)
                            progress.update(
                                task,
                                description=f"{name}: {report.pulled} pulled, "
                                f"{report.pushed} pushed",
                            )
                        session.commit()
                    except (federation.RemoteError, IndivisibleError) as exc:
                        session.rollback()
                        report.error = str(exc)
                        current.last_error = report.error
                        session.commit()
    finally:
        engine.dispose()
    # The refusals as objects: asdict leaves pydantic models as they are, which JSON can't hold.
    shown = [
        {**asdict(r), "failures": [f.model_dump(exclude_none=True) for f in r.failures]}
        for r in reports
    ]
    if not emit(shown, as_json):
        table = Table("link", "pulled", "pushed", "already here", "refused", "error")
        for r in reports:
            table.add_row(
                r.link,
                str(r.pulled),
                str(r.pushed),
                str(r.already),
                str(len(r.failures)),
                cell(r.error),
            )
        console.print(table)
        for r in reports:
            for failure in r.failures[:20]:
                err_console.print(f"{r.link}: refused {failure.id}: {failure.message}")
    if any(r.error for r in reports):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(link_app, name="link")
    app.command("sync")(sync)
