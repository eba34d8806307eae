"""Sharing from the console: TAXII collections."""

from __future__ import annotations

import typer
from rich.table import Table

from indivisible.auth.principal import Actor
from indivisible.cli.common import DatabaseOption, JsonOption, console, emit, transaction
from indivisible.sharing import service
from indivisible.sharing.schemas import (
    CollectionCreate,
    Distribution,
    Grant,
    Grantee,
    Release,
)

app = typer.Typer(help="Threat-information sharing: TAXII collections.", no_args_is_help=True)
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
