"""The database tables, as SQLAlchemy 2 typed models.

Times are stored in UTC and always come back timezone-aware (`UTCDateTime`), whatever the
database; school-local times are derived with the school's time zone in `rules/`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out; naive values are refused so a local time
    can never be stored by mistake."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class CaseStatus(StrEnum):
    """An absence case: waiting for a reason, the child on the way (the family says so), a
    reason known (staff to confirm), the code confirmed, or closed: the register shows the
    pupil in school, which alone ends a case (one case is one unbroken absence)."""

    OPEN = "open"
    EXPECTED = "expected"
    EXPLAINED = "explained"
    CONFIRMED = "confirmed"
    CLOSED = "closed"


class AlertStatus(StrEnum):
    """A DSL alert: waiting for a DSL, a DSL is on it, or returned to the office as not a
    safeguarding matter."""

    RAISED = "raised"
    ACKNOWLEDGED = "acknowledged"
    RETURNED = "returned"


# The cases the ladder still works on.
OPEN_CASE_STATUSES = (
    CaseStatus.OPEN,
    CaseStatus.EXPECTED,
    CaseStatus.EXPLAINED,
    CaseStatus.CONFIRMED,
)


class TaskStatus(StrEnum):
    OPEN = "open"
    CLAIMED = "claimed"
    DONE = "done"


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"  # claimed by a dispatcher, under a lease
    SENT = "sent"
    FAILED = "failed"  # permanently, or after the last attempt
    CANCELLED = "cancelled"  # must not go out at all


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


class School(Base):
    __tablename__ = "schools"
    id: Mapped[int] = mapped_column(primary_key=True)
    urn: Mapped[str] = mapped_column(String(6), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/London")
    # The settings file as loaded, re-validated on read, so the database holds exactly what
    # the school wrote (comments aside) and one schema governs both.
    settings_toml: Mapped[str] = mapped_column(Text)
    loaded_at: Mapped[datetime]


class Staff(Base):
    __tablename__ = "staff"
    __table_args__ = (UniqueConstraint("school_id", "slack_user_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"), index=True)
    slack_user_id: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    position: Mapped[str] = mapped_column(String(200))
    roles: Mapped[list[Any]] = mapped_column(default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Pupil(Base):
    __tablename__ = "pupils"
    __table_args__ = (UniqueConstraint("school_id", "upn"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"), index=True)
    upn: Mapped[str] = mapped_column(String(13))
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    year_group: Mapped[str] = mapped_column(String(10))
    # Long enough for what MIS exports hold ("Year 3 Kingfishers 3K"); the import checks
    # every text column against these lengths, so no database ever truncates or refuses one.
    class_name: Mapped[str] = mapped_column(String(100), index=True)
    vulnerable: Mapped[list[Any]] = mapped_column(default=list)
    la_transport: Mapped[bool] = mapped_column(Boolean, default=False)
    on_roll: Mapped[bool] = mapped_column(Boolean, default=True)
    # When a roster import last found the pupil gone from the MIS: their contacts are
    # erased after the school's retention period.
    left_at: Mapped[datetime | None] = mapped_column(default=None)

    links: Mapped[list[PupilContact]] = relationship(back_populates="pupil")

    @property
    def is_vulnerable(self) -> bool:
        return bool(self.vulnerable)


class Contact(Base):
    """A phone number the school may text; one per number per school, shared by siblings."""

    __tablename__ = "contacts"
    __table_args__ = (UniqueConstraint("school_id", "phone"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"), index=True)
    phone: Mapped[str] = mapped_column(String(20), index=True)  # E.164
    name: Mapped[str] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(20), default="en")
    # phonenumbers' view of the number: "mobile", "fixed_line", "fixed_line_or_mobile", ...
    phone_type: Mapped[str] = mapped_column(String(30), default="mobile")
    can_sms: Mapped[bool] = mapped_column(Boolean, default=True)
    # Set when Twilio reports the number permanently unreachable (21211, 21614...), and only
    # by news of a text newer than the last one delivered (`last_delivered_at`): a late or
    # replayed callback cannot undo a later success. A delivery newer than `undeliverable_at`,
    # or the roster import listing the contact again, clears it.
    undeliverable: Mapped[str | None] = mapped_column(String(200), default=None)
    undeliverable_at: Mapped[datetime | None] = mapped_column(default=None)
    last_delivered_at: Mapped[datetime | None] = mapped_column(default=None)

    links: Mapped[list[PupilContact]] = relationship(back_populates="contact")
    school: Mapped[School] = relationship()


class PupilContact(Base):
    __tablename__ = "pupil_contacts"
    __table_args__ = (UniqueConstraint("pupil_id", "contact_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    pupil_id: Mapped[int] = mapped_column(ForeignKey("pupils.id"), index=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    relationship_: Mapped[str] = mapped_column("relationship", String(100))
    # The contact's name as the file gives it for this pupil: two families sharing a number
    # are told apart by it (rules/families.py), where the contact row keeps one name.
    contact_name: Mapped[str] = mapped_column(String(200), default="", server_default="")
    priority: Mapped[int] = mapped_column(Integer)
    parental_responsibility: Mapped[bool] = mapped_column(Boolean, default=True)
    # A court order or safeguarding decision: never contact about this child.
    no_contact: Mapped[bool] = mapped_column(Boolean, default=False)

    pupil: Mapped[Pupil] = relationship(back_populates="links")
    contact: Mapped[Contact] = relationship(back_populates="links")


class OptOut(Base):
    """STOP/START state per number, as Twilio keeps it per sender: one row per number."""

    __tablename__ = "opt_outs"
    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(20), unique=True)
    opted_out: Mapped[bool] = mapped_column(Boolean, default=True)
    keyword: Mapped[str] = mapped_column(String(20))
    changed_at: Mapped[datetime]


class RegisterMark(Base):
    __tablename__ = "register_marks"
    __table_args__ = (
        UniqueConstraint("pupil_id", "date", "session"),
        Index("ix_register_marks_date_session", "date", "session"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    pupil_id: Mapped[int] = mapped_column(ForeignKey("pupils.id"))
    date: Mapped[date] = mapped_column(Date)
    session: Mapped[str] = mapped_column(String(2))  # AM / PM
    code: Mapped[str | None] = mapped_column(String(3))  # None: not yet marked
    minutes_late: Mapped[int | None] = mapped_column(Integer, default=None)
    note: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(20))  # import, parent, staff, system, leave
    confirmed: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime]


class MarkAmendment(Base):
    """The legal record of a change to the register. Append-only: the ORM refuses updates
    and deletes, and the migration adds database triggers that refuse them too."""

    __tablename__ = "mark_amendments"
    id: Mapped[int] = mapped_column(primary_key=True)
    mark_id: Mapped[int] = mapped_column(ForeignKey("register_marks.id"), index=True)
    pupil_id: Mapped[int] = mapped_column(ForeignKey("pupils.id"), index=True)
    date: Mapped[date] = mapped_column(Date)
    session: Mapped[str] = mapped_column(String(2))
    original_code: Mapped[str | None] = mapped_column(String(3))
    original_confirmed: Mapped[bool | None] = mapped_column(Boolean)
    amended_code: Mapped[str | None] = mapped_column(String(3))
    amended_confirmed: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(Text)
    amended_at: Mapped[datetime]
    amended_by_name: Mapped[str] = mapped_column(String(200))
    amended_by_position: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(20))


class RegisterSweep(Base):
    """One row per school, day and session once its register-close sweep has run: the
    database, not the scheduler, knows which sessions still need sweeping."""

    __tablename__ = "register_sweeps"
    __table_args__ = (UniqueConstraint("school_id", "date", "session"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"))
    date: Mapped[date] = mapped_column(Date)
    session: Mapped[str] = mapped_column(String(2))
    status: Mapped[str] = mapped_column(String(20))  # done, held (awaiting office), released
    swept_at: Mapped[datetime]
    summary: Mapped[dict[str, Any]] = mapped_column(default=dict)


class AbsenceCase(Base):
    """One run of absence for one pupil, from the first unexplained session until it is
    explained and confirmed, or the pupil is back."""

    __tablename__ = "absence_cases"
    __table_args__ = (Index("ix_absence_cases_due", "status", "next_due_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"), index=True)
    pupil_id: Mapped[int] = mapped_column(ForeignKey("pupils.id"), index=True)
    opened_on: Mapped[date] = mapped_column(Date)
    opened_session: Mapped[str] = mapped_column(String(2))
    last_absent_on: Mapped[date] = mapped_column(Date)
    # open: waiting for a reason; explained: a reason is known, staff to confirm;
    # closed: confirmed or the pupil is back.
    status: Mapped[str] = mapped_column(String(20), default=CaseStatus.OPEN)
    reason: Mapped[str | None] = mapped_column(String(50))
    provisional_code: Mapped[str | None] = mapped_column(String(3))
    confirmed_code: Mapped[str | None] = mapped_column(String(3))
    return_date: Mapped[date | None] = mapped_column(Date)
    expected_arrival: Mapped[datetime | None]
    first_text_at: Mapped[datetime | None]
    last_reply_at: Mapped[datetime | None]
    contact_reached: Mapped[bool] = mapped_column(Boolean, default=False)
    safeguarding: Mapped[bool] = mapped_column(Boolean, default=False)
    dsl_alerted: Mapped[bool] = mapped_column(Boolean, default=False)
    # The school's ladder as it stood when the case opened (editing the policy mid-case
    # cannot corrupt it), the steps done, and when the next is due.
    ladder: Mapped[list[Any]] = mapped_column(default=list)
    steps_done: Mapped[list[Any]] = mapped_column(default=list)
    next_due_at: Mapped[datetime | None]
    opened_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]

    pupil: Mapped[Pupil] = relationship()


class CaseEvent(Base):
    """What happened to a case, in order: the timeline staff and the demo read."""

    __tablename__ = "case_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("absence_cases.id"), index=True)
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(200), default="system")
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class DslAlert(Base):
    """A case put in front of the DSL, open until a DSL acknowledges it ("I'm on it") or
    returns it to the office ("not a safeguarding matter"). Until then its chain (posted
    again to the DSLs, then the headteacher) runs from `next_due_at`, like the ladder."""

    __tablename__ = "dsl_alerts"
    __table_args__ = (Index("ix_dsl_alerts_due", "status", "next_due_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"), index=True)
    # The case put in front of the DSL; or, for a text with risk in it and no open absence to
    # attach it to, that text.
    case_id: Mapped[int | None] = mapped_column(ForeignKey("absence_cases.id"), index=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"), index=True)
    raised_at: Mapped[datetime]
    # The chain's clock: when raised, or the next opening of the school day.
    starts_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(20), default=AlertStatus.RAISED)
    chain: Mapped[list[Any]] = mapped_column(default=list)  # the school's chain when raised
    steps_done: Mapped[list[Any]] = mapped_column(default=list)
    next_due_at: Mapped[datetime | None]
    decided_by: Mapped[str | None] = mapped_column(String(200))  # "name (position)"
    decided_by_user: Mapped[str | None] = mapped_column(String(32))
    decided_at: Mapped[datetime | None]
    note: Mapped[str] = mapped_column(Text, default="")


class Message(Base):
    """Every text in or out. Inbound rows are unique on Twilio's MessageSid."""

    __tablename__ = "messages"
    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id"), index=True)
    direction: Mapped[str] = mapped_column(String(8))  # inbound / outbound
    sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"), index=True)
    from_phone: Mapped[str] = mapped_column(String(20))
    to_phone: Mapped[str] = mapped_column(String(20))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))
    error_code: Mapped[int | None] = mapped_column(Integer)
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"), index=True)
    parse: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    handled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class MessageCase(Base):
    __tablename__ = "message_cases"
    __table_args__ = (UniqueConstraint("message_id", "case_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("absence_cases.id"), index=True)


class StaffTask(Base):
    __tablename__ = "staff_tasks"
    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("absence_cases.id"), index=True)
    # Unique per case and ladder step (or per sweep): each action happens once.
    key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    role: Mapped[str] = mapped_column(String(20))  # who should act: office, dsl, headteacher
    status: Mapped[str] = mapped_column(String(20), default=TaskStatus.OPEN)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    claimed_by: Mapped[str | None] = mapped_column(String(32))
    outcome: Mapped[str | None] = mapped_column(String(40))
    outcome_note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    done_at: Mapped[datetime | None]


class LeaveRequest(Base):
    __tablename__ = "leave_requests"
    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"), index=True)
    pupil_id: Mapped[int] = mapped_column(ForeignKey("pupils.id"), index=True)
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(20))  # parent / staff
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    requested_by: Mapped[str] = mapped_column(String(200))
    requested_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(20), default="pending")
    code: Mapped[str] = mapped_column(String(3), default="C")
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None]
    note: Mapped[str] = mapped_column(Text, default="")


