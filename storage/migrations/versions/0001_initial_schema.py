"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "job_state",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_job_state")),
    )
    op.create_table(
        "opt_outs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("opted_out", sa.Boolean(), nullable=False),
        sa.Column("keyword", sa.String(length=20), nullable=False),
        sa.Column("changed_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opt_outs")),
        sa.UniqueConstraint("phone", name=op.f("uq_opt_outs_phone")),
    )
    op.create_table(
        "schools",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("urn", sa.String(length=6), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("settings_toml", sa.Text(), nullable=False),
        sa.Column("loaded_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schools")),
        sa.UniqueConstraint("urn", name=op.f("uq_schools_urn")),
    )
    op.create_table(
        "slack_cards",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("channel", sa.String(length=40), nullable=False),
        sa.Column("ts", sa.String(length=40), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slack_cards")),
        sa.UniqueConstraint("key", name=op.f("uq_slack_cards_key")),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=100), nullable=False),
        sa.Column("outcome", sa.String(length=40), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_audit_log_school_id_schools")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_school_id"), ["school_id"], unique=False)

    op.create_table(
        "contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("language", sa.String(length=20), nullable=False),
        sa.Column("phone_type", sa.String(length=30), nullable=False),
        sa.Column("can_sms", sa.Boolean(), nullable=False),
        sa.Column("undeliverable", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_contacts_school_id_schools")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contacts")),
        sa.UniqueConstraint("school_id", "phone", name=op.f("uq_contacts_school_id_phone")),
    )
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contacts_phone"), ["phone"], unique=False)
        batch_op.create_index(batch_op.f("ix_contacts_school_id"), ["school_id"], unique=False)

    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("claimed_until", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_outbox_school_id_schools")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("key", name=op.f("uq_outbox_key")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_due", ["status", "next_attempt_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_outbox_school_id"), ["school_id"], unique=False)

    op.create_table(
        "pupils",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("upn", sa.String(length=13), nullable=False),
        sa.Column("first_name", sa.String(length=100), nullable=False),
        sa.Column("last_name", sa.String(length=100), nullable=False),
        sa.Column("year_group", sa.String(length=10), nullable=False),
        sa.Column("class_name", sa.String(length=20), nullable=False),
        sa.Column("vulnerable", sa.JSON(), nullable=False),
        sa.Column("la_transport", sa.Boolean(), nullable=False),
        sa.Column("on_roll", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_pupils_school_id_schools")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pupils")),
        sa.UniqueConstraint("school_id", "upn", name=op.f("uq_pupils_school_id_upn")),
    )
    with op.batch_alter_table("pupils", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pupils_class_name"), ["class_name"], unique=False)
        batch_op.create_index(batch_op.f("ix_pupils_school_id"), ["school_id"], unique=False)

    op.create_table(
        "register_sweeps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("session", sa.String(length=2), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("swept_at", sa.DateTime(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_register_sweeps_school_id_schools")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_register_sweeps")),
        sa.UniqueConstraint(
            "school_id", "date", "session", name=op.f("uq_register_sweeps_school_id_date_session")
        ),
    )
    op.create_table(
        "staff",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("slack_user_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("position", sa.String(length=200), nullable=False),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_staff_school_id_schools")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff")),
        sa.UniqueConstraint(
            "school_id", "slack_user_id", name=op.f("uq_staff_school_id_slack_user_id")
        ),
    )
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_staff_school_id"), ["school_id"], unique=False)

    op.create_table(
        "absence_cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("pupil_id", sa.Integer(), nullable=False),
        sa.Column("opened_on", sa.Date(), nullable=False),
        sa.Column("opened_session", sa.String(length=2), nullable=False),
        sa.Column("last_absent_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=50), nullable=True),
        sa.Column("provisional_code", sa.String(length=3), nullable=True),
        sa.Column("confirmed_code", sa.String(length=3), nullable=True),
        sa.Column("return_date", sa.Date(), nullable=True),
        sa.Column("expected_arrival", sa.DateTime(), nullable=True),
        sa.Column("first_text_at", sa.DateTime(), nullable=True),
        sa.Column("last_reply_at", sa.DateTime(), nullable=True),
        sa.Column("contact_reached", sa.Boolean(), nullable=False),
        sa.Column("safeguarding", sa.Boolean(), nullable=False),
        sa.Column("dsl_alerted", sa.Boolean(), nullable=False),
        sa.Column("ladder", sa.JSON(), nullable=False),
        sa.Column("steps_done", sa.JSON(), nullable=False),
        sa.Column("next_due_at", sa.DateTime(), nullable=True),
        sa.Column("token", sa.Integer(), nullable=False),
        sa.Column("opened_at", sa.DateTime(), nullable=False),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["pupil_id"], ["pupils.id"], name=op.f("fk_absence_cases_pupil_id_pupils")
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_absence_cases_school_id_schools")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_absence_cases")),
    )
    with op.batch_alter_table("absence_cases", schema=None) as batch_op:
        batch_op.create_index("ix_absence_cases_due", ["status", "next_due_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_absence_cases_pupil_id"), ["pupil_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_absence_cases_school_id"), ["school_id"], unique=False)

    op.create_table(
        "leave_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("pupil_id", sa.Integer(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("requested_by", sa.String(length=200), nullable=False),
        sa.Column("requested_at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("code", sa.String(length=3), nullable=False),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contacts.id"], name=op.f("fk_leave_requests_contact_id_contacts")
        ),
        sa.ForeignKeyConstraint(
            ["pupil_id"], ["pupils.id"], name=op.f("fk_leave_requests_pupil_id_pupils")
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_leave_requests_school_id_schools")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_leave_requests")),
    )
    with op.batch_alter_table("leave_requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_leave_requests_pupil_id"), ["pupil_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_leave_requests_school_id"), ["school_id"], unique=False
        )

    op.create_table(
        "messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=True),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("sid", sa.String(length=64), nullable=True),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("from_phone", sa.String(length=20), nullable=False),
        sa.Column("to_phone", sa.String(length=20), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("error_code", sa.Integer(), nullable=True),
        sa.Column("outbox_id", sa.Integer(), nullable=True),
        sa.Column("parse", sa.JSON(), nullable=True),
        sa.Column("handled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contacts.id"], name=op.f("fk_messages_contact_id_contacts")
        ),
        sa.ForeignKeyConstraint(
            ["outbox_id"], ["outbox.id"], name=op.f("fk_messages_outbox_id_outbox")
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_messages_school_id_schools")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
        sa.UniqueConstraint("sid", name=op.f("uq_messages_sid")),
    )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_messages_contact_id"), ["contact_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_messages_outbox_id"), ["outbox_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_messages_school_id"), ["school_id"], unique=False)

    op.create_table(
        "pupil_contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pupil_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("relationship", sa.String(length=50), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("parental_responsibility", sa.Boolean(), nullable=False),
        sa.Column("no_contact", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contacts.id"], name=op.f("fk_pupil_contacts_contact_id_contacts")
        ),
        sa.ForeignKeyConstraint(
            ["pupil_id"], ["pupils.id"], name=op.f("fk_pupil_contacts_pupil_id_pupils")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pupil_contacts")),
        sa.UniqueConstraint(
            "pupil_id", "contact_id", name=op.f("uq_pupil_contacts_pupil_id_contact_id")
        ),
    )
    with op.batch_alter_table("pupil_contacts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_pupil_contacts_contact_id"), ["contact_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_pupil_contacts_pupil_id"), ["pupil_id"], unique=False)

    op.create_table(
        "register_marks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pupil_id", sa.Integer(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("session", sa.String(length=2), nullable=False),
        sa.Column("code", sa.String(length=3), nullable=True),
        sa.Column("minutes_late", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["pupil_id"], ["pupils.id"], name=op.f("fk_register_marks_pupil_id_pupils")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_register_marks")),
        sa.UniqueConstraint(
            "pupil_id", "date", "session", name=op.f("uq_register_marks_pupil_id_date_session")
        ),
    )
    with op.batch_alter_table("register_marks", schema=None) as batch_op:
        batch_op.create_index("ix_register_marks_date_session", ["date", "session"], unique=False)

    op.create_table(
        "case_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["absence_cases.id"], name=op.f("fk_case_events_case_id_absence_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_events")),
    )
    with op.batch_alter_table("case_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_events_case_id"), ["case_id"], unique=False)

    op.create_table(
        "mark_amendments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mark_id", sa.Integer(), nullable=False),
        sa.Column("pupil_id", sa.Integer(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("session", sa.String(length=2), nullable=False),
        sa.Column("original_code", sa.String(length=3), nullable=True),
        sa.Column("original_confirmed", sa.Boolean(), nullable=True),
        sa.Column("amended_code", sa.String(length=3), nullable=True),
        sa.Column("amended_confirmed", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("amended_at", sa.DateTime(), nullable=False),
        sa.Column("amended_by_name", sa.String(length=200), nullable=False),
        sa.Column("amended_by_position", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["mark_id"],
            ["register_marks.id"],
            name=op.f("fk_mark_amendments_mark_id_register_marks"),
        ),
        sa.ForeignKeyConstraint(
            ["pupil_id"], ["pupils.id"], name=op.f("fk_mark_amendments_pupil_id_pupils")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mark_amendments")),
    )
    with op.batch_alter_table("mark_amendments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mark_amendments_mark_id"), ["mark_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_mark_amendments_pupil_id"), ["pupil_id"], unique=False)

    op.create_table(
        "message_cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["absence_cases.id"], name=op.f("fk_message_cases_case_id_absence_cases")
        ),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name=op.f("fk_message_cases_message_id_messages")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_cases")),
        sa.UniqueConstraint(
            "message_id", "case_id", name=op.f("uq_message_cases_message_id_case_id")
        ),
    )
    with op.batch_alter_table("message_cases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_message_cases_case_id"), ["case_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_message_cases_message_id"), ["message_id"], unique=False
        )

    op.create_table(
        "staff_tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("claimed_by", sa.String(length=32), nullable=True),
        sa.Column("outcome", sa.String(length=40), nullable=True),
        sa.Column("outcome_note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("done_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["absence_cases.id"], name=op.f("fk_staff_tasks_case_id_absence_cases")
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_staff_tasks_school_id_schools")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_tasks")),
        sa.UniqueConstraint("key", name=op.f("uq_staff_tasks_key")),
    )
    with op.batch_alter_table("staff_tasks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_staff_tasks_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_staff_tasks_school_id"), ["school_id"], unique=False)

    _append_only_triggers()


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS mark_amendments_no_update")
        op.execute("DROP TRIGGER IF EXISTS mark_amendments_no_delete")
    else:
        op.execute("DROP TRIGGER IF EXISTS mark_amendments_append_only ON mark_amendments")
        op.execute("DROP FUNCTION IF EXISTS mark_amendments_append_only()")
    with op.batch_alter_table("staff_tasks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_staff_tasks_school_id"))
        batch_op.drop_index(batch_op.f("ix_staff_tasks_case_id"))

    op.drop_table("staff_tasks")
    with op.batch_alter_table("message_cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_message_cases_message_id"))
        batch_op.drop_index(batch_op.f("ix_message_cases_case_id"))

    op.drop_table("message_cases")
    with op.batch_alter_table("mark_amendments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mark_amendments_pupil_id"))
        batch_op.drop_index(batch_op.f("ix_mark_amendments_mark_id"))

    op.drop_table("mark_amendments")
    with op.batch_alter_table("case_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_events_case_id"))

    op.drop_table("case_events")
    with op.batch_alter_table("register_marks", schema=None) as batch_op:
        batch_op.drop_index("ix_register_marks_date_session")

    op.drop_table("register_marks")
    with op.batch_alter_table("pupil_contacts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pupil_contacts_pupil_id"))
        batch_op.drop_index(batch_op.f("ix_pupil_contacts_contact_id"))

    op.drop_table("pupil_contacts")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_messages_school_id"))
        batch_op.drop_index(batch_op.f("ix_messages_outbox_id"))
        batch_op.drop_index(batch_op.f("ix_messages_contact_id"))

    op.drop_table("messages")
    with op.batch_alter_table("leave_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_leave_requests_school_id"))
        batch_op.drop_index(batch_op.f("ix_leave_requests_pupil_id"))

    op.drop_table("leave_requests")
    with op.batch_alter_table("absence_cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_absence_cases_school_id"))
        batch_op.drop_index(batch_op.f("ix_absence_cases_pupil_id"))
        batch_op.drop_index("ix_absence_cases_due")

    op.drop_table("absence_cases")
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_staff_school_id"))

    op.drop_table("staff")
    op.drop_table("register_sweeps")
    with op.batch_alter_table("pupils", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pupils_school_id"))
        batch_op.drop_index(batch_op.f("ix_pupils_class_name"))

    op.drop_table("pupils")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_school_id"))
        batch_op.drop_index("ix_outbox_due")

    op.drop_table("outbox")
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contacts_school_id"))
        batch_op.drop_index(batch_op.f("ix_contacts_phone"))

    op.drop_table("contacts")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_school_id"))

    op.drop_table("audit_log")
    op.drop_table("slack_cards")
    op.drop_table("schools")
    op.drop_table("opt_outs")
    op.drop_table("job_state")


APPEND_ONLY = "mark_amendments is append-only: amendments to the register are never changed"


def _append_only_triggers() -> None:
    """The register is a legal document: refuse UPDATE and DELETE on its amendment record in
    the database itself, not only in the application."""
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER mark_amendments_no_{verb.lower()} BEFORE {verb} ON mark_amendments "
                f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END"
            )
    else:
        op.execute(
            "CREATE FUNCTION mark_amendments_append_only() RETURNS trigger AS $$ BEGIN "
            f"RAISE EXCEPTION '{APPEND_ONLY}'; END; $$ LANGUAGE plpgsql"
        )
        op.execute(
            "CREATE TRIGGER mark_amendments_append_only BEFORE UPDATE OR DELETE ON mark_amendments "
            "FOR EACH ROW EXECUTE FUNCTION mark_amendments_append_only()"
        )
