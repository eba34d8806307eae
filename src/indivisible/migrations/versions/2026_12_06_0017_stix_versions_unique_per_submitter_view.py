"""a STIX version is unique among what one submitter may see, not across the collection

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 16:40:00

Rules for every migration: it must run on SQLite and PostgreSQL (batch mode is on), it must not
break the code of the previous release that may still be serving, and it is reviewed like code.

The previous release kept the constraint as a guard behind writers that already take turns, so
it still stores correctly without it. Downgrading fails while a collection holds two claims to
one version; remove the later claim first.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("stix_object", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("uq_stix_object_collection_id_stix_id_modified"), type_="unique"
        )


def downgrade() -> None:
    with op.batch_alter_table("stix_object", schema=None) as batch_op:
        batch_op.create_unique_constraint(
            batch_op.f("uq_stix_object_collection_id_stix_id_modified"),
            ["collection_id", "stix_id", "modified"],
        )
