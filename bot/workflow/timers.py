"""Timer: run the escalation ladder for every case whose next step is due. Each step
happens once per case (its key is recorded in `steps_done` in the same transaction as what
it does); the next due time lives on the case, so a worker that was down catches up."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.workflow.cases import (
    OPEN_STATUSES,
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
from bot.workflow.tasks import open_task
from messaging.outbox import Outgoing, enqueue_all
from rules.ladder import Action, due_actions, next_due
from storage.marks import Actor, set_mark
from storage.models import AbsenceCase, Contact, Pupil, RegisterMark

DEADLINE = Actor("FirstCall", "automatic: N unresolved by the school's deadline", "system")
TASKS = {  # step kind -> (task kind, who acts)
    "call_task": ("call", "office"),
    "home_visit": ("home_visit", "office"),
    "decide_code": ("decide_code", "office"),
    "tell_la": ("tell_la", "attendance_lead"),
    "cme_referral": ("cme_referral", "dsl"),
    "medical_evidence": ("medical_evidence", "office"),
}


def process_due(session: Session, ctx: SchoolContext, now: datetime) -> int:
    """Run the due ladder steps of this school's cases; returns how many steps ran."""
    cases = list(
        session.scalars(
            select(AbsenceCase)
            .where(
                AbsenceCase.school_id == ctx.id,
                AbsenceCase.status.in_(OPEN_STATUSES),
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
        steps = ladder_of(case)
        state = case_state(ctx, case, pupils[case.pupil_id], today)
        for action in due_actions(steps, state, now):
            _run(session, ctx, case, pupils[case.pupil_id], action, now, texts, contacts_by_id)
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


def _next_morning(ctx: SchoolContext, today) -> datetime:  # noqa: ANN001 - date
    # Just after the next AM sweep, which continues the case first if the pupil is absent.
    return ctx.register_closes(ctx.settings.calendar.next_school_day(today), "AM") + timedelta(
        minutes=1
    )


def _run(
    session: Session,
    ctx: SchoolContext,
    case: AbsenceCase,
    pupil: Pupil,
    action: Action,
    now: datetime,
    texts: dict[str, dict[int, list[AbsenceCase]]],
    contacts_by_id: dict[int, Contact],
) -> None:
    log_event(session, case, "step", now, step=action.key)
    kind = action.kind
    if kind in ("text_next_contacts", "follow_up_text"):
        options = textable_contacts(session, [pupil.id])[pupil.id]
        if kind == "text_next_contacts":
            already = texted_contact_ids(session, case)
            options = [c for c in options if c.id not in already]
        else:
            options = options[:1]
        for contact in options:
            contacts_by_id[contact.id] = contact
            texts["follow_up"][contact.id].append(case)
        if not options:
            log_event(session, case, "no_textable_contact", now, step=action.key)
        return
    if kind == "dsl_alert":
        alert_dsl(session, ctx, case, now, why="escalation ladder")
        return
    if kind == "set_code_o":
        _deadline_passed(session, case, now)
        refresh_case_cards(session, ctx, case, now)
        return
    task_kind, role = TASKS[kind]
    open_task(
        session, ctx, case, kind=task_kind, role=role, key=f"case:{case.id}:{action.key}", now=now
    )
    if kind == "medical_evidence":
        options = textable_contacts(session, [pupil.id])[pupil.id][:1]
        for contact in options:
            contacts_by_id[contact.id] = contact
            texts["medical_evidence"][contact.id].append(case)
    if kind == "cme_referral" or (kind == "home_visit" and pupil.is_vulnerable):
        alert_dsl(session, ctx, case, now, why=f"{task_kind.replace('_', ' ')} needed")
    else:
        refresh_case_cards(session, ctx, case, now)


def _deadline_passed(session: Session, case: AbsenceCase, now: datetime) -> None:
    """N must not stay on the register past the deadline: record O (DOMAIN.md)."""
    for mark in session.scalars(
        select(RegisterMark).where(
            RegisterMark.pupil_id == case.pupil_id,
            RegisterMark.date >= case.opened_on,
            RegisterMark.date <= case.last_absent_on,
            RegisterMark.code == "N",
        )
    ):
        set_mark(
            session,
            pupil_id=mark.pupil_id,
            day=mark.date,
            session_label=mark.session,
            code="O",
            actor=DEADLINE,
            reason="no reason established within the deadline",
            now=now,
            existing=mark,
        )
    case.confirmed_code, case.status = "O", "confirmed"
    log_event(session, case, "code_set", now, code="O", by="deadline")
