"""Personal data out and away (UK GDPR): a subject access export for a pupil, erasure of a
contact or a pupil, and the retention rules the nightly job applies.

What the law makes the school keep stays: the attendance register and its amendment record
(the Pupil Registration Regulations), so an erased pupil's marks and amendments remain under
their UPN with the name replaced. A number that replied STOP stays on the opt-out list, so
it is never texted again. Every erasure and export leaves an audit record that names who
asked and what was done, by counts and IDs: never the data it removed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, Executable, delete, or_, select, update
from sqlalchemy.orm import Session

from storage.models import (
    AbsenceCase,
    AuditLog,
    CaseEvent,
    Contact,
    LeaveRequest,
    MarkAmendment,
    Message,
    MessageCase,
    OptOut,
    OutboxItem,
    OutboxStatus,
    Pupil,
    PupilContact,
    RegisterMark,
    School,
    StaffTask,
)

ERASED = "erased"


class NotFound(LookupError):
    pass


@dataclass
class Erasure:
    """What an erasure did, by counts (also the audit record's detail)."""

    contacts: int = 0
    links: int = 0
    message_bodies: int = 0
    queued_texts: int = 0
    cases: int = 0
    leave_requests: int = 0
    tasks: int = 0
    pupils: int = 0
    cards: list[str] = field(default_factory=list)  # Slack cards to redact now
    school_id: int | None = field(default=None, repr=False)

    def counts(self) -> dict[str, int]:
        return {
            k: v for k, v in vars(self).items() if isinstance(v, int) and v and k != "school_id"
        }

    def summary(self) -> str:
        done = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in self.counts().items())
        return done or "nothing held"


def audit(
    session: Session,
    *,
    school_id: int | None,
    actor: str,
    action: str,
    detail: dict[str, Any],
    now: datetime,
) -> None:
    session.add(
        AuditLog(
            school_id=school_id, at=now, actor=actor, action=action, outcome="done", detail=detail
        )
    )


# -- erasure -----------------------------------------------------------------------------------


def erase_contact(session: Session, phone: str, *, actor: str, now: datetime) -> Erasure:
    """Erase every record of a phone number at every school: the contact, its links to
    pupils, the words of texts to and from it, and texts still queued for it."""
    contacts = list(session.scalars(select(Contact).where(Contact.phone == phone)))
    texts = session.scalar(
        select(Message.id).where(or_(Message.from_phone == phone, Message.to_phone == phone))
    )
    if not contacts and texts is None:
        raise NotFound("no contact or text has that number")
    result = _erase_contacts(session, contacts, phone=phone)
    school_ids: list[int | None] = [*sorted({c.school_id for c in contacts})] or [None]
    for school_id in school_ids:
        audit(
            session,
            school_id=school_id,
            actor=actor,
            action="data erase contact",
            detail={"contact_ids": [c.id for c in contacts], **result.counts()},
            now=now,
        )
    return result


def _erase_contacts(session: Session, contacts: Sequence[Contact], *, phone: str) -> Erasure:
    result = Erasure()
    ids = [c.id for c in contacts]
    if ids:
        result.links = _updated(
            session, delete(PupilContact).where(PupilContact.contact_id.in_(ids))
        )
        session.execute(
            update(LeaveRequest)
            .where(LeaveRequest.contact_id.in_(ids))
            .values(contact_id=None, requested_by="a parent or carer (erased)")
        )
    shared = session.scalar(
        select(Contact.id).where(Contact.phone == phone, Contact.id.not_in(ids))
    )
    if shared is not None:
        # The number is still a contact at another school: only this school's rows go.
        session.execute(delete(Contact).where(Contact.id.in_(ids)))
        result.contacts = len(ids)
        return result
    result.message_bodies = _updated(
        session,
        update(Message)
        .where(or_(Message.from_phone == phone, Message.to_phone == phone))
        .values(body="", parse=None, from_phone=ERASED, to_phone=ERASED, contact_id=None)
        .execution_options(synchronize_session=False),
    )
    result.queued_texts = _erase_queued_texts(session, phone)
    if not session.scalar(select(OptOut.opted_out).where(OptOut.phone == phone)):
        session.execute(delete(OptOut).where(OptOut.phone == phone))
    if ids:
        session.execute(delete(Contact).where(Contact.id.in_(ids)))
    result.contacts = len(ids)
    return result


def _erase_queued_texts(session: Session, phone: str) -> int:
    """Texts to the number in the outbox: unsent ones are cancelled, and the number and
    words of every one are blanked."""
    count = 0
    for item in session.scalars(select(OutboxItem).where(OutboxItem.channel == "sms")):
        if item.payload.get("to") != phone:
            continue
        item.payload = {**item.payload, "to": ERASED, "body": ""}
        if item.status in (OutboxStatus.PENDING, OutboxStatus.SENDING):
            item.status = OutboxStatus.CANCELLED
        count += 1
    return count


