"""Leave of absence: requests from a parent's text or /leave request, decided by the
headteacher alone. Approval marks the sessions with the code for the leave's reason (C, R,
T, C1, J1, S, C2, M), final; a decline tells the parent, with the penalty-notice warning
where it applies."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.workflow.cards import refresh_card
from bot.workflow.overview import pupil_year
from bot.workflow.school import SchoolContext
from messaging.outbox import enqueue_sms
from rules.codes import LEAVE_CODES, leave_code_for
from rules.settings import SESSIONS
from rules.texts import penalty_warning, render, short_date
from storage.marks import Actor, set_mark
from storage.models import Contact, LeaveRequest, Pupil


class LeaveError(ValueError):
    pass


def file_leave_request(
    session: Session,
    ctx: SchoolContext,
    pupil: Pupil,
    parsed: Any,
    *,
    text: str,
    contact: Contact | None,
    now: datetime,
    start: date | None = None,
    end: date | None = None,
    requested_by: str | None = None,
) -> LeaveRequest:
    leave = getattr(parsed, "leave", None) if parsed is not None else None
    start = start or (leave.start if leave else None)
    end = end or (leave.end if leave else None) or start
    request = LeaveRequest(
        school_id=ctx.id,
        pupil_id=pupil.id,
        start_date=start or ctx.today(now),
        end_date=end or start or ctx.today(now),
        reason=text[:1000],
        source="parent" if contact else "staff",
        contact_id=contact.id if contact else None,
        requested_by=requested_by or (contact.name if contact else "staff"),
        requested_at=now,
        status="pending",
        code=leave_code_for(text),
        note="" if start else "dates not understood: check the text",
    )
    if request.end_date < request.start_date:
        raise LeaveError(
            f"the leave ends ({request.end_date}) before it starts ({request.start_date})"
        )
    session.add(request)
    session.flush()
    refresh_card(
        session,
        key=f"leave:{request.id}",
        channel=ctx.settings.leave_channel,
        school_id=ctx.id,
        now=now,
    )
    if contact is not None:
        enqueue_sms(
            session,
            key=f"sms:leave-received:{request.id}",
            school_id=ctx.id,
            contact_id=contact.id,
            to=contact.phone,
            kind="leave_received",
            now=now,
            body=render(
                ctx.settings,
                "leave_received",
                school=ctx.settings.name,
                child=pupil.first_name,
                school_phone=ctx.settings.phone,
            ),
        )
    return request


def leave_facts(session: Session, ctx: SchoolContext, request: LeaveRequest) -> dict[str, Any]:
    """What the headteacher needs on the card: days, sessions, notice, attendance, warning."""
    days = ctx.settings.calendar.school_days_between(request.start_date, request.end_date)
    notice = (request.start_date - request.requested_at.astimezone(ctx.settings.tz).date()).days
    policy = ctx.settings.policy
    return {
        "school_days": days,
        "sessions": days * len(SESSIONS),
        "notice_days": notice,
        "notice_short": notice < policy.leave_notice_days,
        "penalty_warning": days >= policy.leave_penalty_warning_days,
        # This school year up to when it was asked: future pre-marks are not attendance yet.
        "attendance": pupil_year(
            session, ctx, session.get_one(Pupil, request.pupil_id), request.requested_at
        ).attendance,
    }


def decide_leave(
    session: Session,
    ctx: SchoolContext,
    request: LeaveRequest,
    *,
    approve: bool,
    decided_by: Actor,
    note: str,
    now: datetime,
    code: str | None = None,
) -> LeaveRequest:
    """The headteacher's decision. Approved sessions are written under the code chosen for
    the leave's reason (`code`, else the request's default), confirmed: the register is
    final for them. Declined days are coded G when the pupil is absent (the sweep)."""
    if request.status != "pending":
        raise LeaveError(f"leave request {request.id} was already {request.status}")
    if code is not None:
        if code not in LEAVE_CODES:
            raise LeaveError(f"{code} is not a leave code; choose one of {', '.join(LEAVE_CODES)}")
        if not approve:
            raise LeaveError("a code is chosen only when approving leave")
        request.code = code
    request.status = "approved" if approve else "declined"
    request.decided_by = f"{decided_by.name} ({decided_by.position})"
    request.decided_at, request.note = now, note
    pupil = session.get_one(Pupil, request.pupil_id)
    if approve:
        for day in ctx.settings.calendar.school_days(request.start_date, request.end_date):
            for label in SESSIONS:
                set_mark(
                    session,
                    pupil_id=pupil.id,
                    day=day,
                    session_label=label,
                    code=request.code,
                    # The headteacher's decision, written ahead of the register ("leave"):
                    # it does not make a class's register taken (bot.workflow.sweep).
                    actor=Actor(decided_by.name, decided_by.position, "leave"),
                    reason=f"leave of absence approved (request {request.id})",
                    now=now,
                )
    facts = leave_facts(session, ctx, request)
    if request.contact_id:
        contact = session.get_one(Contact, request.contact_id)
        warning = (
            penalty_warning(ctx.settings.policy.leave_penalty_warning_days)
            if facts["penalty_warning"] and not approve
            else ""
        )
        template = "leave_approved" if approve else "leave_declined"
        enqueue_sms(
            session,
            key=f"sms:{template}:{request.id}",
            school_id=ctx.id,
            contact_id=contact.id,
            to=contact.phone,
            kind=template,
            now=now,
            body=render(
                ctx.settings,
                template,
                school=ctx.settings.name,
                child=pupil.first_name,
                note=note,
                penalty_warning=warning,
                school_phone=ctx.settings.phone,
                **{"from": short_date(request.start_date), "to": short_date(request.end_date)},
            ),
        )
    refresh_card(
        session,
        key=f"leave:{request.id}",
        channel=ctx.settings.leave_channel,
        school_id=ctx.id,
        now=now,
    )
    return request


def declined_leave_pupils(session: Session, ctx: SchoolContext, day: date) -> set[int]:
    """Pupils absent on a day the headteacher declined leave for: that absence is G."""
    return set(
        session.scalars(
            select(LeaveRequest.pupil_id).where(
                LeaveRequest.school_id == ctx.id,
                LeaveRequest.status == "declined",
                LeaveRequest.start_date <= day,
                LeaveRequest.end_date >= day,
            )
        )
    )
