"""Timer: run the escalation ladder for every case whose next step is due. Each step
happens once per case (its key is recorded in `steps_done` in the same transaction as what
it does); the next due time lives on the case, so a worker that was down catches up."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.workflow.cases import (
    alert_dsl,
    case_state,
    ladder_of,
    log_event,
    refresh_case_cards,
    text_contact,
    textable_contacts,
    texted_contact_ids,
)
from bot.workflow.school import SchoolContext
from bot.workflow.tasks import TASK_FOR_STEP, TASK_KINDS, open_task
from messaging.outbox import Outgoing, enqueue_all
from rules.ladder import Action, due_actions, next_due
from storage.models import OPEN_CASE_STATUSES, AbsenceCase, CaseStatus, Contact, Pupil


def process_due(session: Session, ctx: SchoolContext, now: datetime) -> int:
    """Run the due ladder steps of this school's cases; returns how many steps ran."""
    cases = list(
        session.scalars(
            select(AbsenceCase)
            .where(
                AbsenceCase.school_id == ctx.id,
                AbsenceCase.status.in_(OPEN_CASE_STATUSES),
                AbsenceCase.next_due_at.is_not(None),
                AbsenceCase.next_due_at <= now,
            )
            .order_by(AbsenceCase.id)
        )
    )
    if not cases:
        return 0
    pupils = {
        p.id: p
        for p in session.scalars(select(Pupil).where(Pupil.id.in_([c.pupil_id for c in cases])))
    }
    today = ctx.today(now)
    texts: dict[str, dict[int, list[AbsenceCase]]] = defaultdict(lambda: defaultdict(list))
    contacts_by_id: dict[int, Contact] = {}
    ran = 0
    for case in cases:
        if case.status == CaseStatus.EXPECTED:
            if case.expected_arrival is not None and now < case.expected_arrival:
                case.next_due_at = case.expected_arrival
                continue
            _not_arrived(session, ctx, case, now)
        steps = ladder_of(case)
        state = case_state(ctx, case, pupils[case.pupil_id], today)
        for action in due_actions(steps, state, now):
            log_event(session, case, "step", now, step=action.key)
            STEP_HANDLERS[action.kind](
                _Step(session, ctx, case, pupils[case.pupil_id], action, now, texts, contacts_by_id)
            )
            case.steps_done = [*case.steps_done, action.key]
            ran += 1
        state = case_state(ctx, case, pupils[case.pupil_id], today)
        case.next_due_at = next_due(steps, state, now) or _next_morning(ctx, today)
    queue: list[Outgoing] = []
    for template, per_contact in texts.items():
        for contact_id, group in per_contact.items():
            text_contact(
                session,
                ctx,
                contacts_by_id[contact_id],
                group,
                pupils,
                template=template,
                step=f"{template}:{today.isoformat()}",
                day=today,
                session_label=group[0].opened_session if group[0].opened_on == today else "AM",
                now=now,
                queue=queue,
            )
    enqueue_all(session, queue, now=now)
    return ran


def _not_arrived(session: Session, ctx: SchoolContext, case: AbsenceCase, now: datetime) -> None:
    """The family said the child was on the way and no mark has come: the ladder goes on as
    if they had not replied."""
    expected = case.expected_arrival.isoformat() if case.expected_arrival else None
    log_event(session, case, "not_arrived", now, expected=expected)
    case.status, case.provisional_code, case.expected_arrival = CaseStatus.OPEN, None, None
    case.last_reply_at = None
    refresh_case_cards(session, ctx, case, now)


def _next_morning(ctx: SchoolContext, today: date) -> datetime:
    # Just after the next AM sweep, which continues the case first if the pupil is absent.
    return ctx.register_closes(ctx.settings.calendar.next_school_day(today), "AM") + timedelta(
        minutes=1
    )


@dataclass(slots=True)
class _Step:
    """One due step of one case, and what the sweep of due cases collects as it goes: the
    texts to send, grouped by template and contact, so a family gets one text per run."""

    session: Session
    ctx: SchoolContext
    case: AbsenceCase
    pupil: Pupil
    action: Action
    now: datetime
    texts: dict[str, dict[int, list[AbsenceCase]]]
    contacts_by_id: dict[int, Contact]

    def text(self, template: str, contacts: list[Contact]) -> None:
        for contact in contacts:
            self.contacts_by_id[contact.id] = contact
            self.texts[template][contact.id].append(self.case)


def _text_next_contacts(step: _Step) -> None:
    already = texted_contact_ids(step.session, step.case)
    options = textable_contacts(step.session, [step.pupil.id])[step.pupil.id]
    _text_or_log(step, [c for c in options if c.id not in already])


def _follow_up_text(step: _Step) -> None:
    _text_or_log(step, textable_contacts(step.session, [step.pupil.id])[step.pupil.id][:1])


def _text_or_log(step: _Step, contacts: list[Contact]) -> None:
    step.text("follow_up", contacts)
    if not contacts:
        log_event(step.session, step.case, "no_textable_contact", step.now, step=step.action.key)


def _dsl_alert(step: _Step) -> None:
    alert_dsl(step.session, step.ctx, step.case, step.now, why="escalation ladder")


def _open_task(step: _Step) -> None:
    """Open the step's task; a CME referral, or a home visit to a vulnerable pupil, goes to
    the DSL as well."""
    session, ctx, case, now = step.session, step.ctx, step.case, step.now
    task_kind = TASK_FOR_STEP[step.action.kind]
    open_task(
        session,
        ctx,
        case,
        kind=task_kind,
        role=TASK_KINDS[task_kind].role,
        key=f"case:{case.id}:{step.action.key}",
        now=now,
    )
    if task_kind == "cme_referral" or (task_kind == "home_visit" and step.pupil.is_vulnerable):
        alert_dsl(session, ctx, case, now, why=f"{task_kind.replace('_', ' ')} needed")
    else:
        refresh_case_cards(session, ctx, case, now)


def _medical_evidence(step: _Step) -> None:
    _open_task(step)
    step.text(
        "medical_evidence", textable_contacts(step.session, [step.pupil.id])[step.pupil.id][:1]
    )


# Ladder step kind -> what it does to a case. Every kind in rules.ladder.STEP_KINDS has one,
# but for the per-session steps (rules.ladder.SESSION_STEPS: bot/workflow/deadlines.py)
# (tests/bot/test_ladder_sync.py).
STEP_HANDLERS: dict[str, Callable[[_Step], None]] = {
    "text_next_contacts": _text_next_contacts,
    "call_task": _open_task,
    "follow_up_text": _follow_up_text,
    "home_visit": _open_task,
    "dsl_alert": _dsl_alert,
    "medical_evidence": _medical_evidence,
    "tell_la": _open_task,
    "cme_referral": _open_task,
}
