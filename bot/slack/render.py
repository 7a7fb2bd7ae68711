"""Slack cards rendered from the database as it is when they go out. The office card holds
the minimum a member of staff needs (first name, initial, class, reason category, code,
tasks) and the parent's latest words, which a person reads before confirming a code;
safeguarding details, and the words of a reply with the DSL, are only ever rendered on the
DSL card."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.slack.mrkdwn import escape, mention, quote
from bot.workflow.decisions import has_uncoded_sessions
from bot.workflow.leave import leave_facts
from bot.workflow.overview import PupilYear
from bot.workflow.review import awaiting_review, latest_reply
from bot.workflow.school import SchoolContext, context_for
from bot.workflow.tasks import DONE, TASK_KINDS, tasks_for
from rules.codes import is_n_code, lookup
from rules.dsl_chain import ChainStep
from rules.review import language_name, review_reasons
from rules.texts import children_phrase, short_date
from storage.models import (
    AbsenceCase,
    AlertStatus,
    CaseEvent,
    CaseStatus,
    DslAlert,
    LeaveRequest,
    Message,
    MessageCase,
    Pupil,
    PupilContact,
    RegisterSweep,
    School,
    StaffTask,
    TaskStatus,
)

Blocks = list[dict[str, Any]]
REPLY_CHARS = 300  # of a parent's reply on the office card; the whole text is in the modal

# Keyed by the stored string, which is what a row's status reads back as.
STATUS_WORDS: dict[str, str] = {
    CaseStatus.OPEN: "No reason yet",
    CaseStatus.EXPECTED: "On the way, the family says",
    CaseStatus.EXPLAINED: "Reason given: needs confirming",
    CaseStatus.CONFIRMED: "Code confirmed",
    CaseStatus.CLOSED: "Closed",
}
# The card's button for an outcome; a kind may word one its own way.
OUTCOME_BUTTONS = {
    "reason_given": "Called: reason given",
    "no_answer": "No answer",
    "home_visit_needed": "Home visit needed",
    "safe_and_well": "Seen safe and well",
    "concern": "Concern → DSL",
}
KIND_OUTCOME_BUTTONS = {
    ("cme_referral", "safe_and_well"): "Child located",
    ("cme_referral", "concern"): "Referral made",
}


def _outcome_buttons(kind: str) -> list[tuple[str, str]]:
    task_kind = TASK_KINDS.get(kind)
    if task_kind is None or not task_kind.outcomes:
        return [(f"task_{DONE}", "Done")]
    return [
        (f"task_{o}", KIND_OUTCOME_BUTTONS.get((kind, o)) or OUTCOME_BUTTONS[o])
        for o in task_kind.outcomes
    ]


def render_notice(notice: str, facts: dict[str, Any]) -> str:
    """A one-off notice's text (bot.workflow.cards.post_notice), worded as it goes out."""
    return NOTICES[notice](facts)


def _late_reply_safeguarding(f: dict[str, Any]) -> str:
    return (
        f":rotating_light: Safeguarding indicators ({escape(', '.join(f['indicators']))}) in "
        f"a text from a contact of {escape(f['names'])}, with no open absence:\n"
        f"{quote(f['body'])}"
    )


def _late_reply(f: dict[str, Any]) -> str:
    return (
        f":speech_balloon: A text from a contact of {escape(f['names'])} with no open absence "
        f"(read as {f['intent'].replace('_', ' ')}"
        + (f", {escape(f['reason'])}" if f.get("reason") else "")
        + "). Check it in /pupil."
    )


def _opt_change(f: dict[str, Any]) -> str:
    what = (
        "replied STOP: this family can no longer be reached by text. Phone them instead."
        if f["opted_out"]
        else "opted back in to texts."
    )
    return f":no_bell: A contact of {escape(f['names'])} ({escape(f['contact'])}) {what}"


def _text_quarantined(f: dict[str, Any]) -> str:
    return (
        ":warning: A text to the school's number could not be stored by FirstCall "
        f"(Twilio message `{escape(f['sid'])}`). Read it in the Twilio console and deal with "
        "it by hand; FirstCall has not acted on it."
    )


def _school_failed(f: dict[str, Any]) -> str:
    return (
        f":rotating_light: FirstCall's {escape(f['what'])} failed for this school "
        f"(error {escape(f['error_id'])}), so texts and tasks may be missing: check today's "
        "absences by hand. Other schools are not affected and FirstCall tries again each "
        "minute; give the error ID to whoever looks after FirstCall."
    )


