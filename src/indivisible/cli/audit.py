"""``indivisible audit``: seal the change log, print the latest signed tree head, and verify
the whole log (and the tree heads members kept) at the console."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import typer
from rich.markup import escape

from indivisible.audit import ledger
from indivisible.cli.common import (
    DatabaseOption,
    JsonOption,
    console,
    err_console,
    settings,
    transaction,
)

app = typer.Typer(
    help="The audit log: seal it, sign tree heads, verify it end to end.", no_args_is_help=True
)


@app.command("seal")
def seal(
    database_url: str | None = DatabaseOption,
    sign: bool = typer.Option(True, "--sign/--no-sign", help="Sign a tree head if the log grew."),
    key_file: Path | None = typer.Option(
        None, "--key", dir_okay=False, help="The node's key (PEM); default from the settings."
    ),
) -> None:
    """Seal change records not yet in the log (a running node does this every second)."""
    path = key_file if key_file is not None else settings(database_url).node_key_file()
    key = ledger.load_or_create_node_key(path) if sign else None
    with transaction(database_url) as session:
        result = ledger.seal(session, key=key, head_interval=timedelta(0))
        head = ledger.head_json(result.head) if result.head is not None else None
    console.print(f"sealed {result.sealed} entries; the log holds {result.tree_size}")
    if head is not None:
        console.print(f"signed tree head: size {head['tree_size']}, root {head['root_hash']}")


@app.command("tree-head")
def tree_head(database_url: str | None = DatabaseOption) -> None:
    """Print the latest signed tree head as JSON, to keep."""
    with transaction(database_url) as session:
        head = ledger.latest_head(session)
        document = ledger.head_json(head) if head is not None else None
    if document is None:
        err_console.print("[red]error[/red]: the node has not signed a tree head yet")
        raise typer.Exit(2)
    typer.echo(json.dumps(document, indent=2))


@app.command("verify")
def verify(
    tree_heads: list[Path] = typer.Option(
        [],
        "--tree-head",
        exists=True,
        dir_okay=False,
        help="A tree head a member kept (JSON, one head or a list); may be repeated.",
    ),
    database_url: str | None = DatabaseOption,
    as_json: bool = JsonOption,
) -> None:
    """Check every entry, every link and every tree head against the entries' content. Exit
    code 0 when the log is intact, 1 naming the first bad entry when it is not."""
    try:
        kept = ledger.kept_heads_from(tree_heads)
    except (OSError, ValueError) as exc:
        err_console.print(f"[red]error[/red] (--tree-head): {exc}")
        raise typer.Exit(2) from exc
    with transaction(database_url) as session:
        result = ledger.verify(session, kept)
    problems = [
        {"seq": p.seq, "record_id": p.record_id, "problem": p.message.format(**p.params)}
        for p in result.problems
    ]
    summary = {
        "ok": result.ok,
        "first_bad_entry": result.first_bad,
        "entries": result.entries,
        "unsealed": result.unsealed,
        "tree_heads_checked": result.heads_checked,
        "root_hash": result.root_hash,
        "problems": problems,
    }
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
    else:
        console.print(
            f"{result.entries} entries, {result.heads_checked} tree heads checked, "
            f"{result.unsealed} not yet sealed; root {result.root_hash}"
        )
        if result.first_bad is not None:
            console.print(f"[red]first bad entry: {result.first_bad}[/red]")
        for problem in problems[:20]:
            console.print(f"[red]bad[/red] {escape(str(problem['problem']))}", highlight=False)
        if len(problems) > 20:
            console.print(f"... and {len(problems) - 20} more problems")
        if result.ok:
            console.print("[green]the log is intact[/green]")
    if not result.ok:
        raise typer.Exit(1)
