"""What every CLI command shares: settings, the engine, one unit of work, JSON or Rich output."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer
from pydantic import BaseModel, ValidationError
from rich.console import Console
from sqlalchemy.orm import Session

from indivisible.config import Settings, get_settings
from indivisible.db import make_engine, make_session_factory, unit_of_work
from indivisible.errors import IndivisibleError

console = Console()
err_console = Console(stderr=True)


def settings(database_url: str | None = None) -> Settings:
    base = get_settings()
    return base.model_copy(update={"database_url": database_url}) if database_url else base


@contextmanager
def transaction(database_url: str | None = None) -> Iterator[Session]:
    """One transaction for the command; domain errors end it with a clear message and exit code 2."""
    cfg = settings(database_url)
    path = cfg.sqlite_path()
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    engine = make_engine(cfg.database_url)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            yield session
    except IndivisibleError as exc:
        where = f" ({exc.field})" if exc.field else ""
        err_console.print(f"[red]error[/red]{where}: {exc.text()}", highlight=False)
        raise typer.Exit(2) from exc
    except ValidationError as exc:
        # Bad values given on the command line: name each and its rule, no traceback.
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"]) or "value"
            err_console.print(f"[red]error[/red] ({field}): {err['msg']}", highlight=False)
        raise typer.Exit(2) from exc
    finally:
        engine.dispose()


def emit(data: Any, as_json: bool) -> bool:
    """Print JSON when asked; returns whether it did, so callers print a table otherwise."""
    if not as_json:
        return False
    if isinstance(data, BaseModel):
        payload: Any = data.model_dump(mode="json")
    elif isinstance(data, list):
        payload = [d.model_dump(mode="json") if isinstance(d, BaseModel) else d for d in data]
    else:
        payload = data
    typer.echo(json.dumps(payload, ensure_ascii=False, indent=2, default=str))
    return True


DatabaseOption = typer.Option(
    None, "--database-url", envvar="INDIVISIBLE_DATABASE_URL", help="SQLAlchemy URL."
)
JsonOption = typer.Option(False, "--json", help="Print JSON instead of a table.")


def cell(value: object) -> str:
    """A table cell: empty for nothing, yes/no for flags."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)