def _texts_held_up(f: dict[str, Any]) -> str:
    return (
        f":warning: Texts to parents are not going out: Twilio has not taken any since "
        f"{f['since']}. FirstCall keeps trying until {f['until']}; a first text still not "
        "sent ten minutes after the register closed becomes a call task here. Phone any "
        "family you need to reach now."
    )


def _texts_flowing(f: dict[str, Any]) -> str:
    return (
        f":white_check_mark: Texts to parents are going out again (held up since "
        f"{f['since']}); those waiting are being sent now."
    )


NOTICES: dict[str, Callable[[dict[str, Any]], str]] = {
    "texts_held_up": _texts_held_up,
    "texts_flowing": _texts_flowing,
    "text_quarantined": _text_quarantined,
    "school_failed": _school_failed,
    "late_reply_safeguarding": _late_reply_safeguarding,
    "late_reply": _late_reply,
    "opt_change": _opt_change,
}


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
    if kind == "chase":
        return _chase_card(session, ident)
    if kind == "textalert" and ident.isdigit():
        return _text_alert_card(session, int(ident))
    renderers = {
        "case": _case_card,
        "dsl": _dsl_card,
        "leave": _leave_card,
        "sweep": _sweep_card,
        "deadlines": _deadlines_card,
    }
    render = renderers.get(kind)
    return render(session, int(ident)) if render and ident.isdigit() else None


def _task_blocks(tasks: list[StaffTask], *, roles: tuple[str, ...]) -> Blocks:
    blocks: Blocks = []
    for task in tasks:
        if task.role not in roles:
            continue
        title = TASK_KINDS[task.kind].title if task.kind in TASK_KINDS else task.kind
        if task.status == TaskStatus.DONE:
            blocks.append(
                _section(
                    f"~{title}~ {escape(task.outcome.replace('_', ' ')) if task.outcome else 'done'}"
                )
            )
            continue
        who = f" (claimed by {mention(task.claimed_by)})" if task.claimed_by else ""
        blocks.append(_section(f":point_right: *{title}*{who}"))
        buttons = [] if task.claimed_by else [_button("task_claim", "Claim", task.id, "primary")]
        buttons += [_button(a, label, task.id) for a, label in _outcome_buttons(task.kind)]
        blocks.append(_actions(f"task-{task.id}", buttons))
    return blocks


def _case_card(session: Session, case_id: int) -> tuple[str, Blocks] | None:
    case = session.get(AbsenceCase, case_id)
    if case is None:
        return None
    pupil = session.get_one(Pupil, case.pupil_id)
    ctx = context_for(session.get_one(School, case.school_id))
    days = ctx.settings.calendar.school_days_between(case.opened_on, case.last_absent_on)
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
    if case.return_date and case.status in ("explained", "confirmed"):
        lines.append(f"Off until {short_date(case.return_date)}, the family says")
    if case.status == "expected" and case.expected_arrival:
        lines.append(
            f"Expected by {case.expected_arrival.astimezone(ctx.settings.tz):%H:%M}; "
            "the ladder waits until then"
        )
    if case.status == CaseStatus.CLOSED:
        lines.append(_how_it_ended(session, case))
    elif case.first_text_at and not case.last_reply_at:
        lines.append("Family texted; no reply yet")
    reply = latest_reply(session, case)
    unread = reply is not None and awaiting_review(session, case, reply)
    if case.safeguarding:
        # The words stay in the DSL channel: a reply flagged safeguarding, or a concern.
        lines.append(":shield: With the DSL")
    else:
        if reply is not None:
            lines.append(reply_words(session, case, reply))
        if with_dsl(session, case):
            lines.append(":shield: With the DSL")
        elif case.dsl_alerted:
            lines.append(":leftwards_arrow_with_hook: The DSL returned this to the office")
    if unread and case.safeguarding:
        lines.append(":mag: *For review* by the DSL before the code is confirmed")
    elif unread and reply is not None:
        why = "; ".join(review_reasons(reply.parse))
        lines.append(f":mag: *For review* ({escape(why)}): open *Change code* to read it")
    if not pupil.on_roll:
        lines.append("Off roll: not in the MIS export any more. Case closed; no more texts.")
    blocks: Blocks = [_section("\n".join(lines))]
    if case.status in (
        CaseStatus.OPEN,
        CaseStatus.EXPECTED,
        CaseStatus.EXPLAINED,
        CaseStatus.CONFIRMED,
    ) or (case.status == CaseStatus.CLOSED and has_uncoded_sessions(session, case)):
        buttons = []
        if (
            case.status != CaseStatus.CONFIRMED
            and case.provisional_code
            and not is_n_code(case.provisional_code)
            and not unread
        ):
            buttons.append(
                _button("case_confirm", f"Confirm {case.provisional_code}", case.id, "primary")
            )
        if case.status != CaseStatus.CONFIRMED:
            buttons.append(_button("case_change", "Change code", case.id))
        buttons.append(_button("case_concern", "Raise a concern", case.id))
        blocks.append(_actions(f"case-{case.id}", buttons))
    blocks += _task_blocks(tasks_for(session, case.id), roles=("office", "attendance_lead"))
    return (
        f"{short_name(pupil)} ({escape(pupil.class_name)}): {STATUS_WORDS.get(case.status, case.status)}",
        blocks,
    )


