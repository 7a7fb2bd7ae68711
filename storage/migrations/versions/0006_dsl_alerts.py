"""DSL alerts: acknowledged, returned to the office, or escalated along the school's chain

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dsl_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("raised_at", sa.DateTime(), nullable=False),
        sa.Column("starts_at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("chain", sa.JSON(), nullable=False),
        sa.Column("steps_done", sa.JSON(), nullable=False),
        sa.Column("next_due_at", sa.DateTime(), nullable=True),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("decided_by_user", sa.String(length=32), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["absence_cases.id"], name=op.f("fk_dsl_alerts_case_id_absence_cases")
        ),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name=op.f("fk_dsl_alerts_message_id_messages")
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_dsl_alerts_school_id_schools")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dsl_alerts")),
    )
    with op.batch_alter_table("dsl_alerts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dsl_alerts_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_dsl_alerts_message_id"), ["message_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_dsl_alerts_school_id"), ["school_id"], unique=False)
        batch_op.create_index("ix_dsl_alerts_due", ["status", "next_due_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("dsl_alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_dsl_alerts_due")
        batch_op.drop_index(batch_op.f("ix_dsl_alerts_school_id"))
        batch_op.drop_index(batch_op.f("ix_dsl_alerts_message_id"))
        batch_op.drop_index(batch_op.f("ix_dsl_alerts_case_id"))
    op.drop_table("dsl_alerts")
