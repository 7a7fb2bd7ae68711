"""The DSL's side of a case: concerns raised by any member of staff, alerts acknowledged
("I'm on it") or returned to the office ("not a safeguarding matter"), and the chain that
chases an alert nobody acknowledges. Every decision is a case event with the person's name
and position; the chain runs from the database (`next_due_at`, `steps_done`), so a worker
that was down catches up and each step happens once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.workflow.cards import refresh_cards
from bot.workflow.cases import (
    alert_dsl,
    log_by,
    log_event,
    open_alerts,
    raise_alert,
    refresh_case_cards,
)
from bot.workflow.decisions import DecisionError
from bot.workflow.school import SchoolContext
from bot.workflow.staff import StaffMember
from rules.dsl_chain import ChainStep, due_steps, next_due
from storage.models import AbsenceCase, AlertStatus, DslAlert

CONCERN_LIMIT = 1000  # characters of a note: a concern, not a case file


def who(member: StaffMember) -> str:
    return f"{member.staff.name} ({member.staff.position})"


def raise_concern(
    session: Session,
    ctx: SchoolContext,
    case: AbsenceCase,
    member: StaffMember,
    note: str,
    *,
    now: datetime,
) -> None:
    """Any member of staff passes a worry to the DSL (KCSIE): the DSL card gets the reply's
    words, the note and who raised it; the office card then says only "with the DSL"."""
    note = " ".join(note.split())
    if not note:
        raise DecisionError("say what worries you in a short note: the DSL reads it first")
    if len(note) > CONCERN_LIMIT:
        raise DecisionError(f"keep the note under {CONCERN_LIMIT} characters; the DSL will call")
    case.safeguarding = True
    log_by(session, case, "concern_raised", member, now, note=note)
    alert_dsl(session, ctx, case, now, why=f"concern raised by {who(member)}: {note}")


def acknowledge(
    session: Session, ctx: SchoolContext, alert: DslAlert, member: StaffMember, now: datetime
) -> None:
    """ "I'm on it": the chain stops (every alert of the case waiting for a DSL) and the
    cards say who took it, and when."""
    case = session.get(AbsenceCase, alert.case_id) if alert.case_id else None
    alerts = (
        open_alerts(session, case, (AlertStatus.RAISED,))
        if case
        else [a for a in (alert,) if a.status == AlertStatus.RAISED]
    )
    if not alerts:
        taken = open_alerts(session, case, (AlertStatus.ACKNOWLEDGED,)) if case else [alert]
        if taken and taken[-1].status == AlertStatus.ACKNOWLEDGED:
            raise DecisionError(f"{taken[-1].decided_by} is already on it")
        raise DecisionError("that alert is no longer waiting for a DSL")
    for each in alerts:
        each.status, each.next_due_at = AlertStatus.ACKNOWLEDGED, None
        each.decided_by, each.decided_by_user = who(member), member.staff.slack_user_id
        each.decided_at = now
    if case:
        log_by(session, case, "dsl_acknowledged", member, now, alerts=[a.id for a in alerts])
    _refresh(session, ctx, case, alerts, now)


def return_to_office(
    session: Session,
    ctx: SchoolContext,
    alert: DslAlert,
    member: StaffMember,
    why: str,
    *,
    now: datetime,
) -> None:
    """ "Not a safeguarding matter": the DSL's reason is recorded, the chain stops and the
    case is the office's again (its card shows the reply's words once more)."""
    why = " ".join(why.split())
    if not why:
        raise DecisionError("say why this is not a safeguarding matter: the record keeps it")
    case = session.get(AbsenceCase, alert.case_id) if alert.case_id else None
    alerts = (
        open_alerts(session, case)
        if case
        else [a for a in (alert,) if a.status != AlertStatus.RETURNED]
    )
    if not alerts:
        raise DecisionError("that is no longer with the DSL")
    for each in alerts:
        each.status, each.next_due_at, each.note = AlertStatus.RETURNED, None, why
        each.decided_by, each.decided_by_user = who(member), member.staff.slack_user_id
        each.decided_at = now
    if case:
        case.safeguarding = False
        log_by(session, case, "dsl_returned", member, now, why=why)
    _refresh(session, ctx, case, alerts, now)


def raise_text_alert(session: Session, ctx: SchoolContext, message_id: int, now: datetime) -> None:
    """Risk in a text with no open absence to attach it to: the text is the alert, carded in
    the DSL channel and chased like any other."""
    alert = raise_alert(session, ctx, now, message_id=message_id)
    refresh_cards(session, [text_card(ctx, alert)], school_id=ctx.id, now=now)


def text_card(ctx: SchoolContext, alert: DslAlert) -> tuple[str, str]:
    return (f"textalert:{alert.id}", ctx.settings.dsl_channel)


def chase_cards(ctx: SchoolContext, alert: DslAlert) -> list[tuple[str, str]]:
    """The cards an alert's chain has posted so far: (key, channel)."""
    cards = []
    for index, raw in enumerate(alert.chain):
        step = ChainStep(**raw)
        if step.key not in alert.steps_done:
            continue
        for channel in _step_channels(ctx, step):
            cards.append((chase_key(alert, index, channel), channel))
    return cards


def chase_key(alert: DslAlert, index: int, channel: str) -> str:
    return f"chase:{alert.id}:{index}:{channel}"


def _step_channels(ctx: SchoolContext, step: ChainStep) -> list[str]:
    if step.kind == "message_headteacher":
        # A direct message: Slack opens the app's conversation with a user given as channel.
        return [s.slack_user_id for s in ctx.settings.staff_with_role("headteacher")]
    return [ctx.settings.dsl_channel]


def _refresh(
    session: Session,
    ctx: SchoolContext,
    case: AbsenceCase | None,
    alerts: list[DslAlert],
    now: datetime,
) -> None:
    if case:
        refresh_case_cards(session, ctx, case, now)
    refresh_cards(
        session,
        [
            *(text_card(ctx, alert) for alert in alerts if alert.case_id is None),
            *(card for alert in alerts for card in chase_cards(ctx, alert)),
        ],
        school_id=ctx.id,
        now=now,
    )


def process_dsl_chain(session: Session, ctx: SchoolContext, now: datetime) -> int:
    """Run the due steps of this school's unacknowledged alerts; returns how many ran."""
    policy, tz = ctx.settings.policy, ctx.settings.tz
    ran = 0
    for alert in session.scalars(
        select(DslAlert)
        .where(
            DslAlert.school_id == ctx.id,
            DslAlert.status == AlertStatus.RAISED,
            DslAlert.next_due_at.is_not(None),
            DslAlert.next_due_at <= now,
        )
        .order_by(DslAlert.id)
    ):
        steps = [ChainStep(**raw) for raw in alert.chain]
        case = session.get(AbsenceCase, alert.case_id) if alert.case_id else None
        done = frozenset(alert.steps_done)
        for step in due_steps(
            steps, alert.starts_at, done, now, policy.school_day, ctx.is_staffed_day, tz
        ):
            alert.steps_done = [*alert.steps_done, step.key]
            index = steps.index(step)
            refresh_cards(
                session,
                [(chase_key(alert, index, ch), ch) for ch in _step_channels(ctx, step)],
                school_id=ctx.id,
                now=now,
            )
            if case:
                log_event(session, case, "dsl_chased", now, alert=alert.id, step=step.key)
            ran += 1
        alert.next_due_at = next_due(
            steps,
            alert.starts_at,
            frozenset(alert.steps_done),
            policy.school_day,
            ctx.is_staffed_day,
            tz,
        )
    return ran