def _how_it_ended(session: Session, case: AbsenceCase) -> str:
    """ "Arrived 08:50, L": what the register showed when the case ended."""
    event = session.scalar(
        select(CaseEvent)
        .where(CaseEvent.case_id == case.id, CaseEvent.kind == "arrived")
        .order_by(CaseEvent.id.desc())
    )
    if event is None:
        return "Closed"
    detail = event.detail
    code = escape(detail.get("code") or "")
    if detail.get("at"):
        return f":white_check_mark: Arrived {detail['at']}, {code}"
    when = f"{detail.get('session', '')} {short_date(date.fromisoformat(detail['day']))}"
    return f":white_check_mark: Back in school {when} ({code})"


def _dsl_card(session: Session, case_id: int) -> tuple[str, Blocks] | None:
    case = session.get(AbsenceCase, case_id)
    if case is None:
        return None
    pupil = session.get_one(Pupil, case.pupil_id)
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
    tz = context_for(session.get_one(School, case.school_id)).settings.tz
    blocks: Blocks = [_section("\n".join(lines)), *_alert_blocks(_alerts(session, case), tz)]
    blocks += _task_blocks(tasks_for(session, case.id), roles=("dsl", "office", "attendance_lead"))
    return f"DSL: {full_name(pupil)} ({escape(pupil.class_name)})", blocks


def _alert_blocks(alerts: list[DslAlert], tz: ZoneInfo) -> Blocks:
    """Where the DSL alert stands, and the DSL's two buttons (on the alert waiting longest,
    which answers for the case) while it is theirs."""
    if not alerts:
        return []
    waiting = [a for a in alerts if a.status == AlertStatus.RAISED]
    taken = [a for a in alerts if a.status == AlertStatus.ACKNOWLEDGED]
    if waiting:
        text = (
            f":bell: *Waiting for a DSL* since {_clock(waiting[0].raised_at, tz)}"
            + (
                f" (the reminders start at {_clock(waiting[0].starts_at, tz)}, when school opens)"
                if waiting[0].starts_at > waiting[0].raised_at
                else ""
            )
            + ": press *I'm on it* to take it"
        )
        buttons = _dsl_buttons(waiting[0])
    elif taken:
        last = taken[-1]
        text = f":white_check_mark: {escape(last.decided_by)} is on it (since {_clock(last.decided_at, tz)})"
        buttons = _dsl_buttons(last)[1:]
    else:
        last = alerts[-1]
        return [
            _section(
                f":leftwards_arrow_with_hook: Returned to the office by {escape(last.decided_by)} "
                f"at {_clock(last.decided_at, tz)}: not a safeguarding matter: {escape(last.note)}"
            )
        ]
    return [_section(text), _actions(f"dsl-{alerts[0].id}", buttons)]


def _dsl_buttons(alert: DslAlert) -> list[dict[str, Any]]:
    return [
        _button("dsl_ack", "I'm on it", alert.id, "primary"),
        _button("dsl_return", "Not a safeguarding matter", alert.id),
    ]


def _text_alert_card(session: Session, alert_id: int) -> tuple[str, Blocks] | None:
    """Risk in a text with no open absence: the text, and the DSL's buttons."""
    alert = session.get(DslAlert, alert_id)
    if alert is None or alert.message_id is None:
        return None
    message = session.get(Message, alert.message_id)
    if message is None:
        return None
    tz = context_for(session.get_one(School, alert.school_id)).settings.tz
    facts = {
        "names": _contact_children(session, message),
        "indicators": list((message.parse or {}).get("indicators") or []),
        "body": message.body,
    }
    text = _late_reply_safeguarding(facts)
    return text, [_section(text), *_alert_blocks([alert], tz)]


