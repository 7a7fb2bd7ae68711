"""Cases: opening, the events on their timeline, their cards, and texting their contacts."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import asdict
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.workflow.cards import refresh_cards
from bot.workflow.school import SchoolContext
from bot.workflow.staff import StaffMember
from messaging.outbox import Outgoing, cancel_queued_texts, enqueue_all, sms
from rules.codes import is_absence_needing_reason, lookup
from rules.dsl_chain import next_due, within_day
from rules.families import families
from rules.ladder import CaseState, LadderStep
from rules.texts import children_phrase, render, session_phrase, short_date
from storage.models import (
    OPEN_CASE_STATUSES,
    AbsenceCase,
    AlertStatus,
    CaseEvent,
    CaseStatus,
    Contact,
    DslAlert,
    OptOut,
    Pupil,
    PupilContact,
    StaffTask,
    TaskStatus,
)

# The texts that chase a family for a reason: cancelled when the case ends.
CHASING_TEXTS = ("first_contact", "follow_up", "medical_evidence")


def log_event(
    session: Session,
    case: AbsenceCase,
    kind: str,
    now: datetime,
    /,
    *,
    actor: str = "system",
    **detail: Any,
) -> None:
    """Positional-only up to `now`, so a detail may be called `session` (AM/PM)."""
    session.add(CaseEvent(case_id=case.id, at=now, kind=kind, actor=actor, detail=detail))


def log_by(
    session: Session,
    case: AbsenceCase,
    kind: str,
    member: StaffMember,
    now: datetime,
    /,
    **detail: Any,
) -> None:
    """An event done by a member of staff, with their name and position."""
    log_event(
        session,
        case,
        kind,
        now,
        actor=member.staff.name,
        position=member.staff.position,
        **detail,
    )


def open_cases_for(session: Session, pupil_ids: Iterable[int]) -> dict[int, AbsenceCase]:
    ids = list(pupil_ids)
    if not ids:
        return {}
    found: dict[int, AbsenceCase] = {}
    for start in range(0, len(ids), 500):
        for case in session.scalars(
            select(AbsenceCase).where(
                AbsenceCase.pupil_id.in_(ids[start : start + 500]),
                AbsenceCase.status.in_(OPEN_CASE_STATUSES),
            )
        ):
            found[case.pupil_id] = case
    return found


def ladder_of(case: AbsenceCase) -> list[LadderStep]:
    return [LadderStep(**step) for step in case.ladder]


def snapshot_ladder(ctx: SchoolContext) -> list[dict[str, Any]]:
    return [asdict(step) for step in ctx.settings.policy.ladder]


TEXT_FAILED = "text_failed"  # a marker in steps_done: the family's text bounced


def case_state(ctx: SchoolContext, case: AbsenceCase, pupil: Pupil, today: date) -> CaseState:
    code = case.confirmed_code or case.provisional_code
    return CaseState(
        opened_at=case.opened_at,
        first_text_at=case.first_text_at,
        day_number=max(1, ctx.settings.calendar.school_days_between(case.opened_on, today)),
        today=today,
        still_absent=case.last_absent_on == today,
        text_failed=TEXT_FAILED in case.steps_done,
        replied=case.last_reply_at is not None,
        reached=case.contact_reached,
        explained=case.status != CaseStatus.OPEN,
        vulnerable=pupil.is_vulnerable,
        reason=case.reason,
        n_code=is_absence_needing_reason(code),
        unauthorised=code is not None and lookup(code).unauthorised,
        steps_done=frozenset(case.steps_done),
        with_dsl=case.safeguarding,
    )


def textable_contacts(session: Session, pupil_ids: Sequence[int]) -> dict[int, list[Contact]]:
    """Each pupil's contacts in priority order that may be texted: never a no-contact link,
    an opted-out number, a landline or a number Twilio has refused."""
    if not pupil_ids:
        return {}
    opted_out = set(session.scalars(select(OptOut.phone).where(OptOut.opted_out.is_(True))))
    result: dict[int, list[Contact]] = {pid: [] for pid in pupil_ids}
    rows = session.execute(
        select(PupilContact.pupil_id, Contact)
        .join(Contact, Contact.id == PupilContact.contact_id)
        .where(PupilContact.pupil_id.in_(list(pupil_ids)), PupilContact.no_contact.is_(False))
        .order_by(PupilContact.pupil_id, PupilContact.priority)
    )
    for pupil_id, contact in rows:
        if contact.can_sms and not contact.undeliverable and contact.phone not in opted_out:
            result[pupil_id].append(contact)
    return result


def texted_contact_ids(session: Session, case: AbsenceCase) -> set[int]:
    return {
        event.detail["contact_id"]
        for event in session.scalars(
            select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.kind == "texted")
        )
    }


def text_contact(
    session: Session,
    ctx: SchoolContext,
    contact: Contact,
    cases: Sequence[AbsenceCase],
    pupils: dict[int, Pupil],
    *,
    template: str,
    step: str,
    day: date,
    session_label: str,
    now: datetime,
    queue: list[Outgoing] | None = None,
) -> None:
    """One text to one contact naming all of that contact's children in `cases`, or one per
    family when the number is shared by families (rules/families.py): no text names another
    family's children. With a `queue`, the texts join it for the caller to enqueue with the
    rest in one statement."""
    for family in family_groups(session, contact, cases, pupils):
        names = [pupils[c.pupil_id].first_name for c in family]
        body = render(
            ctx.settings,
            template,
            school=ctx.settings.name,
            children=children_phrase(names),
            session=session_phrase(session_label),
            date=short_date(day),
            school_phone=ctx.settings.phone,
        )
        case_ids = sorted(c.id for c in family)
        row = sms(
            key=f"sms:{step}:{contact.id}:{'-'.join(map(str, case_ids))}",
            school_id=ctx.id,
            contact_id=contact.id,
            to=contact.phone,
            body=body,
            kind=template,
            case_ids=case_ids,
        )
        if queue is None:
            enqueue_all(session, [row], now=now)
        else:
            queue.append(row)
        for case in family:
            if case.first_text_at is None:
                case.first_text_at = now
            log_event(session, case, "texted", now, contact_id=contact.id, step=step)


def family_groups(
    session: Session,
    contact: Contact,
    cases: Sequence[AbsenceCase],
    pupils: dict[int, Pupil],
) -> list[list[AbsenceCase]]:
    """`cases` split by the family each pupil is in for this contact's number: the texts
    that may go to it together."""
    if len(cases) < 2:  # the usual text: one child, nothing to split (and no query)
        return [list(cases)]
    given = dict(
        session.execute(
            select(PupilContact.pupil_id, PupilContact.contact_name).where(
                PupilContact.contact_id == contact.id,
                PupilContact.pupil_id.in_([c.pupil_id for c in cases]),
            )
        ).all()
    )
    by_id = {case.id: case for case in cases}
    groups = families(
        [(c.id, pupils[c.pupil_id].last_name, given.get(c.pupil_id, "")) for c in cases]
    )
    return [[by_id[i] for i in group] for group in groups]


def case_cards(ctx: SchoolContext, case: AbsenceCase) -> list[tuple[str, str]]:
    """The case's cards: the office's, and the DSL's once it went there."""
    cards = [(f"case:{case.id}", ctx.settings.office_channel)]
    if case.dsl_alerted:
        cards.append((f"dsl:{case.id}", ctx.settings.dsl_channel))
    return cards


