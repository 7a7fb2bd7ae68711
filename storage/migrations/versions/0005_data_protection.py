"""data protection: when a pupil left the roll (their contacts are erased after the school's
retention period); when a Slack card was redacted

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("pupils", schema=None) as batch_op:
        batch_op.add_column(sa.Column("left_at", sa.DateTime(), nullable=True))
    with op.batch_alter_table("slack_cards", schema=None) as batch_op:
        batch_op.add_column(sa.Column("redacted_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("slack_cards", schema=None) as batch_op:
        batch_op.drop_column("redacted_at")
    with op.batch_alter_table("pupils", schema=None) as batch_op:
        batch_op.drop_column("left_at")