def _contact_children(session: Session, message: Message) -> str:
    pupils = session.scalars(
        select(Pupil)
        .join(PupilContact, PupilContact.pupil_id == Pupil.id)
        .where(PupilContact.contact_id == message.contact_id)
        .order_by(Pupil.id)
    )
    return children_phrase([f"{p.first_name} {p.last_name[:1]}" for p in pupils]) or "unknown"


def _alerts(session: Session, case: AbsenceCase) -> list[DslAlert]:
    return list(
        session.scalars(select(DslAlert).where(DslAlert.case_id == case.id).order_by(DslAlert.id))
    )


def with_dsl(session: Session, case: AbsenceCase) -> bool:
    """Whether the case is the DSL's: an alert not returned (or one from before alerts had
    a record of their own)."""
    alerts = _alerts(session, case)
    if not alerts:
        return case.dsl_alerted
    return any(a.status != AlertStatus.RETURNED for a in alerts)


def _clock(at: datetime | None, tz: ZoneInfo) -> str:
    return "?" if at is None else at.astimezone(tz).strftime("%H:%M")


def reply_words(session: Session, case: AbsenceCase, reply: Message) -> str:
    """The parent's words as a quote, with who (the contact's relationship), when, and the
    language when not English: what the office reads beside the reading."""
    relationship = session.scalar(
        select(PupilContact.relationship_).where(
            PupilContact.pupil_id == case.pupil_id, PupilContact.contact_id == reply.contact_id
        )
    )
    tz = context_for(session.get_one(School, case.school_id)).settings.tz
    sent = reply.created_at.astimezone(tz)
    when = (
        f"{sent:%H:%M}"
        if sent.date() == case.last_absent_on
        else f"{short_date(sent.date())} {sent:%H:%M}"
    )
    language = language_name((reply.parse or {}).get("language"))
    source = ", ".join(
        part
        for part in (escape(relationship or "a contact"), when, language and f"in {language}")
        if part
    )
    return f"{quote(' '.join(reply.body.split()), REPLY_CHARS)}\n_{source}_"


def reading(parse: dict[str, Any] | None) -> str:
    """How the parser read a reply, in a line."""
    if not parse:
        return "not read"
    parts = [str(parse.get("intent") or "unclear").replace("_", " ")]
    if parse.get("reason"):
        parts.append(str(parse["reason"]))
    per_child = parse.get("per_child") or {}
    if isinstance(per_child, dict) and per_child:
        parts.append(", ".join(f"{name}: {code}" for name, code in per_child.items()))
    elif parse.get("code"):
        parts.append(f"code {parse['code']}")
    if parse.get("return_date"):
        parts.append(f"back {parse['return_date']}")
    return escape(" · ".join(parts))


