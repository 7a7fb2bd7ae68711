"""Staff decisions: confirm or change a code, record a late arrival, claim a task, record a
call or home-visit outcome. Each change to the register is an amendment with the staff
member's name and position (storage.marks.set_mark)."""

from __future__ import annotations

from datetime import datetime, time

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.workflow.cases import alert_dsl, log_event, refresh_case_cards
from bot.workflow.marks import marks_arrived
from bot.workflow.school import SchoolContext
from bot.workflow.staff import StaffMember
from bot.workflow.tasks import OUTCOMES, open_task
from rules.codes import PRESENT_MARKS, arrival_code, is_n_code, normalise
from storage.marks import set_mark
from storage.models import (
    OPEN_CASE_STATUSES,
    AbsenceCase,
    CaseStatus,
    Pupil,
    RegisterMark,
    StaffTask,
    TaskStatus,
)


class DecisionError(ValueError):
    pass


def current_case(session: Session, pupil: Pupil) -> AbsenceCase:
    """The pupil's open case or, once they are back, the latest case whose absent sessions
    still carry N or a code nobody has confirmed: those still need a code."""
    case = session.scalar(
        select(AbsenceCase)
        .where(AbsenceCase.pupil_id == pupil.id, AbsenceCase.status.in_(OPEN_CASE_STATUSES))
        .order_by(AbsenceCase.id.desc())
    )
    if case is None:
        latest = session.scalar(
            select(AbsenceCase)
            .where(AbsenceCase.pupil_id == pupil.id)
            .order_by(AbsenceCase.id.desc())
        )
        if latest is not None and has_uncoded_sessions(session, latest):
            return latest
        raise DecisionError(f"{pupil.first_name} {pupil.last_name} has no open absence")
    return case


def _case_marks(session: Session, case: AbsenceCase) -> list[RegisterMark]:
    return list(
        session.scalars(
            select(RegisterMark).where(
                RegisterMark.pupil_id == case.pupil_id,
                RegisterMark.date >= case.opened_on,
                RegisterMark.date <= case.last_absent_on,
            )
        )
    )


def _uncoded(marks: list[RegisterMark]) -> bool:
    return any(is_n_code(m.code) or not m.confirmed for m in marks)


def has_uncoded_sessions(session: Session, case: AbsenceCase) -> bool:
    """Whether any absent session of the case still carries N or an unconfirmed code."""
    return _uncoded(_case_marks(session, case))


def set_case_code(
    session: Session,
    ctx: SchoolContext,
    case: AbsenceCase,
    member: StaffMember,
    *,
    code: str | None,
    reason: str,
    now: datetime,
) -> str:
    """Confirm the provisional code (code None) or set another, on every session of the case
    that is still N or provisional."""
    marks = _case_marks(session, case)
    # An ended case (the pupil is back) still has its absent sessions to code.
    if case.status not in OPEN_CASE_STATUSES and not _uncoded(marks):
        raise DecisionError("that absence is closed")
    final = normalise(code) if code else (case.confirmed_code or case.provisional_code or None)
    if not final or is_n_code(final):
        raise DecisionError(
            "there is no provisional code to approve yet; give one: /absence code PUPIL CODE REASON"
        )
    if final in PRESENT_MARKS:
        raise DecisionError(f"{final} means present; use /absence arrived for a late arrival")
    for mark in marks:
        # N, anything still provisional, and (a correction) what this case confirmed before.
        if (
            is_n_code(mark.code)
            or not mark.confirmed
            or (case.confirmed_code and mark.code == case.confirmed_code)
        ):
            set_mark(
                session,
                pupil_id=mark.pupil_id,
                day=mark.date,
                session_label=mark.session,
                code=final,
                actor=member.actor,
                reason=reason,
                now=now,
                existing=mark,
            )
    case.confirmed_code = final
    if case.status in OPEN_CASE_STATUSES:
        case.status = CaseStatus.CONFIRMED
    log_event(
        session, case, "code_confirmed", now, actor=member.staff.name, code=final, reason=reason
    )
    refresh_case_cards(session, ctx, case, now)
    return final


def arrived(
    session: Session,
    ctx: SchoolContext,
    pupil: Pupil,
    member: StaffMember,
    *,
    at: time,
    now: datetime,
) -> str:
    """A late arrival, booked to the session it falls in (AM until the AM ends, then PM):
    present by that session's close, L by its late cut-off, U after. The mark reaches the
    case like any other mark (bot.workflow.marks)."""
    label = ctx.session_at(at)
    times = ctx.settings.sessions[label]
    today = ctx.today(now)
    code = arrival_code(label, at, times.register_closes, times.late_cutoff)
    minutes = max(
        0, int((ctx.at(today, at) - ctx.register_closes(today, label)).total_seconds() // 60)
    )
    set_mark(
        session,
        pupil_id=pupil.id,
        day=today,
        session_label=label,
        code=code,
        actor=member.actor,
        reason=f"arrived {at.strftime('%H:%M')}",
        now=now,
        minutes_late=minutes or None,
    )
    session.flush()
    marks_arrived(session, [(pupil.id, today, label)], now)
    return code


def claim_task(
    session: Session, ctx: SchoolContext, task: StaffTask, member: StaffMember, now: datetime
) -> StaffTask:
    if task.status == TaskStatus.DONE:
        raise DecisionError("that task is already done")
    if task.claimed_by and task.claimed_by != member.staff.slack_user_id:
        raise DecisionError("someone else has already claimed that task")
    task.status, task.claimed_by = TaskStatus.CLAIMED, member.staff.slack_user_id
    _touch(session, ctx, task, now, "task_claimed", member)
    return task


def record_outcome(
    session: Session,
    ctx: SchoolContext,
    task: StaffTask,
    member: StaffMember,
    *,
    outcome: str,
    note: str,
    now: datetime,
) -> StaffTask:
    if outcome not in OUTCOMES:
        raise DecisionError(f"unknown outcome {outcome!r}")
    if task.status == TaskStatus.DONE:
        raise DecisionError(
            f"that task is already done ({OUTCOMES.get(task.outcome or '', 'done').lower()})"
        )
    task.status, task.outcome, task.outcome_note, task.done_at = (
        TaskStatus.DONE,
        outcome,
        note,
        now,
    )
    task.claimed_by = task.claimed_by or member.staff.slack_user_id
    case = session.get(AbsenceCase, task.case_id) if task.case_id else None
    if case is not None:
        if outcome in ("reason_given", "safe_and_well"):
            case.contact_reached = True
        if outcome == "home_visit_needed":
            open_task(
                session,
                ctx,
                case,
                kind="home_visit",
                role="office",
                key=f"case:{case.id}:home_visit:from-task:{task.id}",
                now=now,
            )
        if outcome == "concern":
            case.safeguarding = True
            alert_dsl(
                session,
                ctx,
                case,
                now,
                why=f"concern after the {task.kind.replace('_', ' ')}: {note}".rstrip(": "),
            )
    _touch(session, ctx, task, now, "task_done", member, outcome=outcome)
    return task


def _touch(
    session: Session,
    ctx: SchoolContext,
    task: StaffTask,
    now: datetime,
    kind: str,
    member: StaffMember,
    **detail: object,
) -> None:
    case = session.get(AbsenceCase, task.case_id) if task.case_id else None
    if case is not None:
        log_event(session, case, kind, now, actor=member.staff.name, task=task.kind, **detail)
        refresh_case_cards(session, ctx, case, now)
