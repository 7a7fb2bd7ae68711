"""Register closed: find every unexplained absence, open or continue its case, and text
each contact once for all of that contact's absent children.

No false alarms: a class whose register was not taken gets one card for the office and no
texts; a sweep that would text more than the policy's share of the roll holds everything
and asks the office to confirm with one button."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.workflow.cards import refresh_card, refresh_cards
from bot.workflow.cases import (
    alert_dsl,
    case_cards,
    end_case,
    log_event,
    open_cases_for,
    refresh_case_cards,
    snapshot_ladder,
    stop_chasing,
    text_contact,
    textable_contacts,
)
from bot.workflow.leave import declined_leave_pupils
from bot.workflow.school import SchoolContext
from bot.workflow.tasks import open_task
from messaging.outbox import Outgoing, enqueue_all
from rules.codes import in_school, is_absence_needing_reason, is_n_code, lookup
from rules.settings import SESSIONS
from storage.marks import Actor, set_mark
from storage.models import AbsenceCase, CaseStatus, LeaveRequest, Pupil, RegisterMark, RegisterSweep

SYSTEM = Actor("FirstCall", "automatic register-close sweep", "system")


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
    if _sweep_of(session, ctx, day, session_label) is not None:
        return SweepResult(status="already")
    sweep = RegisterSweep(
        school_id=ctx.id, date=day, session=session_label, status="done", swept_at=now, summary={}
    )
    session.add(sweep)
    session.flush()

    pupils = _on_roll(session, ctx)
    marks = _marks(session, ctx, day, session_label)
    by_class: dict[str, list[Pupil]] = defaultdict(list)
    for pupil in pupils.values():
        by_class[pupil.class_name].append(pupil)
    not_taken = sorted(
        name
        for name, members in by_class.items()
        if not any(_from_the_register(marks.get(p.id)) for p in members)
    )
    taken = [p for p in pupils.values() if p.class_name not in not_taken]
    result = SweepResult(status="done", not_taken=not_taken)
    sweep.summary = {"roll": len(pupils), "not_taken": not_taken, "late": {}}
    result.absent, new_cases = _sweep_pupils(session, ctx, day, session_label, taken, marks, now)
    result.new_cases = [c.id for c in new_cases]
    result.texts = _start_or_hold(session, ctx, sweep, new_cases, pupils, now)
    sweep.summary = {
        **sweep.summary,
        "absent": len(result.absent),
        "new_cases": len(new_cases),
        "texts": result.texts,
    }
    if not_taken:
        _refresh_sweep_card(session, ctx, sweep, now)
    result.status = sweep.status
    return result


def sweep_late(
    session: Session,
    ctx: SchoolContext,
    sweep: RegisterSweep,
    pupil_ids: set[int],
    now: datetime,
) -> SweepResult:
    """Marks for an already swept session arrived after its close: a class whose register
    was not taken is swept now that it is, and a pupil newly marked absent (no mark or N)
    gets a case, as at the close, while the session has not ended (its `ends`). After the
    end the card says the register came too late for texts; staff follow those up."""
    result = SweepResult(status=sweep.status)
    pupils = _on_roll(session, ctx)
    marks = _marks(session, ctx, sweep.date, sweep.session)
    not_taken = list(sweep.summary.get("not_taken", []))
    now_taken = sorted(
        {
            pupils[pid].class_name
            for pid in pupil_ids
            if pid in pupils
            and pupils[pid].class_name in not_taken
            and _from_the_register(marks.get(pid))
        }
    )
    in_time = now <= ctx.session_ends(sweep.date, sweep.session)
    candidates = [p for p in pupils.values() if p.class_name in now_taken]
    already = open_cases_for(session, pupil_ids)
    candidates += [
        pupils[pid]
        for pid in sorted(pupil_ids)
        if pid in pupils
        and pupils[pid].class_name not in not_taken
        and pid not in already
        and (marks.get(pid) is None or is_absence_needing_reason(marks[pid].code))
    ]
    if now_taken:
        local = ctx.local(now).strftime("%H:%M")
        key = "late" if in_time else "too_late"
        sweep.summary = {
            **sweep.summary,
            "not_taken": [c for c in not_taken if c not in now_taken],
            key: {**sweep.summary.get(key, {}), **dict.fromkeys(now_taken, local)},
        }
        _refresh_sweep_card(session, ctx, sweep, now)
    if not in_time or not candidates:
        return result
    result.absent, new_cases = _sweep_pupils(
        session, ctx, sweep.date, sweep.session, candidates, marks, now
    )
    result.new_cases = [c.id for c in new_cases]
    if sweep.status == "held":
        return result  # the office's one button sends these with the rest
    result.texts = _start_or_hold(session, ctx, sweep, new_cases, pupils, now)
    result.status = sweep.status
    return result


def _from_the_register(mark: RegisterMark | None) -> bool:
    """A mark the class's register gave (the MIS, a member of staff), not one FirstCall or a
    leave decision wrote ahead of it: only these show that the register was taken."""
    return mark is not None and mark.code is not None and mark.source not in ("leave", "system")


def _sweep_of(
    session: Session, ctx: SchoolContext, day: date, session_label: str
) -> RegisterSweep | None:
    return session.scalar(
        select(RegisterSweep).where(
            RegisterSweep.school_id == ctx.id,
            RegisterSweep.date == day,
            RegisterSweep.session == session_label,
        )
    )


def _on_roll(session: Session, ctx: SchoolContext) -> dict[int, Pupil]:
    return {
        p.id: p
        for p in session.scalars(
            select(Pupil).where(Pupil.school_id == ctx.id, Pupil.on_roll.is_(True))
        )
    }


def _marks(
    session: Session, ctx: SchoolContext, day: date, session_label: str
) -> dict[int, RegisterMark]:
    return {
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


def _sweep_pupils(
    session: Session,
    ctx: SchoolContext,
    day: date,
    session_label: str,
    pupils: list[Pupil],
    marks: dict[int, RegisterMark],
    now: datetime,
) -> tuple[list[int], list[AbsenceCase]]:
    """Each pupil's mark for the session against their case: in school ends it; a reason on
    the register explains it; absent without one opens or continues it. Returns the absent
    pupils and the new cases (flushed, not yet texted)."""
    on_leave = _approved_leave(session, ctx, day)
    declined = declined_leave_pupils(session, ctx, day)
    cases = open_cases_for(session, [p.id for p in pupils])
    absent: list[int] = []
    new_cases: list[AbsenceCase] = []
    for pupil in pupils:
        mark = marks.get(pupil.id)
        code = mark.code if mark else None
        case = cases.get(pupil.id)
        if mark is not None and code is not None and not is_n_code(code):
            if case is not None:
                register_shows(session, ctx, case, mark, now)
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
            case = _new_case(ctx, pupil, day, session_label, now)
            session.add(case)
            new_cases.append(case)
        else:
            _continue(session, ctx, case, pupil, day, session_label, now, mark)
        absent.append(pupil.id)
    session.flush()
    return absent, new_cases


def _new_case(
    ctx: SchoolContext, pupil: Pupil, day: date, session_label: str, now: datetime, **fields: Any
) -> AbsenceCase:
    values: dict[str, Any] = {
        "school_id": ctx.id,
        "pupil_id": pupil.id,
        "opened_on": day,
        "opened_session": session_label,
        "last_absent_on": day,
        "status": CaseStatus.OPEN,
        "ladder": snapshot_ladder(ctx),
        "steps_done": [],
        "opened_at": now,
        "next_due_at": now,
    }
    return AbsenceCase(**{**values, **fields})


def _start_or_hold(
    session: Session,
    ctx: SchoolContext,
    sweep: RegisterSweep,
    new_cases: list[AbsenceCase],
    pupils: dict[int, Pupil],
    now: datetime,
) -> int:
    """Text for the new cases, unless there are more than the policy's share of the roll:
    then hold them all for the office's one button."""
    if new_cases and len(new_cases) > ctx.settings.policy.mass_absence_share * len(pupils):
        sweep.status = "held"
        sweep.summary = {**sweep.summary, "new_cases": len(new_cases)}
        _refresh_sweep_card(session, ctx, sweep, now)
        return 0
    return start_cases(session, ctx, new_cases, pupils, sweep.date, sweep.session, now)