def find_pupils(session: Session, upn: str, school_urn: str | None = None) -> list[Pupil]:
    query = select(Pupil).where(Pupil.upn == upn.strip().upper())
    if school_urn:
        query = query.join(School, School.id == Pupil.school_id).where(School.urn == school_urn)
    pupils = list(session.scalars(query.order_by(Pupil.id)))
    if not pupils:
        raise NotFound(f"no pupil has UPN {upn}")
    if len(pupils) > 1:
        raise NotFound(f"UPN {upn} is on more than one school's roll: give --school URN")
    return pupils


def erase_pupil(
    session: Session, upn: str, *, actor: str, now: datetime, school_urn: str | None = None
) -> Erasure:
    """Erase a pupil's personal data, keeping what the law requires: register marks and the
    amendment record stay under the UPN; the name, flags and every free-text reason, note
    and parent's text go, and so do contacts who were this pupil's alone."""
    [pupil] = find_pupils(session, upn, school_urn)
    result = Erasure(pupils=1, school_id=pupil.school_id)
    case_ids = list(session.scalars(select(AbsenceCase.id).where(AbsenceCase.pupil_id == pupil.id)))
    leave_ids = list(
        session.scalars(select(LeaveRequest.id).where(LeaveRequest.pupil_id == pupil.id))
    )
    if case_ids:
        result.cases = _updated(
            session, update(AbsenceCase).where(AbsenceCase.id.in_(case_ids)).values(reason=None)
        )
        session.execute(update(CaseEvent).where(CaseEvent.case_id.in_(case_ids)).values(detail={}))
        result.tasks = _updated(
            session,
            update(StaffTask)
            .where(StaffTask.case_id.in_(case_ids))
            .values(detail={}, outcome_note=""),
        )
        message_ids = select(MessageCase.message_id).where(MessageCase.case_id.in_(case_ids))
        result.message_bodies = _updated(
            session,
            update(Message)
            .where(Message.id.in_(message_ids))
            .values(body="", parse=None)
            .execution_options(synchronize_session=False),
        )
    if leave_ids:
        result.leave_requests = _updated(
            session,
            update(LeaveRequest)
            .where(LeaveRequest.id.in_(leave_ids))
            .values(reason="", note="", requested_by=ERASED),
        )
    # Contacts who were this pupil's alone go entirely; a sibling's contact stays theirs.
    links = list(session.scalars(select(PupilContact).where(PupilContact.pupil_id == pupil.id)))
    for link in links:
        others = session.scalar(
            select(PupilContact.id).where(
                PupilContact.contact_id == link.contact_id, PupilContact.pupil_id != pupil.id
            )
        )
        session.delete(link)
        result.links += 1
        if others is None:
            contact = session.get_one(Contact, link.contact_id)
            session.flush()
            erased = _erase_contacts(session, [contact], phone=contact.phone)
            result.contacts += erased.contacts
            result.message_bodies += erased.message_bodies
            result.queued_texts += erased.queued_texts
    pupil.first_name, pupil.last_name = "Erased", "pupil"
    pupil.vulnerable, pupil.la_transport = [], False
    result.cards = [f"case:{i}" for i in case_ids] + [f"dsl:{i}" for i in case_ids]
    result.cards += [f"leave:{i}" for i in leave_ids]
    audit(
        session,
        school_id=pupil.school_id,
        actor=actor,
        action="data erase pupil",
        detail={"pupil_id": pupil.id, **result.counts()},
        now=now,
    )
    return result


# -- subject access ----------------------------------------------------------------------------


