"""Registry commands: check and load the reference data, and ask the architecture questions."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import typer
from rich.table import Table

from indivisible.auth.principal import Actor
from indivisible.cli.common import DatabaseOption, JsonOption, console, emit, transaction
from indivisible.registry import datafile, loader, service
from indivisible.registry.enums import MembershipStatus

app = typer.Typer(help="The architecture as data: check, load and query it.", no_args_is_help=True)

OnOption = typer.Option(None, "--on", help="The date asked about, YYYY-MM-DD (default: today).")
StatusOption = typer.Option(None, "--status", help="Membership statuses to include (repeatable).")


def _on(value: datetime | None) -> date:
    return value.date() if value else date.today()


def print_report(report: loader.LoadReport) -> None:
    table = Table(title="Reference data load")
    outcomes = ("added", "changed", "unchanged", "removed", "refused")
    table.add_column("kind")
    for column in outcomes:
        table.add_column(column, justify="right")
    for kind, counts in sorted(report.counts.items()):
        table.add_row(kind, *(str(counts.get(k, 0)) for k in outcomes))
    console.print(table)
    for refusal in report.refused:
        console.print(f"[red]refused[/red] {refusal}")


@app.command()
def check(
    files: list[Path] = typer.Argument(None, help="Files to check (default: the shipped data)."),
) -> None:
    """Check data files: the format, then a full load into a throw-away in-memory database."""
    code = datafile.main([str(f) for f in files or []])
    report = loader.check(files or None)
    print_report(report)
    raise typer.Exit(1 if code or report.refused else 0)


@app.command()
def load(
    files: list[Path] = typer.Argument(None, help="Files to load (default: the shipped data)."),
    strict: bool = typer.Option(False, help="Abandon the whole load if any fact is refused."),
    database_url: str | None = DatabaseOption,
    as_json: bool = JsonOption,
) -> None:
    """Load reference data idempotently; reports what was added, changed and refused."""
    with transaction(database_url) as session:
        report = loader.load(session, Actor.console("registry-load"), files or None)
        if strict and report.refused:
            session.rollback()
    if not emit(report.as_dict(), as_json):
        print_report(report)
        if strict and report.refused:
            console.print("[red]Nothing was written (--strict).[/red]")
    if report.refused:
        raise typer.Exit(1)


@app.command()
def members(
    organisation: str,
    on: datetime | None = OnOption,
    status: list[MembershipStatus] | None = StatusOption,
    database_url: str | None = DatabaseOption,
    as_json: bool = JsonOption,
) -> None:
    """Members of an organisation on a date, by status."""
    with transaction(database_url) as session:
        answer = service.members_on(session, organisation.upper(), _on(on), status)
    if emit(answer, as_json):
        return
    table = Table(
        "state", "status", "from", "to", "uncertain", title=f"{organisation} on {answer.on}"
    )
    for m in answer.members:
        table.add_row(
            m.state_code, m.status, str(m.valid_from), str(m.valid_to or ""), m.uncertain or ""
        )
    console.print(table)


@app.command()
def timeline(
    organisation: str, database_url: str | None = DatabaseOption, as_json: bool = JsonOption
) -> None:
    """Every state's periods in an organisation."""
    with transaction(database_url) as session:
        rows = service.membership_timeline(session, organisation.upper())
    if emit(rows, as_json):
        return
    table = Table("state", "status", "from", "to", title=f"{organisation} membership timeline")
    for row in rows:
        for p in row.periods:
            table.add_row(row.state, p.status, str(p.valid_from), str(p.valid_to or "…"))
    console.print(table)


@app.command()
def standing(
    state: str,
    on: datetime | None = OnOption,
    database_url: str | None = DatabaseOption,
    as_json: bool = JsonOption,
) -> None:
    """A state's memberships and agreements on a date."""
    with transaction(database_url) as session:
        answer = service.state_standing(session, state.upper(), _on(on))
    if emit(answer, as_json):
        return
    table = Table(
        "organisation", "status", "since", title=f"{answer.state} on {answer.on}: memberships"
    )
    for m in answer.memberships:
        table.add_row(m.organisation_code, m.status, str(m.valid_from))
    console.print(table)
    agreements = Table("agreement", "title", "basis", title="agreements in force for it")
    for a in answer.agreements:
        agreements.add_row(a.agreement, a.title, a.basis)
    console.print(agreements)


@app.command()
def assistance(
    state: str,
    on: datetime | None = OnOption,
    database_url: str | None = DatabaseOption,
    as_json: bool = JsonOption,
) -> None:
    """Who is bound to assist a state on a date, under which article; who only has to consult."""
    with transaction(database_url) as session:
        answer = service.bound_to_assist(session, state.upper(), _on(on))
    if emit(answer, as_json):
        return
    for title, duties in (
        ("bound to assist", answer.bound_to_assist),
        ("only bound to consult", answer.only_consult),
        ("participation frozen or suspended", answer.participation_inactive),
    ):
        table = Table(
            "state",
            "agreement",
            "article",
            "uncertain",
            title=f"{answer.state} on {answer.on}: {title}",
        )
        for d in duties:
            table.add_row(d.state, d.agreement, d.article, d.uncertain or "")
        console.print(table)


@app.command()
def belt(
    state: str,
    on: datetime | None = OnOption,
    database_url: str | None = DatabaseOption,
    as_json: bool = JsonOption,
) -> None:
    """A state's security belt: its neighbours and what binds them to each other."""
    with transaction(database_url) as session:
        answer = service.security_belt(session, state.upper(), _on(on))
    if emit(answer, as_json):
        return
    table = Table(
        "neighbour",
        "border km",
        "organisations",
        "bound with",
        title=f"Security belt of {answer.state} on {answer.on}",
    )
    for n in answer.neighbours:
        orgs = ", ".join(f"{m.organisation_code} ({m.status})" for m in n.organisations)
        bound = "; ".join(f"{a}: {' '.join(s)}" for a, s in n.bound_with.items())
        table.add_row(n.state, str(n.border_km or ""), orgs, bound)
    console.print(table)


@app.command()
def overlap(
    a: str,
    b: str,
    on: datetime | None = OnOption,
    status: list[MembershipStatus] | None = StatusOption,
    database_url: str | None = DatabaseOption,
    as_json: bool = JsonOption,
) -> None:
    """States in both organisations on a date (default status: member)."""
    with transaction(database_url) as session:
        answer = service.overlap(session, a.upper(), b.upper(), _on(on), status)
    if emit(answer, as_json):
        return
    console.print(f"{answer.a} ∩ {answer.b} on {answer.on}: {' '.join(answer.both) or '—'}")
    console.print(f"only {answer.a}: {' '.join(answer.only_a) or '—'}")
    console.print(f"only {answer.b}: {' '.join(answer.only_b) or '—'}")


@app.command()
def parties(
    agreement: str,
    on: datetime | None = OnOption,
    database_url: str | None = DatabaseOption,
    as_json: bool = JsonOption,
) -> None:
    """The states an agreement binds on a date."""
    with transaction(database_url) as session:
        answer = service.parties_on(session, agreement.upper(), _on(on))
    if emit(answer, as_json):
        return
    state = "in force" if answer.in_force else "not in force"
    table = Table(
        "state", "basis", "participation", title=f"{answer.agreement} on {answer.on} ({state})"
    )
    for p in answer.parties:
        table.add_row(p.state, p.basis, p.participation or "")
    console.print(table)
