"""state-signed STIX objects

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 23:00:00.000000

Rules for every migration: it must run on SQLite and PostgreSQL (batch mode is on), it must not
break the code of the previous release that may still be serving, and it is reviewed like code.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable, no default: versions stored before were not checked, and stay shown unsigned.
    with op.batch_alter_table("stix_object", schema=None) as batch_op:
        batch_op.add_column(sa.Column("signer_state", sa.String(length=3), nullable=True))
        batch_op.add_column(sa.Column("signer_key", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("stix_object", schema=None) as batch_op:
        batch_op.drop_column("signer_key")
        batch_op.drop_column("signer_state")