def export_pupil(
    session: Session, upn: str, *, actor: str, now: datetime, school_urn: str | None = None
) -> dict[str, Any]:
    """Everything FirstCall holds about a pupil, as JSON-ready data, for a subject access
    request; the export itself is audited."""
    [pupil] = find_pupils(session, upn, school_urn)
    school = session.get_one(School, pupil.school_id)
    links = session.execute(
        select(PupilContact, Contact)
        .join(Contact, Contact.id == PupilContact.contact_id)
        .where(PupilContact.pupil_id == pupil.id)
        .order_by(PupilContact.priority)
    ).all()
    cases = list(
        session.scalars(
            select(AbsenceCase).where(AbsenceCase.pupil_id == pupil.id).order_by(AbsenceCase.id)
        )
    )
    case_ids = [c.id for c in cases]
    phones = [contact.phone for _, contact in links]
    messages = session.scalars(
        select(Message)
        .where(
            or_(
                Message.id.in_(
                    select(MessageCase.message_id).where(MessageCase.case_id.in_(case_ids))
                ),
                Message.from_phone.in_(phones),
                Message.to_phone.in_(phones),
            )
        )
        .order_by(Message.id)
    ).all()
    audit(
        session,
        school_id=pupil.school_id,
        actor=actor,
        action="data export pupil",
        detail={"pupil_id": pupil.id},
        now=now,
    )
    return {
        "exported_at": now.isoformat(),
        "school": {"name": school.name, "urn": school.urn},
        "pupil": _row(
            pupil, "upn", "first_name", "last_name", "year_group", "class_name", "vulnerable"
        )
        | {"on_roll": pupil.on_roll, "la_transport": pupil.la_transport},
        "contacts": [
            _row(contact, "name", "phone", "language", "can_sms")
            | _row(link, "relationship_", "priority", "parental_responsibility", "no_contact")
            for link, contact in links
        ],
        "register_marks": [
            _row(m, "date", "session", "code", "confirmed", "minutes_late", "note", "source")
            for m in session.scalars(
                select(RegisterMark)
                .where(RegisterMark.pupil_id == pupil.id)
                .order_by(RegisterMark.date, RegisterMark.session)
            )
        ],
        "register_amendments": [
            _row(
                a,
                "date",
                "session",
                "original_code",
                "amended_code",
                "reason",
                "amended_at",
                "amended_by_name",
                "amended_by_position",
            )
            for a in session.scalars(
                select(MarkAmendment)
                .where(MarkAmendment.pupil_id == pupil.id)
                .order_by(MarkAmendment.id)
            )
        ],
        "absences": [
            _row(
                c,
                "opened_on",
                "last_absent_on",
                "status",
                "reason",
                "provisional_code",
                "confirmed_code",
                "safeguarding",
            )
            | {
                "events": [
                    _row(e, "at", "kind", "actor", "detail")
                    for e in session.scalars(
                        select(CaseEvent).where(CaseEvent.case_id == c.id).order_by(CaseEvent.id)
                    )
                ]
            }
            for c in cases
        ],
        "texts": [
            _row(m, "direction", "from_phone", "to_phone", "body", "status", "created_at")
            for m in messages
        ],
        "leave_requests": [
            _row(r, "start_date", "end_date", "reason", "status", "requested_by", "decided_by")
            | {"note": r.note}
            for r in session.scalars(
                select(LeaveRequest)
                .where(LeaveRequest.pupil_id == pupil.id)
                .order_by(LeaveRequest.id)
            )
        ],
        "staff_tasks": [
            _row(t, "kind", "status", "outcome", "outcome_note", "created_at", "done_at")
            for t in session.scalars(
                select(StaffTask).where(StaffTask.case_id.in_(case_ids)).order_by(StaffTask.id)
            )
        ],
    }


def _row(obj: object, *names: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in names:
        value = getattr(obj, name)
        out[name.rstrip("_")] = value.isoformat() if hasattr(value, "isoformat") else value
    return out


# -- retention ---------------------------------------------------------------------------------


def expire_message_bodies(
    session: Session, school_ids: Iterable[int | None], before: datetime
) -> int:
    """Blank the words of texts older than `before` (the row stays: when, to whom, status)."""
    ids = list(school_ids)
    where = [Message.created_at < before, Message.body != ""]
    scope: ColumnElement[bool] = Message.school_id.in_([i for i in ids if i is not None])
    if None in ids:
        scope = or_(scope, Message.school_id.is_(None))
    blanked = _updated(
        session,
        update(Message)
        .where(*where, scope)
        .values(body="", parse=None)
        .execution_options(synchronize_session=False),
    )
    for item in session.scalars(
        select(OutboxItem).where(
            OutboxItem.channel == "sms",
            OutboxItem.created_at < before,
            OutboxItem.status.in_((OutboxStatus.SENT, OutboxStatus.FAILED, OutboxStatus.CANCELLED)),
            OutboxItem.school_id.in_([i for i in ids if i is not None]),
        )
    ):
        if item.payload.get("body"):
            item.payload = {**item.payload, "body": ""}
    return blanked


def expire_leavers(session: Session, school_id: int, before: datetime, *, now: datetime) -> Erasure:
    """Erase the contacts of pupils who left the roll before `before`, unless the contact
    is still linked to a pupil on roll (a sibling), in which case only the link goes."""
    result = Erasure()
    leavers = select(Pupil.id).where(
        Pupil.school_id == school_id, Pupil.on_roll.is_(False), Pupil.left_at < before
    )
    links = list(session.scalars(select(PupilContact).where(PupilContact.pupil_id.in_(leavers))))
    contact_ids = {link.contact_id for link in links}
    for link in links:
        session.delete(link)
    result.links = len(links)
    session.flush()
    for contact_id in sorted(contact_ids):
        if session.scalar(select(PupilContact.id).where(PupilContact.contact_id == contact_id)):
            continue
        contact = session.get_one(Contact, contact_id)
        erased = _erase_contacts(session, [contact], phone=contact.phone)
        result.contacts += erased.contacts
        result.message_bodies += erased.message_bodies
    if result.links:
        audit(
            session,
            school_id=school_id,
            actor="retention (nightly)",
            action="data erase leavers' contacts",
            detail=result.counts(),
            now=now,
        )
    return result


def _updated(session: Session, statement: Executable) -> int:
    """Run an UPDATE or DELETE and say how many rows it touched."""
    return cast("CursorResult[Any]", session.execute(statement)).rowcount
