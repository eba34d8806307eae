"""latest signature of a subject found by index

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 19:45:00.000000

Rules for every migration: it must run on SQLite and PostgreSQL (batch mode is on), it must not
break the code of the previous release that may still be serving, and it is reviewed like code.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Reads take the latest signature of each subject (max id per kind and subject key); with
    # the id in the index that needs no visit to the rows, however often a position is restated.
    with op.batch_alter_table("submission_signature", schema=None) as batch_op:
        batch_op.drop_index("ix_submission_signature_subject")
        batch_op.create_index(
            "ix_submission_signature_subject", ["kind", "subject_key", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("submission_signature", schema=None) as batch_op:
        batch_op.drop_index("ix_submission_signature_subject")
        batch_op.create_index(
            "ix_submission_signature_subject", ["kind", "subject_key"], unique=False
        )
