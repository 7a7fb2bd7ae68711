"""drop absence_cases.token

It was written on every reply and staff action and read by nothing: a timer run cannot act
on a stale case, because it re-reads the case and records each step in `steps_done` in the
same transaction as what the step does.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("absence_cases", schema=None) as batch_op:
        batch_op.drop_column("token")


def downgrade() -> None:
    with op.batch_alter_table("absence_cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("token", sa.Integer(), nullable=False, server_default="0"))
