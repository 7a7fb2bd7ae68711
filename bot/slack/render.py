"""Slack cards rendered from the database as it is when they go out. The office card holds
the minimum a member of staff needs (first name, initial, class, reason category, code,
tasks); safeguarding details are only ever rendered on the DSL card."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.slack.mrkdwn import escape, mention, quote
from bot.workflow.leave import leave_facts
from bot.workflow.school import context_for
from bot.workflow.tasks import TASK_TITLES, tasks_for
from messaging.templates import short_date
from storage.models import (
    AbsenceCase,
    CaseEvent,
    LeaveRequest,
    Message,
    MessageCase,
    Pupil,
    RegisterSweep,
    School,
    StaffTask,
)

Blocks = list[dict[str, Any]]

STATUS_WORDS = {
    "open": "No reason yet",
    "explained": "Reason given: needs confirming",
    "confirmed": "Code confirmed",
    "closed": "Closed",
}
TASK_BUTTONS = {
    "call": [
        ("task_reason_given", "Called: reason given"),
        ("task_no_answer", "No answer"),
        ("task_home_visit_needed", "Home visit needed"),
    ],
    "home_visit": [
        ("task_safe_and_well", "Seen safe and well"),
        ("task_no_answer", "No answer"),
        ("task_concern", "Concern → DSL"),
    ],
    "cme_referral": [("task_safe_and_well", "Child located"), ("task_concern", "Referral made")],
}
DONE_BUTTONS = [("task_reason_given", "Done")]


def short_name(pupil: Pupil) -> str:
    """First name and initial, escaped for mrkdwn (names come from the MIS, as typed)."""
    return escape(f"{pupil.first_name} {pupil.last_name[:1]}.")


def full_name(pupil: Pupil) -> str:
    return escape(f"{pupil.first_name} {pupil.last_name}")


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _button(
    action_id: str, label: str, value: int | str, style: str | None = None
) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": label},
        "value": str(value),
    }
    if style:
        button["style"] = style
    return button


def _actions(block_id: str, buttons: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "actions", "block_id": block_id, "elements": buttons}


# What a card or notice becomes once its retention period has passed, or its pupil erased.
REDACTED = ":wastebasket: Details removed (past the school's retention period, or erased)."


def redacted() -> tuple[str, Blocks]:
    return REDACTED, [_section(REDACTED)]


def render_card(session: Session, key: str) -> tuple[str, Blocks] | None:
    """The card's text and blocks, or None if what it shows no longer exists."""
    kind, _, ident = key.partition(":")
    renderers = {"case": _case_card, "dsl": _dsl_card, "leave": _leave_card, "sweep": _sweep_card}
    render = renderers.get(kind)
    return render(session, int(ident)) if render and ident.isdigit() else None


def _task_blocks(tasks: list[StaffTask], *, roles: tuple[str, ...]) -> Blocks:
    blocks: Blocks = []
    for task in tasks:
        if task.role not in roles:
            continue
        title = TASK_TITLES.get(task.kind, task.kind)
        if task.status == "done":
            blocks.append(
                _section(
                    f"~{title}~ {escape(task.outcome.replace('_', ' ')) if task.outcome else 'done'}"
                )
            )
            continue
        who = f" (claimed by {mention(task.claimed_by)})" if task.claimed_by else ""
        blocks.append(_section(f":point_right: *{title}*{who}"))
        buttons = [] if task.claimed_by else [_button("task_claim", "Claim", task.id, "primary")]
        buttons += [
            _button(a, label, task.id) for a, label in TASK_BUTTONS.get(task.kind, DONE_BUTTONS)
        ]
        blocks.append(_actions(f"task-{task.id}", buttons))
    return blocks


def _case_card(session: Session, case_id: int) -> tuple[str, Blocks] | None:
    case = session.get(AbsenceCase, case_id)
    if case is None:
        return None
    pupil = session.get(Pupil, case.pupil_id)
    days = context_for(session.get(School, case.school_id)).settings.calendar.school_days_between(
        case.opened_on, case.last_absent_on
    )
    title = f"*{short_name(pupil)}* ({escape(pupil.class_name)}) absent {case.opened_session} {short_date(case.opened_on)}"
    if days > 1:
        title += f", day {days}"
    lines = [title, STATUS_WORDS.get(case.status, case.status)]
    code = case.confirmed_code or case.provisional_code
    if case.reason or code:
        lines.append(
            f"Reason: {escape(case.reason or 'not given')} · code *{code or 'N'}*"
            + ("" if case.confirmed_code else " (provisional)")
        )
    if case.first_text_at and not case.last_reply_at:
        lines.append("Family texted; no reply yet")
    if case.dsl_alerted:
        lines.append(":shield: With the DSL")
    blocks: Blocks = [_section("\n".join(lines))]
    if case.status in ("open", "explained"):
        buttons = []
        if case.provisional_code and case.provisional_code != "N":
            buttons.append(
                _button("case_confirm", f"Confirm {case.provisional_code}", case.id, "primary")
            )
        buttons.append(_button("case_change", "Change code", case.id))
        blocks.append(_actions(f"case-{case.id}", buttons))
    blocks += _task_blocks(tasks_for(session, case.id), roles=("office", "attendance_lead"))
    return (
        f"{short_name(pupil)} ({escape(pupil.class_name)}): {STATUS_WORDS.get(case.status, case.status)}",
        blocks,
    )


