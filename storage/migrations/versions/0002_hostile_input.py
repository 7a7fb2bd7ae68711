"""quarantined texts: what reconciliation could not store, by MessageSid only

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "quarantined_texts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sid", sa.String(length=64), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_quarantined_texts_school_id_schools")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quarantined_texts")),
        sa.UniqueConstraint("sid", name=op.f("uq_quarantined_texts_sid")),
    )
    with op.batch_alter_table("quarantined_texts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_quarantined_texts_school_id"), ["school_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("quarantined_texts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quarantined_texts_school_id"))
    op.drop_table("quarantined_texts")
