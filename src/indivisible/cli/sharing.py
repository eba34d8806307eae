"""Sharing from the console: TAXII collections, and STIX bundles in and out."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

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
from indivisible.sharing import service, transfer
from indivisible.sharing.schemas import (
    CollectionCreate,
    Distribution,
    Grant,
    Grantee,
    Outcome,
    Release,
)

app = typer.Typer(
    help="Threat-information sharing: TAXII collections, STIX import and export.",
    no_args_is_help=True,
)
collection_app = typer.Typer(help="TAXII collections.", no_args_is_help=True)
app.add_typer(collection_app, name="collection")


def _grants(readers: list[str], writers: list[str]) -> list[Grant]:
    """'everyone', an organisation code (e.g. SCO) or a state code (e.g. KAZ) per option."""
    grants: dict[str, Grant] = {}
    for who, write in [(r, False) for r in readers] + [(w, True) for w in writers]:
        if who == "everyone":
            grant = Grant(grantee=Grantee.everyone, can_write=write)
        elif len(who) == 3 and who.isalpha() and who.isupper():
            grant = Grant(grantee=Grantee.state, state=who, can_write=write)
        else:
            grant = Grant(grantee=Grantee.organisation, organisation=who, can_write=write)
        before = grants.get(who)
        if before is not None:
            grant = grant.model_copy(update={"can_write": before.can_write or write})
        grants[who] = grant
    return list(grants.values())


@collection_app.command("add")
def add(
    title: str,
    distribution: Distribution = typer.Option(
        ..., help="Release of what is posted here: submitter, organisation, states, group, node."
    ),
    organisation: str | None = typer.Option(
        None, help="Serve it under this organisation's API root (and release to it)."
    ),
    partners: bool = typer.Option(False, help="With --distribution organisation: also partners."),
    state: list[str] = typer.Option([], help="With --distribution states: a recipient state."),
    group: str | None = typer.Option(None, help="With --distribution group: the sharing group."),
    federate: bool = typer.Option(False, help="Linked nodes may receive what is posted here."),
    description: str | None = typer.Option(None),
    alias: str | None = typer.Option(None),
    read: list[str] = typer.Option(
        ["everyone"], help="Who may read: everyone, an organisation code or a state code."
    ),
    write: list[str] = typer.Option(
        ["everyone"], help="Who may post (liaison officers only): as for --read."
    ),
    database_url: str | None = DatabaseOption,
    as_json: bool = JsonOption,
) -> None:
    """Create a TAXII collection; prints its id and URL."""
    with transaction(database_url) as session:
        collection = service.create_collection(
            session,
            Actor.console("sharing-collection-add"),
            CollectionCreate(
                title=title,
                description=description,
                alias=alias,
                organisation=organisation,
                release=Release(
                    distribution=distribution,
                    organisation=organisation
                    if distribution is Distribution.organisation
                    else None,
                    include_partners=partners,
                    states=state,
                    group=group,
                    federate=federate,
                ),
                grants=_grants(read, write),
            ),
        )
        root = service.root_of(collection)
        data = {
            "id": collection.id,
            "api_root": root,
            "url": f"/taxii2/{root}/collections/{collection.id}/",
        }
    if not emit(data, as_json):
        console.print(f"Created collection {data['id']} at {data['url']}")


@collection_app.command("list")
def list_collections(database_url: str | None = DatabaseOption, as_json: bool = JsonOption) -> None:
    with transaction(database_url) as session:
        data = [
            {
                "id": c.id,
                "api_root": service.root_of(c),
                "title": c.title,
                "distribution": c.distribution,
                "federate": c.federate,
            }
            for root in service.api_roots(session)
            for c in service.collections_in(session, root)
        ]
    if emit(data, as_json):
        return
    table = Table("id", "api root", "title", "distribution", "federate")
    for d in data:
        table.add_row(*(str(d[k]) for k in ("id", "api_root", "title", "distribution", "federate")))
    console.print(table)


# --- Import and export ---------------------------------------------------------------------------

AsOption = typer.Option(..., "--as", help="The account to act as (its username).")
ShowOption = typer.Option(20, "--show", min=0, help="How many refusals to print.")
FileArgument = typer.Argument(
    ..., exists=True, dir_okay=False, readable=True, help="A JSON file.", show_default=False
)


def _release(
    distribution: Distribution,
    organisation: str | None,
    partners: bool,
    states: list[str],
    group: str | None,
    federate: bool,
) -> Release:
    return Release(
        distribution=distribution,
        organisation=organisation if distribution is Distribution.organisation else None,
        include_partners=partners,
        states=states,
        group=group,
        federate=federate,
    )


@contextmanager
def _progress(total: int, shown: bool) -> Iterator[transfer.Progress]:
    """A progress bar over objects, on stderr so that stdout keeps only the report."""
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err_console,
        disable=not shown,
    ) as bar:
        task = bar.add_task("objects", total=total)
        yield lambda done: bar.advance(task, done)


def _outcome(outcome: Outcome, collection: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"collection": collection} if collection is not None else {}
    return {**data, **outcome.model_dump()}


def _print_refusals(refusals: list[dict[str, Any]], show: int) -> None:
    if not refusals or not show:
        return
    columns = [c for c in ("collection", "id", "version", "message") if c in refusals[0]]
    table = Table(*columns, title=f"Refused ({min(show, len(refusals))} of {len(refusals)})")
    for refusal in refusals[:show]:
        # Validators quote values in brackets, which Rich would read as markup.
        table.add_row(*(escape(cell(refusal[c])) for c in columns))
    console.print(table)


@app.command("import")
def import_file(
    file: Path = FileArgument,
    collection: str = typer.Option(..., "--collection", help="The collection's id."),
    username: str = AsOption,
    distribution: Distribution | None = typer.Option(
        None,
        help="Release these objects otherwise than the collection does (as 'collection add').",
    ),
    organisation: str | None = typer.Option(
        None, help="With --distribution organisation: the organisation."
    ),
    partners: bool = typer.Option(False, help="With --distribution organisation: also partners."),
    state: list[str] = typer.Option([], help="With --distribution states: a recipient state."),
    group: str | None = typer.Option(None, help="With --distribution group: the sharing group."),
    federate: bool = typer.Option(False, help="Linked nodes may receive these objects."),
    show: int = ShowOption,
    database_url: str | None = DatabaseOption,
    as_json: bool = JsonOption,
) -> None:
    """Import a STIX 2.1 bundle (or a TAXII envelope) into a collection, as a liaison officer.

    Each object is validated and stored as a TAXII POST would store it; invalid ones are
    refused with the validator's message and the rest are stored. Running it again stores
    nothing twice. Exits 1 when any object was refused.
    """
    if distribution is None and (organisation or partners or state or group or federate):
        raise typer.BadParameter(
            "the release options need --distribution", param_hint="--distribution"
        )
    with transaction(database_url) as session:
        actor = transfer.actor_for_username(session, username)
        target = transfer.collection_for_import(session, actor, collection)
        objects = transfer.bundle_objects(transfer.read_json(file))
        release = None
        if distribution is not None:
            release = _release(distribution, organisation, partners, state, group, federate)
        with _progress(len(objects), not as_json) as advance:
            result = transfer.import_bundle(
                session,
                actor,
                target,
                objects,
                release,
                progress=advance,
                signed_objects_required=settings(database_url).signed_objects_required,
            )
    found = transfer.counts(result)
    refusals = [_outcome(o) for o in result.failures]
    if not emit(
        {"collection": collection, **asdict(found), "refusals": refusals},
        as_json,
    ):
        table = Table("stored", "already stored", "refused", title=f"Imported {escape(file.name)}")
        table.add_row(str(found.stored), str(found.already_stored), str(found.refused))
        console.print(table)
        _print_refusals(refusals, show)
    if found.refused:
        raise typer.Exit(1)


@app.command("import-medallion")
def import_medallion(
    file: Path = FileArgument,
    username: str = AsOption,
    distribution: Distribution = typer.Option(
        Distribution.node, help="Release of the collections: as for 'collection add'."
    ),
    organisation: str | None = typer.Option(
        None, help="Serve them under this organisation's API root (and release to it)."
    ),
    partners: bool = typer.Option(False, help="With --distribution organisation: also partners."),
    state: list[str] = typer.Option([], help="With --distribution states: a recipient state."),
    group: str | None = typer.Option(None, help="With --distribution group: the sharing group."),
    federate: bool = typer.Option(False, help="Linked nodes may receive what is in them."),
    show: int = ShowOption,
    database_url: str | None = DatabaseOption,
    as_json: bool = JsonOption,
) -> None:
    """Move a medallion server's collections over from its JSON data file.

    Each collection becomes a collection here, with medallion's id when that is free; its
    objects are imported as the liaison officer given. Exits 1 when any object was refused.
    """
    with transaction(database_url) as session:
        actor = transfer.actor_for_username(session, username)
        transfer.ensure_submitter(actor)
        data = transfer.read_json(file)
        total = sum(len(c.objects) for c in transfer.medallion_collections(data))
        with _progress(total, not as_json) as advance:
            imported = transfer.import_medallion(
                session,
                actor,
                data,
                creator=Actor.console("sharing-import-medallion"),
                release=_release(distribution, organisation, partners, state, group, federate),
                organisation=organisation,
                progress=advance,
                signed_objects_required=settings(database_url).signed_objects_required,
            )
        root = (organisation or service.NODE_ROOT).lower()
    rows = [
        {
            "medallion_api_root": c.api_root,
            "medallion_id": c.source_id,
            "id": c.collection_id,
            "url": f"/taxii2/{root}/collections/{c.collection_id}/",
            "title": c.title,
            "id_kept": c.id_kept,
            "alias": c.alias if c.alias_kept else None,
            "alias_dropped": c.alias is not None and not c.alias_kept,
            **asdict(transfer.counts(c.result)),
        }
        for c in imported
    ]
    refusals = [_outcome(o, c.collection_id) for c in imported for o in c.result.failures]
    if not emit({"collections": rows, "refusals": refusals}, as_json):
        table = Table("medallion", "collection", "stored", "already stored", "refused", "notes")
        for row in rows:
            notes = [] if row["id_kept"] else [f"new id (was {row['medallion_id']})"]
            if row["alias_dropped"]:
                notes.append("alias dropped")
            table.add_row(
                row["medallion_api_root"],
                f"{row['id']}\n[dim]{escape(row['title'])}[/dim]",
                str(row["stored"]),
                str(row["already_stored"]),
                str(row["refused"]),
                "; ".join(notes),
            )
        console.print(table)
        _print_refusals(refusals, show)
    if refusals:
        raise typer.Exit(1)


@app.command("export")
def export(
    username: str = AsOption,
    collection: str | None = typer.Option(None, "--collection", help="Only this collection."),
    all_versions: bool = typer.Option(
        False, "--all-versions", help="Every version, not only the newest of each object."
    ),
    output: Path | None = typer.Option(
        None, "-o", "--output", dir_okay=False, help="Write here instead of to stdout."
    ),
    database_url: str | None = DatabaseOption,
) -> None:
    """Export as a STIX 2.1 bundle what an account may read (its collections, its releases)."""
    with transaction(database_url) as session:
        actor = transfer.actor_for_username(session, username)
        bundle = transfer.export_bundle(session, actor, collection, all_versions=all_versions)
    text = json.dumps(bundle, ensure_ascii=False)
    if output is None:
        typer.echo(text)
        return
    output.write_text(text + "\n", encoding="utf-8")
    err_console.print(f"Wrote {len(bundle.get('objects', []))} objects to {output}")
