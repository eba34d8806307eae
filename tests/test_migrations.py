"""Migrations: they build the schema the models describe, on SQLite and PostgreSQL, and go back down."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect

from indivisible.migrate import alembic_config, downgrade, upgrade
from indivisible.models import Base
from tests.conftest import Backend


def test_models_and_migrations_agree(backend: Backend) -> None:
    with backend.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "render_as_batch": True}
        )
        diff = compare_metadata(context, Base.metadata)
    assert diff == [], diff


def test_downgrade_to_nothing_and_upgrade_again(empty_engine: Engine) -> None:
    upgrade(empty_engine)
    assert "membership" in inspect(empty_engine).get_table_names()
    downgrade(empty_engine, "base")
    assert set(inspect(empty_engine).get_table_names()) <= {"alembic_version"}
    upgrade(empty_engine)
    with empty_engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    assert current == ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
