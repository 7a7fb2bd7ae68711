"""the roster is the truth: MIS-sized columns, the name given per link, deliverability that
recovers, slash-command replays

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# (table, column, old length, new length): what real MIS exports hold ("Year 3 Kingfishers 3K").
WIDER = (
    ("pupils", "class_name", 20, 100),
    ("pupil_contacts", "relationship", 50, 100),
)


def upgrade() -> None:
    # SQLite does not enforce VARCHAR lengths, and rebuilding these tables there would have to
    # drop tables that others reference: only PostgreSQL needs the wider types.
    if op.get_context().dialect.name == "postgresql":
        for table, column, old, new in WIDER:
            op.alter_column(
                table, column, type_=sa.String(length=new), existing_type=sa.String(length=old)
            )
    op.add_column(
        "pupil_contacts",
        sa.Column("contact_name", sa.String(length=200), nullable=False, server_default=""),
    )
    op.execute(
        "UPDATE pupil_contacts SET contact_name = "
        "(SELECT name FROM contacts WHERE contacts.id = pupil_contacts.contact_id)"
    )
    op.add_column("contacts", sa.Column("last_delivered_at", sa.DateTime(), nullable=True))
    op.add_column("contacts", sa.Column("undeliverable_at", sa.DateTime(), nullable=True))
    op.create_table(
        "slack_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("reply", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slack_requests")),
        sa.UniqueConstraint("key", name=op.f("uq_slack_requests_key")),
    )
    with op.batch_alter_table("slack_requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_slack_requests_at"), ["at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("slack_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_slack_requests_at"))
    op.drop_table("slack_requests")
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_column("undeliverable_at")
        batch_op.drop_column("last_delivered_at")
    with op.batch_alter_table("pupil_contacts", schema=None) as batch_op:
        batch_op.drop_column("contact_name")
    if op.get_context().dialect.name == "postgresql":
        for table, column, old, new in WIDER:
            op.alter_column(
                table, column, type_=sa.String(length=old), existing_type=sa.String(length=new)
            )
