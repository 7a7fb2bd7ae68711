"""Reply received: read a parent's text into a reason and a provisional code for each of
their children's open cases, acknowledge it, and put it in front of the right staff."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from bot.workflow.cards import post_notice
from bot.workflow.cases import (
    TEXT_FAILED,
    alert_dsl,
    family_groups,
    log_event,
    refresh_case_cards,
    stop_chasing,
)
from bot.workflow.dsl import raise_text_alert
from bot.workflow.leave import file_leave_request
from bot.workflow.school import SchoolContext, context_for
from bot.workflow.tasks import TASK_KINDS, open_task
from messaging.optout import record_opt_out
from messaging.outbox import enqueue_sms
from rules.acknowledgement import outside_quiet_period
from rules.arrivals import expected_by, expected_code
from rules.codes import N_CODE, is_absence_needing_reason, is_n_code
from rules.dsl_chain import within_day
from rules.replies import ParsedReply, parse_reply
from rules.texts import acknowledgement_template, children_phrase, render, short_date
from storage.marks import Actor, set_mark
from storage.models import (
    OPEN_CASE_STATUSES,
    AbsenceCase,
    CaseEvent,
    CaseStatus,
    Contact,
    Message,
    MessageCase,
    OutboxItem,
    Pupil,
    PupilContact,
    RegisterMark,
    School,
    StaffTask,
    TaskStatus,
)

PARENT = "parent"
ACKNOWLEDGED = "acknowledged"


def reply_received(
    session: Session, message: Message, contacts: Sequence[Contact], now: datetime
) -> None:
    """The bot's handler for an inbound text from a known number (messaging's callback)."""
    for contact in contacts:
        ctx = context_for(session.get_one(School, contact.school_id))
        _reply_for_school(session, ctx, message, contact, now)


def _reply_for_school(
    session: Session, ctx: SchoolContext, message: Message, contact: Contact, now: datetime
) -> None:
    today = ctx.today(now)
    links = session.execute(
        select(Pupil, PupilContact)
        .join(PupilContact, PupilContact.pupil_id == Pupil.id)
        .where(
            PupilContact.contact_id == contact.id,
            PupilContact.no_contact.is_(False),
            Pupil.on_roll.is_(True),
        )
    ).all()
    children = {pupil.id: pupil for pupil, _ in links}
    # Each case with when it was last acknowledged (to anyone): a case acknowledged within the
    # quiet period is looked at again, for this contact, only then.
    last_ack = (
        select(func.max(CaseEvent.at))
        .where(CaseEvent.case_id == AbsenceCase.id, CaseEvent.kind == ACKNOWLEDGED)
        .correlate(AbsenceCase)
        .scalar_subquery()
    )
    # ...and whether the office has a call to make about it: a reason makes that call
    # unnecessary (as a reason in the register does).
    open_call = (
        select(StaffTask.id)
        .where(
            StaffTask.case_id == AbsenceCase.id,
            StaffTask.kind == "call",
            StaffTask.status != TaskStatus.DONE,
        )
        .correlate(AbsenceCase)
        .exists()
    )
    rows = session.execute(
        select(AbsenceCase, last_ack, open_call)
        .where(AbsenceCase.pupil_id.in_(list(children)), AbsenceCase.status.in_(OPEN_CASE_STATUSES))
        .order_by(AbsenceCase.last_absent_on.desc(), AbsenceCase.id)
        # One reply at a time per case: the code, and the quiet period's acknowledgement.
        .with_for_update(of=AbsenceCase)
    ).all()
    cases = [case for case, _, _ in rows]
    acknowledged = {case.id: at for case, at, _ in rows}
    calls_open = {case.id for case, _, calling in rows if calling}
    # Today's cases first: a reply answers this morning's text, not last week's.
    todays = [c for c in cases if c.last_absent_on == today] or cases
    names = [children[c.pupil_id].first_name for c in todays] or [
        p.first_name for p in children.values()
    ]
    parsed = parse_reply(message.body, today, names, is_school_day=ctx.is_school_day)
    message.parse = parsed.to_json()

    opted_out = parsed.intent == "opt_out"
    if opted_out:
        record_opt_out(session, contact.phone, keyword="reply", now=now)
        opt_change(session, contact.phone, [contact], opted_out=True, now=now)
        # The number is opted out and gets no answer, but what the reply says still counts:
        # "he hasn't been home since last night" reaches the DSL, who will ring, and "he's
        # ill, stop texting me" explains today, so nobody rings a family that has answered.
        if not parsed.safeguarding and parsed.code is None:
            return
    if parsed.intent == "leave_request" or parsed.leave is not None:
        # A leave request, or today's reason with a future leave beside it ("ill today, and
        # can she have Friday off for Eid"): the leave goes to the headteacher either way.
        pupils = _named(parsed, list(children.values()))
        if not pupils and parsed.intent != "leave_request":
            pupils = [children[c.pupil_id] for c in todays]
        for pupil in pupils or list(children.values())[:1]:
            file_leave_request(
                session, ctx, pupil, parsed, text=message.body, contact=contact, now=now
            )
    if not todays:
        _late_reply(
            session,
            ctx,
            message,
            contact,
            parsed,
            list(children.values()),
            now,
            answer=not opted_out,
        )
        return
    if parsed.intent == "leave_request" and parsed.code is None:
        for case in todays:
            session.add(MessageCase(message_id=message.id, case_id=case.id))
        return
    answered = [c for c in todays if _concerns(parsed, children[c.pupil_id])] or todays
    for case in todays:
        session.add(MessageCase(message_id=message.id, case_id=case.id))
    for case in answered:
        _apply(
            session,
            ctx,
            case,
            children[case.pupil_id],
            parsed,
            message,
            now,
            open_call=case.id in calls_open,
        )
    if opted_out:
        return
    # A risk sign is always answered (a call, 999): the quiet period is for routine replies.
    if not parsed.safeguarding and not _quiet_period_allows(
        session, ctx, contact, answered, [acknowledged[c.id] for c in answered], now
    ):
        return
    # A number shared by two families gets one answer per family: no text names another
    # family's children (rules/families.py).
    for part, family in enumerate(family_groups(session, contact, answered, children)):
        acknowledge(
            session,
            ctx,
            message,
            contact,
            parsed,
            [children[c.pupil_id].first_name for c in family],
            [c.id for c in family],
            now,
            part=part,
        )


def acknowledge(
    session: Session,
    ctx: SchoolContext,
    message: Message,
    contact: Contact,
    parsed: ParsedReply,
    names: Sequence[str],
    case_ids: Sequence[int],
    now: datetime,
    *,
    part: int = 0,
) -> None:
    """Answer a reply: the one place its acknowledgement is chosen and queued (`part`: the
    second and later family on a shared number)."""
    enqueue_sms(
        session,
        key=f"sms:ack:{message.id}" + (f":{part}" if part else ""),
        school_id=ctx.id,
        contact_id=contact.id,
        to=contact.phone,
        kind="acknowledgement",
        case_ids=list(case_ids),
        now=now,
        body=acknowledgement(ctx, parsed, names, now),
    )


def acknowledgement(
    ctx: SchoolContext, parsed: ParsedReply, names: Sequence[str], now: datetime
) -> str:
    """The text that answers a reply. A reply the DSL must see gets a promise of a call and
    999 if it cannot wait (and, for a missing child, "ring the school now"); out of school
    hours it says when the school opens."""
    template = acknowledgement_template(
        safeguarding=parsed.safeguarding,
        missing="missing" in parsed.indicators,
        school_open=ctx.is_open(now),
    )
    policy = ctx.settings.policy
    opens = ctx.local(within_day(now, policy.school_day, ctx.is_staffed_day, ctx.settings.tz))
    return render(
        ctx.settings,
        template,
        school=ctx.settings.name,
        children=children_phrase(names),
        school_phone=ctx.settings.phone,
        opens=f"{short_date(opens.date())} at {opens:%H:%M}"
        if opens.date() != ctx.today(now)
        else f"at {opens:%H:%M}",
    )


def _quiet_period_allows(
    session: Session,
    ctx: SchoolContext,
    contact: Contact,
    cases: Sequence[AbsenceCase],
    last_acknowledged: Sequence[datetime | None],
    now: datetime,
) -> bool:
    """Whether to acknowledge this reply (the school's quiet period); if so, it is recorded
    on each case, so the next reply within the period is not. `last_acknowledged`: when each
    case was last acknowledged to anyone."""
    quiet = timedelta(minutes=ctx.settings.policy.acknowledgement_quiet_minutes)
    if not outside_quiet_period([at for at in last_acknowledged if at is not None], now, quiet):
        # Acknowledged within the period: to this contact, or to another one?
        with session.no_autoflush:  # acknowledgements are logged only below
            recent = session.execute(
                select(CaseEvent.at, CaseEvent.detail).where(
                    CaseEvent.case_id.in_([c.id for c in cases]),
                    CaseEvent.kind == ACKNOWLEDGED,
                    CaseEvent.at > now - quiet,
                )
            ).all()
        mine = [at for at, detail in recent if detail.get("contact") == contact.id]
        if not outside_quiet_period(mine, now, quiet):
            return False
    for case in cases:
        log_event(session, case, ACKNOWLEDGED, now, contact=contact.id)
    return True


def _concerns(parsed: ParsedReply, pupil: Pupil) -> bool:
    """Whether a reply speaks for this child. "Dylan has a temperature" answers for Dylan, not
    for his brother, whose case keeps escalating; risk in a reply counts for every child."""
    if parsed.safeguarding or not parsed.per_child:
        return True
    return not is_absence_needing_reason(parsed.per_child.get(pupil.first_name, parsed.code))


def _apply(
    session: Session,
    ctx: SchoolContext,
    case: AbsenceCase,
    pupil: Pupil,
    parsed: ParsedReply,
    message: Message,
    now: datetime,
    *,
    open_call: bool = False,
) -> None:
    code = parsed.per_child.get(pupil.first_name, parsed.code)
    case.last_reply_at = now
    case.contact_reached = True
    log_event(
        session,
        case,
        "reply",
        now,
        actor=PARENT,
        message_id=message.id,
        intent=parsed.intent,
        code=code,
        reason=parsed.reason,
        needs_review=parsed.needs_review,
        safeguarding=parsed.safeguarding,
    )
    # "He's on his way, stop texting me" opts out and says the child is coming, like a late
    # arrival.
    on_the_way = parsed.intent == "late_arrival" or (parsed.intent == "opt_out" and code == "U")
    if on_the_way and case.status in (CaseStatus.OPEN, CaseStatus.EXPECTED):
        _expect(session, ctx, case, message.body, now)
    elif code and not is_n_code(code):
        case.status = CaseStatus.EXPLAINED
        case.reason = parsed.reason
        case.provisional_code = code
        case.return_date = parsed.return_date
        # The reason covers every session of this absence on its latest day not yet coded.
        # (Nothing pending in the session changes what these look-ups find: the reply's
        # changes reach the database together, at the end.)
        with session.no_autoflush:
            marks = session.scalars(
                select(RegisterMark).where(
                    RegisterMark.pupil_id == pupil.id,
                    RegisterMark.date == case.last_absent_on,
                    or_(RegisterMark.code == N_CODE, RegisterMark.confirmed.is_(False)),
                )
            ).all()
        for mark in marks:
            set_mark(
                session,
                pupil_id=pupil.id,
                day=mark.date,
                session_label=mark.session,
                code=code,
                actor=Actor(f"parent/carer (message {message.id})", "parent", "parent"),
                reason=f"parent's reply: {parsed.reason or parsed.intent}",
                now=now,
                confirmed=False,
                existing=mark,
            )
        with session.no_autoflush:
            stop_chasing(
                session,
                ctx,
                case,
                "the family gave a reason",
                task_kinds=("call",) if open_call else (),
            )
    elif (
        parsed.intent != "late_arrival"
        and case.status == CaseStatus.OPEN
        and not parsed.safeguarding
    ):
        # "ok", "who is this?": the family answered but gave no reason, so the no-reply steps
        # will not fire. A person should ring them now rather than wait for tomorrow.
        open_task(
            session,
            ctx,
            case,
            kind="call",
            role="office",
            key=f"case:{case.id}:call:reply-without-reason",
            now=now,
            why="the family replied without a reason",
        )
    if parsed.safeguarding:
        case.safeguarding = True
        # The parent was promised a call: it is the DSL's to make, from now.
        open_task(
            session,
            ctx,
            case,
            kind="dsl_call",
            role=TASK_KINDS["dsl_call"].role,
            key=f"case:{case.id}:dsl-call:{message.id}",
            now=now,
            why="safeguarding indicators in a reply",
        )
        alert_dsl(
            session,
            ctx,
            case,
            now,
            why="safeguarding indicators in a reply: " + ", ".join(parsed.indicators),
        )
    else:
        refresh_case_cards(session, ctx, case, now)


def _expect(
    session: Session, ctx: SchoolContext, case: AbsenceCase, body: str, now: datetime
) -> None:
    """The family says the child is on the way: the ladder waits until the time they gave
    (or the late cut-off) and goes on if no mark comes; the provisional code is L or U by
    the school's times for the session the child is expected in."""
    today = ctx.today(now)
    label = ctx.session_at(ctx.local(now).time()) if case.last_absent_on == today else "AM"
    times = ctx.settings.sessions[label]
    expected = expected_by(
        body,
        ctx.local(now),
        ctx.register_closes(today, label),
        ctx.at(today, times.late_cutoff),
        timedelta(minutes=ctx.settings.policy.no_reply_minutes),
    )
    case.status, case.expected_arrival = CaseStatus.EXPECTED, expected
    case.provisional_code = expected_code(label, expected, times)
    case.next_due_at = expected
    log_event(
        session, case, "expected", now, by=expected.strftime("%H:%M"), code=case.provisional_code
    )


def _named(parsed: ParsedReply, pupils: list[Pupil]) -> list[Pupil]:
    named = [p for p in pupils if p.first_name in parsed.per_child]
    return named


def _late_reply(
    session: Session,
    ctx: SchoolContext,
    message: Message,
    contact: Contact,
    parsed: ParsedReply,
    children: list[Pupil],
    now: datetime,
    *,
    answer: bool = True,
) -> None:
    """No open case: reopen nothing, but show staff (the DSL, if it carries risk, and the
    parent gets the safeguarding acknowledgement: someone will call, 999 if it cannot wait;
    not `answer`: the number has just opted out)."""
    names = children_phrase([p.first_name + " " + p.last_name[:1] for p in children]) or "unknown"
    if parsed.safeguarding:
        raise_text_alert(session, ctx, message.id, now)
        if answer:
            acknowledge(
                session, ctx, message, contact, parsed, [p.first_name for p in children], [], now
            )
        return
    post_notice(
        session,
        key=f"late-reply:{message.id}",
        channel=ctx.settings.office_channel,
        school_id=ctx.id,
        now=now,
        notice="late_reply",
        names=names,
        intent=parsed.intent,
        reason=parsed.reason,
    )


def opt_change(
    session: Session, phone: str, contacts: Sequence[Contact], *, opted_out: bool, now: datetime
) -> None:
    """Tell the office that a family can (no longer) be reached by text."""
    for contact in contacts:
        ctx = context_for(session.get_one(School, contact.school_id))
        pupils = session.scalars(
            select(Pupil).join(PupilContact).where(PupilContact.contact_id == contact.id)
        ).all()
        names = children_phrase([f"{p.first_name} {p.last_name[:1]}" for p in pupils])
        post_notice(
            session,
            key=f"opt:{contact.id}:{int(now.timestamp())}:{int(opted_out)}",
            channel=ctx.settings.office_channel,
            school_id=ctx.id,
            now=now,
            notice="opt_change",
            names=names,
            contact=contact.name,
            opted_out=opted_out,
        )


def status_changed(session: Session, message: Message, now: datetime) -> None:
    """An undelivered or failed text: no reply is possible through it, so the ladder's
    no-reply steps fall due now for its cases."""
    if message.status not in ("undelivered", "failed") or message.outbox_id is None:
        return
    item = session.get(OutboxItem, message.outbox_id)
    if item is not None:
        text_undelivered(session, item.payload.get("case_ids", []), now)


def text_undelivered(session: Session, case_ids: Sequence[int], now: datetime) -> None:
    for case in session.scalars(select(AbsenceCase).where(AbsenceCase.id.in_(list(case_ids)))):
        if TEXT_FAILED not in case.steps_done and case.status in OPEN_CASE_STATUSES:
            case.steps_done = [*case.steps_done, TEXT_FAILED]
            case.next_due_at = now
            log_event(session, case, "text_undelivered", now)