def refresh_case_cards(
    session: Session, ctx: SchoolContext, case: AbsenceCase, now: datetime
) -> None:
    refresh_cards(session, case_cards(ctx, case), school_id=ctx.id, now=now)


def alert_dsl(
    session: Session, ctx: SchoolContext, case: AbsenceCase, now: datetime, *, why: str
) -> None:
    """Put the case in front of the DSL at once (the office card only says it went there).
    Unless an alert of the case is still waiting for a DSL, this one starts its own chain."""
    case.dsl_alerted = True
    log_event(session, case, "dsl_alert", now, why=why)
    if not open_alerts(session, case, (AlertStatus.RAISED,)):
        raise_alert(session, ctx, now, case)
    refresh_case_cards(session, ctx, case, now)


def stop_chasing(
    session: Session,
    ctx: SchoolContext,
    case: AbsenceCase,
    why: str,
    *,
    task_kinds: Collection[str] | None = None,
) -> None:
    """Nothing more goes to the family for this case: its queued chasing texts are
    cancelled, and its open tasks (of `task_kinds`, or all) closed as not needed."""
    cancel_queued_texts(session, ctx.id, [case.id], CHASING_TEXTS, why)
    if task_kinds is not None and not task_kinds:
        return
    query = select(StaffTask).where(
        StaffTask.case_id == case.id, StaffTask.status != TaskStatus.DONE
    )
    if task_kinds is not None:
        query = query.where(StaffTask.kind.in_(list(task_kinds)))
    for task in session.scalars(query):
        task.status, task.outcome, task.outcome_note = TaskStatus.DONE, "not_needed", why


def end_case(
    session: Session,
    ctx: SchoolContext,
    case: AbsenceCase,
    now: datetime,
    /,
    *,
    kind: str,
    **detail: Any,
) -> None:
    """The register shows the pupil in school: the absence, and so the case, is over. The
    ladder ends, queued texts and open tasks are cancelled, the cards say why."""
    case.status, case.closed_at, case.next_due_at = CaseStatus.CLOSED, now, None
    case.expected_arrival = None
    stop_chasing(session, ctx, case, "the pupil is in school")
    log_event(session, case, kind, now, **detail)
    refresh_case_cards(session, ctx, case, now)


def raise_alert(
    session: Session,
    ctx: SchoolContext,
    now: datetime,
    case: AbsenceCase | None = None,
    message_id: int | None = None,
) -> DslAlert:
    """A new alert and its chain, for a case or (no open absence) for the text itself."""
    policy = ctx.settings.policy
    starts = within_day(now, policy.school_day, ctx.is_staffed_day, ctx.settings.tz)
    chain = policy.dsl_chain
    alert = DslAlert(
        school_id=ctx.id,
        case_id=case.id if case else None,
        message_id=message_id,
        raised_at=now,
        starts_at=starts,
        status=AlertStatus.RAISED,
        chain=[asdict(step) for step in chain],
        steps_done=[],
        next_due_at=next_due(
            chain, starts, frozenset(), policy.school_day, ctx.is_staffed_day, ctx.settings.tz
        ),
    )
    session.add(alert)
    session.flush()
    return alert


def open_alerts(
    session: Session,
    case: AbsenceCase,
    statuses: tuple[str, ...] = (AlertStatus.RAISED, AlertStatus.ACKNOWLEDGED),
) -> list[DslAlert]:
    """The case's alerts still with the DSL (not returned to the office), oldest first."""
    return list(
        session.scalars(
            select(DslAlert)
            .where(DslAlert.case_id == case.id, DslAlert.status.in_(statuses))
            .order_by(DslAlert.id)
        )
    )