def _refresh_sweep_card(
    session: Session, ctx: SchoolContext, sweep: RegisterSweep, now: datetime
) -> None:
    refresh_card(
        session,
        key=f"sweep:{sweep.id}",
        channel=ctx.settings.office_channel,
        school_id=ctx.id,
        now=now,
    )


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
    _refresh_sweep_card(session, ctx, sweep, now)
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
    """The pupil is absent again, the register giving no reason. A reason the family gave
    covers the rest of that day, and the days before the return date they gave ("off till
    Monday"); any other day they are asked again."""
    code = case.confirmed_code or case.provisional_code
    covered = case.last_absent_on == day or (
        case.return_date is not None and day < case.return_date
    )
    if (
        case.status in (CaseStatus.EXPLAINED, CaseStatus.CONFIRMED)
        and code
        and not is_n_code(code)
        and covered
    ):
        set_mark(
            session,
            pupil_id=pupil.id,
            day=day,
            session_label=session_label,
            code=code,
            actor=SYSTEM,
            reason=f"continuing absence: {case.reason or code}"
            + (f", back {case.return_date.isoformat()}" if case.return_date else ""),
            now=now,
            confirmed=False,
            existing=mark,
        )
        if case.last_absent_on != day:
            case.last_absent_on = day
            case.next_due_at = now
            log_event(session, case, "continued", now, session=session_label, carried=code)
            refresh_case_cards(session, ctx, case, now)
        return
    if case.last_absent_on == day:
        return  # the PM register after this morning's: the family was texted already
    case.last_absent_on = day
    case.status, case.provisional_code, case.confirmed_code = CaseStatus.OPEN, None, None
    case.reason, case.return_date, case.expected_arrival = None, None, None
    case.next_due_at = now
    log_event(session, case, "continued", now, session=session_label)
    refresh_case_cards(session, ctx, case, now)