class OutboxItem(Base):
    """A text or Slack call waiting to go out. `key` makes each one happen once: a crash
    between deciding and sending resends only the rows not yet marked sent."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    channel: Mapped[str] = mapped_column(String(10))  # sms / slack
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id"), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(20), default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    claimed_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class SlackCard(Base):
    """One Slack message per case (or task, or request), edited as it moves on."""

    __tablename__ = "slack_cards"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    channel: Mapped[str] = mapped_column(String(40))
    ts: Mapped[str | None] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(Integer, default=0)
    # Set once the retention period has passed: the card shows a stub, no names or reasons.
    redacted_at: Mapped[datetime | None] = mapped_column(default=None)
    updated_at: Mapped[datetime]


class JobState(Base):
    """Small named cursors, e.g. when reconciliation last looked at Twilio."""

    __tablename__ = "job_state"
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime]


class QuarantinedText(Base):
    """A text Twilio holds that could not be stored (recorded by its MessageSid, never its
    content), so reconciliation moves past it and staff deal with it in Twilio's console."""

    __tablename__ = "quarantined_texts"
    id: Mapped[int] = mapped_column(primary_key=True)
    sid: Mapped[str] = mapped_column(String(64), unique=True)
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id"), index=True)
    error: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]


class SlackRequest(Base):
    """A slash command already answered, by Slack's trigger ID: a retried or replayed
    request gets the same reply and changes nothing again. Kept for a day."""

    __tablename__ = "slack_requests"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    reply: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(index=True)


class AuditLog(Base):
    """Who did or tried what, when: every staff request through Slack (a view as much as a
    decision, done or refused, by ids never names), and a school's failed sweep or ladder
    run (by error ID). Register changes have their own record (`MarkAmendment`)."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id"), index=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(100))
    outcome: Mapped[str] = mapped_column(String(40))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


__all__ = [
    "AbsenceCase",
    "AlertStatus",
    "AuditLog",
    "Base",
    "CaseEvent",
    "Contact",
    "DslAlert",
    "JobState",
    "LeaveRequest",
    "MarkAmendment",
    "Message",
    "MessageCase",
    "OptOut",
    "OutboxItem",
    "Pupil",
    "PupilContact",
    "QuarantinedText",
    "RegisterMark",
    "RegisterSweep",
    "School",
    "SlackCard",
    "SlackRequest",
    "Staff",
    "StaffTask",
    "UTCDateTime",
]
