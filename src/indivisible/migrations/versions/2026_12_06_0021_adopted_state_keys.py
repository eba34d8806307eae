"""state keys adopted from other nodes

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06 23:30:00.000000

Rules for every migration: it must run on SQLite and PostgreSQL (batch mode is on), it must not
break the code of the previous release that may still be serving, and it is reviewed like code.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Null for every key there is: until now only a state's liaison officers registered keys.
    with op.batch_alter_table("state_key", schema=None) as batch_op:
        batch_op.add_column(sa.Column("adopted_from", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("state_key", schema=None) as batch_op:
        batch_op.drop_column("adopted_from")