def _dsl_card(session: Session, case_id: int) -> tuple[str, Blocks] | None:
    case = session.get(AbsenceCase, case_id)
    if case is None:
        return None
    pupil = session.get(Pupil, case.pupil_id)
    whys = [
        e.detail.get("why", "")
        for e in session.scalars(
            select(CaseEvent)
            .where(CaseEvent.case_id == case.id, CaseEvent.kind == "dsl_alert")
            .order_by(CaseEvent.id)
        )
    ]
    flags = escape(", ".join(pupil.vulnerable)) or "none recorded"
    lines = [
        f":rotating_light: *{full_name(pupil)}* ({escape(pupil.class_name)}, UPN {escape(pupil.upn)}) "
        f"absent since {short_date(case.opened_on)}",
        f"Vulnerability: {flags}",
        *(f"• {escape(w)}" for w in dict.fromkeys(whys) if w),
        f"Status: {STATUS_WORDS.get(case.status, case.status)}",
    ]
    replies = session.scalars(
        select(Message)
        .join(MessageCase, MessageCase.message_id == Message.id)
        .where(MessageCase.case_id == case.id)
        .order_by(Message.id)
    ).all()
    for reply in replies[-3:]:
        parse = reply.parse or {}
        tag = (
            f"\n_(indicators: {escape(', '.join(parse.get('indicators', [])))})_"
            if parse.get("safeguarding")
            else ""
        )
        lines.append(quote(reply.body) + tag)
    blocks: Blocks = [_section("\n".join(lines))]
    blocks += _task_blocks(tasks_for(session, case.id), roles=("dsl", "office", "attendance_lead"))
    return f"DSL: {full_name(pupil)} ({escape(pupil.class_name)})", blocks


def _leave_card(session: Session, request_id: int) -> tuple[str, Blocks] | None:
    request = session.get(LeaveRequest, request_id)
    if request is None:
        return None
    ctx = context_for(session.get(School, request.school_id))
    pupil = session.get(Pupil, request.pupil_id)
    facts = leave_facts(session, ctx, request)
    att = facts["attendance"]
    lines = [
        f":airplane: *Leave request #{request.id}*: {full_name(pupil)} ({escape(pupil.class_name)})",
        f"{short_date(request.start_date)} to {short_date(request.end_date)}: {facts['school_days']} school "
        f"days, {facts['sessions']} sessions",
        f"Asked {facts['notice_days']} days ahead (policy: {ctx.settings.policy.leave_notice_days})"
        + (" :warning: short notice" if facts["notice_short"] else ""),
        f"Attendance this year: {att.percent if att.percent is not None else '–'}% ({att.band()})",
        f"Reason: {escape(request.reason[:300])}",
    ]
    if request.note and request.status == "pending":
        lines.append(f"_{escape(request.note)}_")
    if facts["penalty_warning"]:
        lines.append(
            ":warning: 5 or more school days: a penalty notice may follow if taken without approval"
        )
    blocks: Blocks = [_section("\n".join(lines))]
    if request.status == "pending":
        blocks.append(
            _actions(
                f"leave-{request.id}",
                [
                    _button("leave_approve", "Approve", request.id, "primary"),
                    _button("leave_decline", "Decline", request.id, "danger"),
                ],
            )
        )
    else:
        blocks.append(
            _section(
                f"*{request.status.capitalize()}* by {escape(request.decided_by)}"
                + (f": {escape(request.note)}" if request.note else "")
            )
        )
    return f"Leave request #{request.id}: {request.status}", blocks


def _sweep_card(session: Session, sweep_id: int) -> tuple[str, Blocks] | None:
    sweep = session.get(RegisterSweep, sweep_id)
    if sweep is None:
        return None
    ctx = context_for(session.get(School, sweep.school_id))
    count = sweep.summary.get("new_cases", 0)
    roll = sweep.summary.get("roll", 0) or 1
    share = ctx.settings.policy.mass_absence_share
    if sweep.status == "held":
        text = (
            f":raised_hand: {sweep.session} {short_date(sweep.date)}: {count} pupils "
            f"({100 * count / roll:.0f}% of the roll) have no mark or N, above the "
            f"{100 * share:.0f}% the school allows before texting. Check the registers; "
            "if they are right, send the texts."
        )
        return text, [
            _section(text),
            _actions(
                f"sweep-{sweep.id}",
                [_button("sweep_release", f"Send {count} texts", sweep.id, "primary")],
            ),
        ]
    text = f":white_check_mark: {sweep.session} {short_date(sweep.date)}: the office confirmed; {count} texts sent"
    return text, [_section(text)]
