"""The ``indivisible`` command: one Typer app, one module per domain, each command owns its commit."""

from __future__ import annotations

import typer

from indivisible.cli import (
    audit,
    backup,
    cbm,
    federation,
    keys,
    node,
    registry,
    sharing,
    users,
    warning,
)

app = typer.Typer(
    name="indivisible",
    help="Run and query an Indivisible node.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
node.register(app)
backup.register(app)
app.add_typer(registry.app, name="registry")
app.add_typer(users.user_app, name="user")
app.add_typer(users.token_app, name="token")
app.add_typer(sharing.app, name="sharing")
federation.register(app)
app.add_typer(cbm.app, name="cbm")
app.add_typer(warning.app, name="warning")
app.add_typer(keys.app, name="keys")
app.add_typer(audit.app, name="audit")


def main() -> None:
    app()