def register_shows(
    session: Session, ctx: SchoolContext, case: AbsenceCase, mark: RegisterMark, now: datetime
) -> None:
    """A code other than N on the register for a session of this absence. In school (present,
    late, an approved activity): the case ends. A reason (the office took a call, the MIS
    holds leave): the case is explained by the school and nobody chases the family."""
    code = mark.code
    if code is None or is_n_code(code):
        return
    if in_school(code):
        if (mark.date, SESSIONS.index(mark.session)) < (
            case.opened_on,
            SESSIONS.index(case.opened_session),
        ):
            return  # a correction to a session before this absence began
        arrived = (
            ctx.register_closes(mark.date, mark.session) + timedelta(minutes=mark.minutes_late)
            if mark.minutes_late
            else None
        )
        end_case(
            session,
            ctx,
            case,
            now,
            kind="arrived",
            code=code,
            day=mark.date.isoformat(),
            session=mark.session,
            at=ctx.local(arrived).strftime("%H:%M") if arrived else None,
        )
        return
    if mark.source in ("system", "parent") or code == case.confirmed_code:
        return  # FirstCall's own entry (a carried or parent's reason), already on the case
    if code != (case.confirmed_code or case.provisional_code):
        # The register now says why, and differently: its reason replaces the family's, so
        # the card never reads "family_event · code I".
        case.reason = lookup(code).meaning
    if mark.confirmed:
        case.status, case.confirmed_code = CaseStatus.CONFIRMED, code
    else:
        case.status, case.provisional_code = CaseStatus.EXPLAINED, code
    case.reason = case.reason or lookup(code).meaning
    case.last_absent_on = max(case.last_absent_on, mark.date)
    stop_chasing(session, ctx, case, f"the register shows {code}", task_kinds=("call",))
    log_event(session, case, "register_reason", now, code=code, session=mark.session)
    refresh_case_cards(session, ctx, case, now)


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
        case = _new_case(
            ctx,
            pupil,
            day,
            session_label,
            now,
            status=CaseStatus.EXPLAINED,
            reason="holiday",
            provisional_code="G",
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