def _leave_card(session: Session, request_id: int) -> tuple[str, Blocks] | None:
    request = session.get(LeaveRequest, request_id)
    if request is None:
        return None
    ctx = context_for(session.get_one(School, request.school_id))
    pupil = session.get_one(Pupil, request.pupil_id)
    facts = leave_facts(session, ctx, request)
    att = facts["attendance"]
    policy = ctx.settings.policy
    lines = [
        f":airplane: *Leave request #{request.id}*: {full_name(pupil)} ({escape(pupil.class_name)})",
        f"{short_date(request.start_date)} to {short_date(request.end_date)}: {facts['school_days']} school "
        f"days, {facts['sessions']} sessions",
        f"Asked {facts['notice_days']} days ahead (policy: {policy.leave_notice_days})"
        + (" :warning: short notice" if facts["notice_short"] else ""),
        f"Attendance this year: {att.percent if att.percent is not None else '–'}% "
        f"({att.band(policy.persistent_absence_below, policy.severe_absence_below)})",
        f"Reason: {escape(request.reason[:300])}",
        f"Code {'recorded' if request.status == 'approved' else 'if approved'}: *{request.code}* "
        f"({escape(lookup(request.code).meaning)})"
        + ("" if request.status != "pending" else "; `/leave approve ID CODE` to choose another"),
    ]
    if request.note and request.status == "pending":
        lines.append(f"_{escape(request.note)}_")
    if facts["penalty_warning"]:
        lines.append(
            f":warning: {policy.leave_penalty_warning_days} or more school days: a penalty "
            "notice may follow if taken without approval"
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
    ctx = context_for(session.get_one(School, sweep.school_id))
    when = f"{sweep.session} {short_date(sweep.date)}"
    lines = [
        f":clipboard: Register not taken for {escape(name)} ({when}): no texts sent for this class."
        for name in sweep.summary.get("not_taken", [])
    ]
    lines += [
        f":white_check_mark: {escape(name)} ({when}): register came in at {at}; absences followed up."
        for name, at in sweep.summary.get("late", {}).items()
    ]
    lines += [
        f":warning: {escape(name)} ({when}): register came in at {at}, after the session ended: "
        "no texts; the office follows up its absences."
        for name, at in sweep.summary.get("too_late", {}).items()
    ]
    count = sweep.summary.get("new_cases", 0)
    roll = sweep.summary.get("roll", 0) or 1
    share = ctx.settings.policy.mass_absence_share
    if sweep.status == "held":
        held = (
            f":raised_hand: {when}: {count} pupils "
            f"({100 * count / roll:.0f}% of the roll) have no mark or N, above the "
            f"{100 * share:.0f}% the school allows before texting. Check the registers; "
            "if they are right, send the texts."
        )
        text = "\n".join([held, *lines])
        return text, [
            _section(text),
            _actions(
                f"sweep-{sweep.id}",
                [_button("sweep_release", f"Send {count} texts", sweep.id, "primary")],
            ),
        ]
    if sweep.status == "released":
        lines.insert(0, f":white_check_mark: {when}: the office confirmed; {count} texts sent")
    text = "\n".join(lines) or f":white_check_mark: {when}: every register taken"
    return text, [_section(text)]


def _chase_card(session: Session, ident: str) -> tuple[str, Blocks] | None:
    """A step of an unacknowledged alert's chain: posted again to the DSLs, mentioning each,
    or a direct message to the headteacher (first name and initial only: the details stay
    in the DSL channel). Edited to say who took it once a DSL does."""
    alert_id, _, rest = ident.partition(":")
    index, _, channel = rest.partition(":")
    alert = session.get(DslAlert, int(alert_id)) if alert_id.isdigit() else None
    if alert is None or not index.isdigit() or int(index) >= len(alert.chain):
        return None
    step = ChainStep(**alert.chain[int(index)])
    case = session.get(AbsenceCase, alert.case_id) if alert.case_id else None
    pupil = session.get(Pupil, case.pupil_id) if case else None
    settings = context_for(session.get_one(School, alert.school_id)).settings
    dsls = " ".join(mention(s.slack_user_id) for s in settings.staff_with_role("dsl"))
    raised = _clock(alert.raised_at, settings.tz)
    if pupil is None:  # a text with no open absence
        message = session.get_one(Message, alert.message_id)
        head = f"a text from a contact of {escape(_contact_children(session, message))}"
    elif step.kind == "message_headteacher":
        head = f"{short_name(pupil)} ({escape(pupil.class_name)})"
    else:
        head = f"{full_name(pupil)} ({escape(pupil.class_name)})"
    if step.kind == "message_headteacher":
        text = (
            f":rotating_light: A safeguarding alert about {head}, raised at {raised}, has had no "
            f"answer from a DSL for {step.after_minutes} minutes. The details are in the DSL "
            f"channel; please make sure a DSL takes it now: {dsls}"
        )
        can_take = any(
            s.slack_user_id == channel and "dsl" in s.roles for s in settings.staff.values()
        )
    else:
        text = (
            f":rotating_light: {dsls} No DSL has acknowledged the alert about *{head}*, "
            f"raised at {raised}, after {step.after_minutes} minutes. Its card above has the details."
        )
        can_take = True
    if alert.status == AlertStatus.ACKNOWLEDGED:
        done = f":white_check_mark: {escape(alert.decided_by)} is on it (since {_clock(alert.decided_at, settings.tz)})"
        return done, [_section(f"~Unacknowledged alert about {head}~\n{done}")]
    if alert.status == AlertStatus.RETURNED:
        done = f":leftwards_arrow_with_hook: {escape(alert.decided_by)} returned it to the office: not a safeguarding matter"
        return done, [_section(f"~Unacknowledged alert about {head}~\n{done}")]
    blocks: Blocks = [_section(text)]
    if can_take:
        blocks.append(
            _actions(
                f"chase-{alert.id}-{index}",
                _dsl_buttons(alert),
            )
        )
    return text, blocks


# -- slash-command answers: the minimum personal data (first name, initial, class, status,
# code), never a reason a parent gave in confidence or a safeguarding detail.


def dates(start: date, end: date) -> str:
    return short_date(start) if start == end else f"{short_date(start)} to {short_date(end)}"


def _code(case: AbsenceCase) -> str:
    if case.confirmed_code:
        return f"*{case.confirmed_code}*"
    return f"{case.provisional_code} (provisional)" if case.provisional_code else "N"


def cases_today(ctx: SchoolContext, rows: list[tuple[AbsenceCase, Pupil]], now: datetime) -> str:
    day = short_date(ctx.today(now))
    if not rows:
        return f"No open absences today ({day})."
    lines = [f"*Open absences today ({day}): {len(rows)}*"]
    lines += [
        f"• {short_name(pupil)} ({escape(pupil.class_name)}): {STATUS_WORDS.get(case.status, case.status)} · "
        f"code {_code(case)}"
        for case, pupil in rows
    ]
    lines.append("`/absence approve PUPIL` accepts a provisional code; `/absence help` for more.")
    return "\n".join(lines)


def leave_decided(leave: LeaveRequest, pupil: Pupil) -> str:
    told = " The family will be told by text." if leave.contact_id else ""
    if leave.status == "approved":
        return (
            f"Leave request #{leave.id} approved: {short_name(pupil)} ({escape(pupil.class_name)}), "
            f"{dates(leave.start_date, leave.end_date)}; those sessions are pre-marked "
            f"{leave.code}.{told}"
        )
    return (
        f"Leave request #{leave.id} declined: {short_name(pupil)} ({escape(pupil.class_name)}), "
        f"{dates(leave.start_date, leave.end_date)}.{told}"
    )


def pupil_year(year: PupilYear) -> str:
    pupil, stats = year.pupil, year.attendance
    percent = "–" if stats.percent is None else f"{stats.percent}%"
    lines = [
        f"*{full_name(pupil)}* ({escape(pupil.class_name)}, UPN `{escape(pupil.upn)}`)",
        f"Attendance this year: {percent} ({year.band}): {stats.attended} of {stats.possible} "
        f"sessions, {stats.authorised} authorised and {stats.unauthorised} unauthorised absences",
    ]
    if year.open_cases:
        lines += [
            f"Open absence since {short_date(c.opened_on)}: "
            f"{STATUS_WORDS.get(c.status, c.status)} · code {_code(c)}"
            for c in year.open_cases
        ]
    else:
        lines.append("No open absence.")
    if year.recent:
        legend = "" if all(m.confirmed for m in year.recent) else " (? not yet confirmed)"
        lines.append(
            f"Recent marks{legend}: "
            + ", ".join(
                f"{short_date(m.date)} {m.session} {m.code}{'' if m.confirmed else '?'}"
                for m in year.recent
            )
        )
    return "\n".join(lines)


def _deadlines_card(session: Session, task_id: int) -> tuple[str, Blocks] | None:
    """The attendance lead's list of sessions whose code is nearing (or past) its deadline."""
    task = session.get(StaffTask, task_id)
    if task is None or not task.key.startswith("deadlines:"):
        return None
    entries = task.detail.get("sessions", [])
    pupils = {
        p.id: p
        for p in session.scalars(
            select(Pupil).where(Pupil.id.in_({e["pupil_id"] for e in entries}))
        )
    }
    lines = [f":hourglass: *{TASK_KINDS['decide_code'].title}*: {len(entries)} sessions"]
    for entry in entries:
        pupil = pupils.get(entry["pupil_id"])
        if pupil is None:
            continue
        code = entry["code"] or "N"
        what = f"{code} (provisional: confirm it)" if not entry["confirmed"] else code
        lines.append(
            f"• {short_name(pupil)} ({escape(pupil.class_name)}) "
            f"{entry['session']} {short_date(date.fromisoformat(entry['date']))}: {what}, "
            f"due by {short_date(date.fromisoformat(entry['due']))}"
        )
    blocks: Blocks = [_section("\n".join(lines))]
    blocks += _task_blocks([task], roles=("attendance_lead",))
    return lines[0], blocks
