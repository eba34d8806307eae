"""Accounts and API tokens from the console."""

from __future__ import annotations

import secrets
from pathlib import Path

import typer
from rich.table import Table

from indivisible.auth import service as auth_service
from indivisible.auth import signing
from indivisible.auth.principal import Actor, Role
from indivisible.auth.schemas import PrincipalCreate, TokenCreate
from indivisible.cli.common import DatabaseOption, JsonOption, cell, console, emit, transaction

user_app = typer.Typer(help="People and machine accounts.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens.", no_args_is_help=True)


@user_app.command("create")
def create_user(
    username: str,
    role: Role = typer.Option(
        ...,
        help="admin, secretariat, liaison, analyst, observer or node (a linked node's account).",
    ),
    name: str = typer.Option(..., "--name", help="Display name."),
    state: str | None = typer.Option(None, help="ISO alpha-3 code of the state it acts for."),
    body: str | None = typer.Option(None, help="Code of the organisation body it acts for."),
    machine: bool = typer.Option(False, help="A machine account: no password, tokens only."),
    database_url: str | None = DatabaseOption,
) -> None:
    """Create an account; a person's password is generated and printed once."""
    password = None if machine else secrets.token_urlsafe(12)
    with transaction(database_url) as session:
        auth_service.create_principal(
            session,
            Actor.console("user-create"),
            PrincipalCreate(
                username=username,
                display_name=name,
                role=role,
                state=state,
                body=body,
                password=password,
            ),
        )
    console.print(f"Created {username} ({role.value}).")
    if password:
        console.print(f"Password (shown once): [bold]{password}[/bold]")


@user_app.command("list")
def list_users(database_url: str | None = DatabaseOption, as_json: bool = JsonOption) -> None:
    with transaction(database_url) as session:
        rows = auth_service.list_principals(session, Actor.console("user-list"))
        data = [
            {
                "username": p.username,
                "name": p.display_name,
                "role": p.role,
                "state": p.state_code,
                "body": p.body_code,
                "active": p.active,
            }
            for p in rows
        ]
    if emit(data, as_json):
        return
    table = Table("username", "name", "role", "state", "body", "active")
    for d in data:
        table.add_row(
            *(cell(d[k]) for k in ("username", "name", "role", "state", "body", "active"))
        )
    console.print(table)


@user_app.command("password")
def reset_password(username: str, database_url: str | None = DatabaseOption) -> None:
    """Set a new random password (printed once) and end the account's web sessions."""
    password = secrets.token_urlsafe(12)
    with transaction(database_url) as session:
        auth_service.set_password(session, Actor.console("user-password"), username, password)
    console.print(f"New password for {username} (shown once): [bold]{password}[/bold]")


@user_app.command("disable")
def disable_user(username: str, database_url: str | None = DatabaseOption) -> None:
    """Disable an account: its tokens and sessions are refused from now on."""
    with transaction(database_url) as session:
        auth_service.set_active(session, Actor.console("user-disable"), username, False)
    console.print(f"Disabled {username}.")


@user_app.command("node-key")
def set_node_key(
    username: str = typer.Argument(..., help="The linked node's account on this node."),
    public_key: str = typer.Argument(
        ..., help="Its key: base64 of the 32 bytes, a PEM file, or a file holding either."
    ),
    database_url: str | None = DatabaseOption,
) -> None:
    """Register the key a linked node signs its pushes with (``indivisible link key`` on that
    node prints it); its unsigned or wrongly signed pushes are refused from then on."""
    text = (
        Path(public_key).read_text(encoding="utf-8") if Path(public_key).is_file() else public_key
    )
    with transaction(database_url) as session:
        principal = auth_service.set_node_key(
            session, Actor.console("user-node-key"), username, text
        )
        shown = signing.key_id(signing.public_bytes(principal.node_public_key or ""))
    console.print(f"Registered node key {shown} for {username}.")


@user_app.command("enable")
def enable_user(username: str, database_url: str | None = DatabaseOption) -> None:
    """Enable a disabled account again (its unrevoked, unexpired tokens work again)."""
    with transaction(database_url) as session:
        auth_service.set_active(session, Actor.console("user-enable"), username, True)
    console.print(f"Enabled {username}.")


@token_app.command("create")
def create_token(
    username: str,
    name: str = typer.Option("cli", help="What the token is for."),
    days: int = typer.Option(90, help="Days until it expires."),
    database_url: str | None = DatabaseOption,
) -> None:
    """Issue an API token for an account; the secret is printed once."""
    with transaction(database_url) as session:
        issued = auth_service.issue_token(
            session,
            Actor.console("token-create"),
            TokenCreate(name=name, expires_in_days=days),
            for_username=username,
        )
        token_id = issued.token.id
    console.print(f"Token {token_id} for {username} (shown once): [bold]{issued.secret}[/bold]")


@token_app.command("list")
def list_tokens(
    username: str, database_url: str | None = DatabaseOption, as_json: bool = JsonOption
) -> None:
    with transaction(database_url) as session:
        rows = auth_service.list_tokens(session, Actor.console("token-list"), username=username)
        data = [
            {
                "id": t.id,
                "name": t.name,
                "prefix": t.prefix,
                "created": t.created_at,
                "expires": t.expires_at,
                "revoked": t.revoked_at,
            }
            for t in rows
        ]
    if emit(data, as_json):
        return
    table = Table("id", "name", "prefix", "created", "expires", "revoked")
    for d in data:
        table.add_row(
            *(str(d[k] or "") for k in ("id", "name", "prefix", "created", "expires", "revoked"))
        )
    console.print(table)


@token_app.command("revoke")
def revoke_token(
    token_id: int = typer.Argument(..., min=1, max=2_147_483_647, help="The token's id."),
    database_url: str | None = DatabaseOption,
) -> None:
    with transaction(database_url) as session:
        auth_service.revoke_token(session, Actor.console("token-revoke"), token_id)
    console.print(f"Revoked token {token_id}.")
