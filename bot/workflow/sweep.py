"""Register closed: find every unexplained absence, open or continue its case, and text
each contact once for all of that contact's absent children.

No false alarms: a class whose register was not taken gets one card for the office and no
texts; a sweep that would text more than the policy's share of the roll holds everything
and asks the office to confirm with one button."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.workflow.cards import post_notice, refresh_card, refresh_cards
from bot.workflow.cases import (
    alert_dsl,
    case_cards,
    log_event,
    open_cases_for,
    refresh_case_cards,
    snapshot_ladder,
    text_contact,
    textable_contacts,
)
from bot.workflow.leave import declined_leave_pupils
from bot.workflow.school import SchoolContext
from bot.workflow.tasks import open_task
from messaging.outbox import Outgoing, enqueue_all
from rules.codes import is_n_code, lookup
from rules.settings import SESSIONS
from storage.marks import Actor, set_mark
from storage.models import AbsenceCase, CaseStatus, LeaveRequest, Pupil, RegisterMark, RegisterSweep

SYSTEM = Actor("FirstCall", "automatic register-close sweep", "system")
# A reason that covers the following days too when the parent said how long.
CARRIED_REASONS = frozenset({"illness", "medical", "religious", "bereavement", "holiday"})


@dataclass
class SweepResult:
    status: str  # done, held, already
    absent: list[int] = field(default_factory=list)  # case ids with an unexplained absence
    new_cases: list[int] = field(default_factory=list)
    texts: int = 0
    not_taken: list[str] = field(default_factory=list)


def due_sessions(session: Session, ctx: SchoolContext, now: datetime) -> list[tuple[date, str]]:
    """Today's sessions whose register has closed and that have not been swept. A worker
    that was down catches up on today only: yesterday's absences are for staff, not a text
    that reads "was not in school this morning"."""
    today = ctx.today(now)
    if not ctx.is_school_day(today):
        return []
    swept = set(
        session.scalars(
            select(RegisterSweep.session).where(
                RegisterSweep.school_id == ctx.id, RegisterSweep.date == today
            )
        )
    )
    return [
        (today, label)
        for label in SESSIONS
        if label not in swept and ctx.register_closes(today, label) <= now
    ]


def register_closed(
    session: Session, ctx: SchoolContext, day: date, session_label: str, now: datetime
) -> SweepResult:
    if session.scalar(
        select(RegisterSweep.id).where(
            RegisterSweep.school_id == ctx.id,
            RegisterSweep.date == day,
            RegisterSweep.session == session_label,
        )
    ):
        return SweepResult(status="already")
    sweep = RegisterSweep(
        school_id=ctx.id, date=day, session=session_label, status="done", swept_at=now, summary={}
    )
    session.add(sweep)
    session.flush()

    pupils = {
        p.id: p
        for p in session.scalars(
            select(Pupil).where(Pupil.school_id == ctx.id, Pupil.on_roll.is_(True))
        )
    }
    marks = {
        m.pupil_id: m
        for m in session.scalars(
            select(RegisterMark)
            .join(Pupil, Pupil.id == RegisterMark.pupil_id)
            .where(
                Pupil.school_id == ctx.id,
                RegisterMark.date == day,
                RegisterMark.session == session_label,
            )
        )
    }
    by_class: dict[str, list[Pupil]] = defaultdict(list)
    for pupil in pupils.values():
        by_class[pupil.class_name].append(pupil)
    not_taken = sorted(
        name
        for name, members in by_class.items()
        if all(marks.get(p.id) is None or marks[p.id].code is None for p in members)
    )
    on_leave = _approved_leave(session, ctx, day)
    declined = declined_leave_pupils(session, ctx, day)
    result = SweepResult(status="done", not_taken=not_taken)
    taken = [p for p in pupils.values() if p.class_name not in not_taken]
    cases = open_cases_for(session, [p.id for p in taken])

    new_cases: list[AbsenceCase] = []
    for pupil in taken:
        mark = marks.get(pupil.id)
        code = mark.code if mark else None
        case = cases.get(pupil.id)
        if code is not None and not is_n_code(code):
            if case is not None:
                _not_absent_now(ctx, case, code, day, now)
            continue
        if pupil.id in on_leave:
            continue
        if pupil.id in declined:
            _leave_not_granted(session, ctx, pupil, case, day, session_label, now, mark)
            continue
        if mark is None:
            set_mark(
                session,
                pupil_id=pupil.id,
                day=day,
                session_label=session_label,
                code="N",
                actor=SYSTEM,
                reason="no mark when the register closed",
                now=now,
                existing=None,
            )
        if case is None:
            case = AbsenceCase(
                school_id=ctx.id,
                pupil_id=pupil.id,
                opened_on=day,
                opened_session=session_label,
                last_absent_on=day,
                status=CaseStatus.OPEN,
                ladder=snapshot_ladder(ctx),
                steps_done=[],
                opened_at=now,
                next_due_at=now,
            )
            session.add(case)
            new_cases.append(case)
        else:
            _continue(session, ctx, case, pupil, day, session_label, now, mark)
        result.absent.append(pupil.id)
    session.flush()
    result.new_cases = [c.id for c in new_cases]

    for class_name in not_taken:
        post_notice(
            session,
            key=f"not-taken:{ctx.id}:{day}:{session_label}:{class_name}",
            channel=ctx.settings.office_channel,
            school_id=ctx.id,
            now=now,
            notice="register_not_taken",
            class_name=class_name,
            session_label=session_label,
            day=day.isoformat(),
        )

    roll = len(pupils)
    if new_cases and len(new_cases) > ctx.settings.policy.mass_absence_share * roll:
        sweep.status = "held"
        refresh_card(
            session,
            key=f"sweep:{sweep.id}",
            channel=ctx.settings.office_channel,
            school_id=ctx.id,
            now=now,
        )
    else:
        result.texts = start_cases(session, ctx, new_cases, pupils, day, session_label, now)
    sweep.summary = {
        "absent": len(result.absent),
        "new_cases": len(new_cases),
        "texts": result.texts,
        "not_taken": not_taken,
        "roll": roll,
    }
    result.status = sweep.status
    return result


def release_held(session: Session, ctx: SchoolContext, sweep_id: int, now: datetime) -> SweepResult:
    """The office confirmed a held sweep: send its texts now (once)."""
    sweep = session.get(RegisterSweep, sweep_id)
    if sweep is None or sweep.school_id != ctx.id:
        raise LookupError("that register sweep no longer exists")
    if sweep.status != "held":
        return SweepResult(status="already")
    sweep.status = "released"
    cases = list(
        session.scalars(
            select(AbsenceCase).where(
                AbsenceCase.school_id == ctx.id,
                AbsenceCase.opened_on == sweep.date,
                AbsenceCase.opened_session == sweep.session,
                AbsenceCase.first_text_at.is_(None),
                AbsenceCase.status == CaseStatus.OPEN,
            )
        )
    )
    pupils = {
        p.id: p
        for p in session.scalars(select(Pupil).where(Pupil.id.in_([c.pupil_id for c in cases])))
    }
    texts = start_cases(session, ctx, cases, pupils, sweep.date, sweep.session, now)
    refresh_card(
        session,
        key=f"sweep:{sweep.id}",
        channel=ctx.settings.office_channel,
        school_id=ctx.id,
        now=now,
    )
    return SweepResult(status="released", new_cases=[c.id for c in cases], texts=texts)


def start_cases(
    session: Session,
    ctx: SchoolContext,
    cases: list[AbsenceCase],
    pupils: dict[int, Pupil],
    day: date,
    session_label: str,
    now: datetime,
) -> int:
    """First texts (one per contact, naming all of that contact's absent children), cards,
    DSL alerts for vulnerable pupils, and a call task where nobody can be texted."""
    contacts = textable_contacts(session, [c.pupil_id for c in cases])
    per_contact: dict[int, list[AbsenceCase]] = defaultdict(list)
    contact_rows = {}
    for case in cases:
        options = contacts.get(case.pupil_id, [])
        if options:
            per_contact[options[0].id].append(case)
            contact_rows[options[0].id] = options[0]
        else:
            log_event(session, case, "no_textable_contact", now)
            open_task(
                session,
                ctx,
                case,
                kind="call",
                role="office",
                key=f"case:{case.id}:call:no-textable-contact",
                now=now,
                why="no contact can be texted",
            )
    texts: list[Outgoing] = []
    for contact_id, group in per_contact.items():
        text_contact(
            session,
            ctx,
            contact_rows[contact_id],
            group,
            pupils,
            template="first_contact",
            step="first",
            day=day,
            session_label=session_label,
            now=now,
            queue=texts,
        )
    enqueue_all(session, texts, now=now)
    cards: list[tuple[str, str]] = []
    for case in cases:
        case.next_due_at = now
        if pupils[case.pupil_id].is_vulnerable:
            alert_dsl(session, ctx, case, now, why="vulnerable pupil absent without a reason")
        else:
            cards += case_cards(ctx, case)
    refresh_cards(session, cards, school_id=ctx.id, now=now)
    return len(per_contact)


def _continue(
    session: Session,
    ctx: SchoolContext,
    case: AbsenceCase,
    pupil: Pupil,
    day: date,
    session_label: str,
    now: datetime,
    mark: RegisterMark | None,
) -> None:
    """The pupil is absent again without a reason on the register."""
    carried = (
        case.status in (CaseStatus.EXPLAINED, CaseStatus.CONFIRMED)
        and case.reason in CARRIED_REASONS
        and (case.return_date is None or case.return_date > day)
    )
    code = case.confirmed_code or case.provisional_code
    if carried and code:
        # The parent said how long: carry the reason to this session, for staff to confirm.
        set_mark(
            session,
            pupil_id=pupil.id,
            day=day,
            session_label=session_label,
            code=code,
            actor=SYSTEM,
            reason=f"continuing absence: {case.reason}",
            now=now,
            confirmed=False,
            existing=mark,
        )
        if case.last_absent_on != day:
            case.last_absent_on = day
            case.next_due_at = now
            log_event(session, case, "continued", now, session=session_label, carried=code)
        return
    if case.last_absent_on == day:
        return  # the PM register after this morning's: the family was texted already
    case.last_absent_on = day
    case.status, case.provisional_code, case.confirmed_code = CaseStatus.OPEN, None, None
    case.next_due_at = now
    log_event(session, case, "continued", now, session=session_label)
    refresh_case_cards(session, ctx, case, now)


def _not_absent_now(
    ctx: SchoolContext, case: AbsenceCase, code: str, day: date, now: datetime
) -> None:
    """A code other than N: back in school, or a reason already on the register."""
    if lookup(code).attended and case.confirmed_code and case.last_absent_on < day:
        case.status, case.closed_at, case.next_due_at = CaseStatus.CLOSED, now, None


def _leave_not_granted(
    session: Session,
    ctx: SchoolContext,
    pupil: Pupil,
    case: AbsenceCase | None,
    day: date,
    session_label: str,
    now: datetime,
    mark: RegisterMark | None,
) -> None:
    """Absent on a day the headteacher declined leave for: G, for the office to confirm. The
    family knows why the school is asking, so no "was not in school" text goes out."""
    set_mark(
        session,
        pupil_id=pupil.id,
        day=day,
        session_label=session_label,
        code="G",
        actor=SYSTEM,
        reason="absent during leave the headteacher declined",
        now=now,
        confirmed=False,
        existing=mark,
    )
    if case is None:
        case = AbsenceCase(
            school_id=ctx.id,
            pupil_id=pupil.id,
            opened_on=day,
            opened_session=session_label,
            last_absent_on=day,
            status=CaseStatus.EXPLAINED,
            reason="holiday",
            provisional_code="G",
            ladder=snapshot_ladder(ctx),
            steps_done=[],
            opened_at=now,
            next_due_at=now,
        )
        session.add(case)
        session.flush()
        log_event(session, case, "leave_not_granted", now, session=session_label)
    elif case.last_absent_on != day:
        case.last_absent_on, case.next_due_at = day, now
        log_event(session, case, "continued", now, session=session_label, carried="G")
    refresh_case_cards(session, ctx, case, now)


def _approved_leave(session: Session, ctx: SchoolContext, day: date) -> set[int]:
    return set(
        session.scalars(
            select(LeaveRequest.pupil_id).where(
                LeaveRequest.school_id == ctx.id,
                LeaveRequest.status == "approved",
                LeaveRequest.start_date <= day,
                LeaveRequest.end_date >= day,
            )
        )
    )
