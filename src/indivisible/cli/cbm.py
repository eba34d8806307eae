"""``indivisible cbm``: confidence-building rule sets and notifications from the console."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import typer
from pydantic import ValidationError
from rich.table import Table

from indivisible.auth import signing, submissions
from indivisible.auth.submissions import Submission
from indivisible.cbm import compliance, events, ruleset, service
from indivisible.cbm.ruleset import ActivityKind
from indivisible.cbm.schemas import NotificationCreate
from indivisible.cli.common import (
    DatabaseOption,
    JsonOption,
    console,
    emit,
    err_console,
    settings,
    transaction,
)
from indivisible.config import get_settings
from indivisible.i18n import LOCALES, translations
from indivisible.sharing.transfer import actor_for_username

app = typer.Typer(
    help="Confidence-building measures: rule sets and notifications.", no_args_is_help=True
)


@app.command("rules")
def rules(as_json: bool = JsonOption) -> None:
    """The rule sets in force on this node (shipped, and INDIVISIBLE_CBM_RULES): what each
    encodes and what it declares it cannot."""
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
        for r in service.rule_sets()
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
    files: list[Path] = typer.Argument(None, help="Rule-set files (default: the node's)."),
) -> None:
    """Check rule-set files against the format; prints each problem, exits 1 if any."""
    paths = files or ruleset.paths_in(get_settings().cbm_rules_dirs())
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
    key: Path | None = typer.Option(
        None, "--key", exists=True, dir_okay=False, help="Sign with this private key (PEM)."
    ),
    database_url: str | None = DatabaseOption,
    as_json: bool = JsonOption,
) -> None:
    """File a notification of a military activity and print the engine's findings; with
    --key it is signed here, with the state's key, before it reaches the node."""
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
    try:
        private = signing.load_private(key.read_bytes()) if key is not None else None
    except signing.BadKey as exc:
        err_console.print(f"[red]error[/red] (--key): {exc}")
        raise typer.Exit(2) from exc
    with transaction(database_url) as session:
        actor = actor_for_username(session, username)
        body = data.model_dump(mode="json", exclude_unset=True)
        if private is not None and actor.state_code is not None:
            body = submissions.sign_body(private, "cbm.notification", actor.state_code, body)
            data = NotificationCreate.model_validate(body)
        # Unsigned, the console follows the node's rule on unsigned submissions.
        allowed = settings(database_url).allow_unsigned_submissions
        notification = service.file_notification(
            session, actor, data, filed_on=backdate,
            submission=Submission(body=body, allow_unsigned=allowed),
        )  # fmt: skip
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


@app.command("report")
def report(
    rule_set: str = typer.Argument(..., help="Rule-set code, e.g. MOSCOW-REDUCTION-1997."),
    year: int = typer.Argument(..., min=1990, max=2100),
    username: str = typer.Option(..., "--as", help="A liaison officer or analyst of a party."),
    as_of: str | None = typer.Option(None, help="Judge missing notifications as of YYYY-MM-DD."),
    as_csv: bool = typer.Option(False, "--csv", help="Print the CSV form."),
    pdf: Path | None = typer.Option(None, "--pdf", help="Write the PDF form to this file."),
    lang: str = typer.Option("en", help="Language of the PDF: en, ru or zh."),
    database_url: str | None = DatabaseOption,
    as_json: bool = JsonOption,
) -> None:
    """A regime's compliance report for a year, as one of its parties sees it."""
    try:
        day = date.fromisoformat(as_of) if as_of else None
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--as-of") from None
    with transaction(database_url) as session:
        actor = actor_for_username(session, username)
        found = compliance.report(session, actor, rule_set, year, as_of=day)
    if pdf is not None:
        if lang not in LOCALES:
            raise typer.BadParameter("en, ru or zh", param_hint="--lang")
        pdf.write_bytes(compliance.as_pdf(found, translations(lang).gettext, lang))
        console.print(f"wrote {pdf}")
        return
    if as_csv:
        typer.echo(compliance.as_csv(found), nl=False)
        return
    if emit(found, as_json):
        return
    table = Table(
        "state", "notified", "on time", "late", "undated", "voluntary", "missing",
        "no observers", "annual data", "open clar.",
        title=f"{found.title}, {found.year} (as of {found.as_of})",
    )  # fmt: skip
    for s in found.states:
        table.add_row(
            s.state, str(s.notifications), str(s.on_time), str(s.late), str(s.required_undated),
            str(s.voluntary), str(len(s.missing)), str(len(s.observers_not_invited)),
            "yes" if s.annual_data else "no", str(s.open_clarifications),
        )  # fmt: skip
    console.print(table)
    ceilings = Table("rule", "whose", "category", "sector", "limit", "holding", "outcome")
    for c in found.ceilings:
        ceilings.add_row(
            c.cite, c.state or c.side or "", c.category, c.sector or "",
            "not read" if c.limit is None else f"{c.limit:,.0f}",
            "" if c.holding is None else f"{c.holding:,}", c.outcome,
        )  # fmt: skip
    if found.ceilings:
        console.print(ceilings)


@app.command("deliver")
def deliver(
    loop: bool = typer.Option(False, "--loop", help="Keep delivering until interrupted."),
    interval: float = typer.Option(5.0, min=0.5, help="Seconds between rounds with --loop."),
    database_url: str | None = DatabaseOption,
) -> None:
    """Post due webhook deliveries (signed, retried with back-off), once or in a loop; for
    nodes that run delivery apart from the web workers (INDIVISIBLE_WEBHOOK_INTERVAL_SECONDS=0)."""
    while True:
        with transaction(database_url) as session:
            delivered, failed = events.deliver_due(session)
        console.print(f"{delivered} delivered, {failed} failed attempts")
        if not loop:
            return
        time.sleep(interval)
