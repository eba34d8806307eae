"""``indivisible cbm``: confidence-building rule sets and notifications from the console."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer
from pydantic import ValidationError
from rich.table import Table

from indivisible.cbm import ruleset, service
from indivisible.cbm.ruleset import ActivityKind
from indivisible.cbm.schemas import NotificationCreate
from indivisible.cli.common import (
    DatabaseOption,
    JsonOption,
    console,
    emit,
    err_console,
    transaction,
)
from indivisible.sharing.transfer import actor_for_username

app = typer.Typer(
    help="Confidence-building measures: rule sets and notifications.", no_args_is_help=True
)


@app.command("rules")
def rules(as_json: bool = JsonOption) -> None:
    """The shipped rule sets: what each encodes and what it declares it cannot."""
    rows = [
        {
            "code": r.code,
            "agreement": r.agreement,
            "version": r.version,
            "area": f"{r.area.kind} {r.area.depth_km.value if r.area.depth_km else ''}".strip(),
            "notification": len(r.notification),
            "observation": len(r.observation),
            "ceilings": len(r.ceilings),
            "quotas": len(r.quotas),
            "gaps": [{"cite": g.cite, "topic": g.topic, "note": g.note} for g in r.gaps],
        }
        for r in ruleset.load_shipped()
    ]
    if emit(rows, as_json):
        return
    table = Table("code", "area", "notif.", "observ.", "ceilings", "quotas", "gaps (cited)")
    for row in rows:
        table.add_row(
            str(row["code"]),
            str(row["area"]),
            *(str(row[k]) for k in ("notification", "observation", "ceilings", "quotas")),
            "; ".join(str(g["cite"]) for g in row["gaps"]),  # type: ignore[attr-defined]
        )
    console.print(table)


@app.command("check")
def check(
    files: list[Path] = typer.Argument(None, help="Rule-set files (default: shipped)."),
) -> None:
    """Check rule-set files against the format; prints each problem, exits 1 if any."""
    paths = files or ruleset.shipped_paths()
    bad = False
    for path in paths:
        _rules, problems = ruleset.parse_text(path.read_text(encoding="utf-8"), str(path))
        for problem in problems:
            err_console.print(str(problem), highlight=False)
            bad = True
    if bad:
        raise typer.Exit(1)
    console.print(f"{len(paths)} rule set(s) valid")


def _forces(values: list[str]) -> dict[str, int]:
    forces: dict[str, int] = {}
    for value in values:
        category, sep, number = value.partition("=")
        if not sep or not number.strip().lstrip("-").isdigit():
            raise typer.BadParameter(
                "write CATEGORY=NUMBER, e.g. personnel=9000", param_hint="--force"
            )
        forces[category.strip()] = int(number)
    return forces


@app.command("notify")
def notify(
    username: str = typer.Option(..., "--as", help="The liaison officer filing it."),
    kind: ActivityKind = typer.Option(ActivityKind.exercise),
    start: str = typer.Option(..., help="First day, YYYY-MM-DD."),
    end: str = typer.Option(..., help="Last day, YYYY-MM-DD."),
    point: str | None = typer.Option(None, help="LON,LAT of the activity."),
    radius: float = typer.Option(0.0, help="Radius around the point, km."),
    territory: str | None = typer.Option(None, help="A state's whole territory instead."),
    force: list[str] = typer.Option([], help="CATEGORY=NUMBER, e.g. personnel=9000; repeat."),
    purpose: str | None = typer.Option(None),
    observer: list[str] = typer.Option([], help="A state whose observers are invited; repeat."),
    filed_on: str | None = typer.Option(
        None, help="Backdate the filing (imports and demos only), YYYY-MM-DD."
    ),
    database_url: str | None = DatabaseOption,
    as_json: bool = JsonOption,
) -> None:
    """File a notification of a military activity and print the engine's findings."""
    location: dict[str, object]
    if (point is None) == (territory is None):
        raise typer.BadParameter("give --point or --territory", param_hint="--point")
    if point is not None:
        try:
            lon, lat = (float(part) for part in point.split(","))
        except ValueError:
            raise typer.BadParameter(
                "write LON,LAT, e.g. 80.0,44.5", param_hint="--point"
            ) from None
        location = {"point": [lon, lat], "radius_km": radius}
    else:
        location = {"state": territory}
    try:
        data = NotificationCreate.model_validate(
            {
                "kind": kind,
                "start": start,
                "end": end,
                "location": location,
                "forces": _forces(force),
                "purpose": purpose,
                "observers_invited": observer,
            }
        )
        backdate = date.fromisoformat(filed_on) if filed_on else None
    except (ValidationError, ValueError) as exc:
        if isinstance(exc, ValidationError):
            for err in exc.errors():
                where = ".".join(str(p) for p in err["loc"])
                err_console.print(f"[red]error[/red] ({where}): {err['msg']}", highlight=False)
        else:
            err_console.print(f"[red]error[/red] (filed_on): {exc}", highlight=False)
        raise typer.Exit(2) from exc
    with transaction(database_url) as session:
        actor = actor_for_username(session, username)
        notification = service.file_notification(session, actor, data, filed_on=backdate)
        read = service.read_model(session, notification)
    if emit(read, as_json):
        return
    console.print(
        f"Notification {read.id} filed; "
        + (
            "voluntary"
            if read.voluntary
            else "under " + ", ".join(sorted({a for r in read.recipients for a in r.agreements}))
        )
        + (f"; sent to {', '.join(r.state for r in read.recipients)}" if read.recipients else "")
    )
    for finding in read.findings:
        console.print(f"  {finding.rule_set} [{finding.outcome}] {finding.text}", highlight=False)
