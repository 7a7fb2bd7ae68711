"""Buttons on the cards, and the change-code modal. Each button authorises, makes one
workflow call and is done: the card itself is edited through the outbox (the workflow
refreshes it), so a handler only speaks to the clicker when something went wrong."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from bot.slack import modal
from bot.slack.acting import (
    ANY_STAFF,
    CASE_ROLES,
    DSL_ROLES,
    LEAVE_DECISION_ROLES,
    SWEEP_ROLES,
    TASK_ROLES,
    StaffRequest,
    acting,
)
from bot.slack.arguments import parse_id
from bot.slack.errors import words_for
from bot.slack.render import reading, reply_words
from bot.workflow.decisions import claim_task, record_outcome, set_case_code
from bot.workflow.dsl import acknowledge, raise_concern, return_to_office
from bot.workflow.leave import decide_leave
from bot.workflow.review import awaiting_review, latest_reply, reply_opened, require_read
from bot.workflow.sweep import release_held
from bot.workflow.tasks import OUTCOMES
from storage.models import AbsenceCase, DslAlert, LeaveRequest, StaffTask

# What a button does: given the request and the button's value, make the one workflow call;
# return None when the card will say it, or words for the clicker alone.
Work = Callable[[StaffRequest, str], str | None]


def run_button(
    factory: sessionmaker[Session], now: datetime, body: dict[str, Any], work: Work
) -> str | None:
    """The clicker's reply, if any, after the work is committed (or refused, or failed)."""
    action = body["actions"][0]
    try:
        with acting(
            factory, body["user"]["id"], (body.get("channel") or {}).get("id"), now
        ) as request:
            return work(request, str(action.get("value", "")))
    except Exception as exc:  # noqa: BLE001 - every failure is turned into words, once
        return words_for(exc)


def _task(request: StaffRequest, value: str, action: str) -> StaffTask:
    request.authorise(action, ANY_STAFF)
    task = request.load(StaffTask, parse_id(value, "task"), "task")
    request.authorise(action, TASK_ROLES.get(task.role, ANY_STAFF))
    return task


def case_confirm(request: StaffRequest, value: str) -> None:
    member = request.authorise("button case_confirm", CASE_ROLES)
    case = request.load(AbsenceCase, parse_id(value, "case"), "absence case")
    require_read(request.session, case)
    set_case_code(
        request.session,
        member.ctx,
        case,
        member,
        code=None,
        reason="provisional code confirmed from the Slack card",
        now=request.now,
    )


def task_claim(request: StaffRequest, value: str) -> None:
    task = _task(request, value, "button task_claim")
    assert request.member is not None
    claim_task(request.session, request.member.ctx, task, request.member, request.now)


def task_outcome(outcome: str) -> Work:
    def record(request: StaffRequest, value: str) -> None:
        task = _task(request, value, f"button task_{outcome}")
        assert request.member is not None
        record_outcome(
            request.session,
            request.member.ctx,
            task,
            request.member,
            outcome=outcome,
            note="",
            now=request.now,
        )

    return record


def leave_decision(approve: bool) -> Work:
    def decide(request: StaffRequest, value: str) -> None:
        member = request.authorise(
            f"button leave_{'approve' if approve else 'decline'}", LEAVE_DECISION_ROLES
        )
        leave = request.load(LeaveRequest, parse_id(value, "leave request"), "leave request")
        decide_leave(
            request.session,
            member.ctx,
            leave,
            approve=approve,
            decided_by=member.actor,
            note="",
            now=request.now,
        )

    return decide


def dsl_ack(request: StaffRequest, value: str) -> None:
    member = request.authorise("button dsl_ack", DSL_ROLES)
    alert = request.load(DslAlert, parse_id(value, "alert"), "alert")
    acknowledge(request.session, member.ctx, alert, member, request.now)


def sweep_release(request: StaffRequest, value: str) -> None:
    member = request.authorise("button sweep_release", SWEEP_ROLES)
    release_held(request.session, member.ctx, parse_id(value, "register sweep"), request.now)


BUTTONS: dict[str, Work] = {
    "case_confirm": case_confirm,
    "task_claim": task_claim,
    **{f"task_{outcome}": task_outcome(outcome) for outcome in OUTCOMES},
    "leave_approve": leave_decision(True),
    "leave_decline": leave_decision(False),
    "sweep_release": sweep_release,
    "dsl_ack": dsl_ack,
}


# -- modals: change the code, raise a concern, not a safeguarding matter ----------------------

# What a modal-opening button does: authorise, load, and return the view to open.
Prepare = Callable[[StaffRequest, str, str | None], dict[str, Any]]


def open_view(
    factory: sessionmaker[Session], now: datetime, body: dict[str, Any], prepare: Prepare
) -> dict[str, Any] | str:
    """The modal to open for a click, or words for the clicker instead."""
    channel_id = (body.get("channel") or {}).get("id")
    try:
        with acting(factory, body["user"]["id"], channel_id, now) as request:
            return prepare(request, str(body["actions"][0].get("value", "")), channel_id)
    except Exception as exc:  # noqa: BLE001 - every failure is turned into words, once
        return words_for(exc)


def prepare_change_code(
    request: StaffRequest, value: str, channel_id: str | None
) -> dict[str, Any]:
    member = request.authorise("button case_change", CASE_ROLES)
    case = request.load(AbsenceCase, parse_id(value, "case"), "absence case")
    reply = latest_reply(request.session, case)
    shown = None
    # A reply with the DSL is shown only to a DSL: opening it elsewhere is not reading it.
    if reply is not None and (not case.safeguarding or member.has(*DSL_ROLES)):
        shown = [
            "*What they wrote:*",
            reply_words(request.session, case, reply),
            f"*Read as:* {reading(reply.parse)}",
        ]
        if awaiting_review(request.session, case, reply):
            reply_opened(request.session, member.ctx, case, reply, member, request.now)
    return modal.change_code(case, case.pupil, channel_id, shown)


def prepare_concern(request: StaffRequest, value: str, channel_id: str | None) -> dict[str, Any]:
    request.authorise("button case_concern", ANY_STAFF)
    case = request.load(AbsenceCase, parse_id(value, "case"), "absence case")
    return modal.concern(case, case.pupil, channel_id)


def prepare_not_safeguarding(
    request: StaffRequest, value: str, channel_id: str | None
) -> dict[str, Any]:
    request.authorise("button dsl_return", DSL_ROLES)
    alert = request.load(DslAlert, parse_id(value, "alert"), "alert")
    return modal.not_safeguarding(alert.id, channel_id)


MODALS: dict[str, Prepare] = {
    "case_change": prepare_change_code,
    "case_concern": prepare_concern,
    "dsl_return": prepare_not_safeguarding,
}


def submit_change_code(
    factory: sessionmaker[Session], now: datetime, body: dict[str, Any]
) -> dict[str, str]:
    """Apply the modal's code and reason; {} closes the modal, else {block_id: words}."""
    view = body["view"]
    try:
        form = modal.read_change_code(view)
        with acting(factory, body["user"]["id"], form.channel_id, now) as request:
            member = request.authorise("modal case_change", CASE_ROLES)
            case = request.load(AbsenceCase, form.case_id, "absence case")
            set_case_code(
                request.session,
                member.ctx,
                case,
                member,
                code=form.code,
                reason=form.reason,
                now=request.now,
            )
    except Exception as exc:  # noqa: BLE001 - every failure is turned into words, once
        return {modal.block_for(exc): words_for(exc)}
    return {}


def note_submit(
    action: str, roles: tuple[str, ...], model: type[Any], what: str, work: Callable[..., None]
) -> Callable[[sessionmaker[Session], datetime, dict[str, Any]], dict[str, str]]:
    """A note modal's Submit: authorise, load what it is about, make the one workflow call
    with the note; {} closes the modal, else {block_id: words}."""

    def submit(
        factory: sessionmaker[Session], now: datetime, body: dict[str, Any]
    ) -> dict[str, str]:
        try:
            form = modal.read_note(body["view"])
            with acting(factory, body["user"]["id"], form.channel_id, now) as request:
                member = request.authorise(action, roles)
                about = request.load(model, form.ident, what)
                work(request.session, member.ctx, about, member, form.text, now=now)
        except Exception as exc:  # noqa: BLE001 - every failure is turned into words, once
            return {modal.block_for(exc, modal.NOTE_BLOCK): words_for(exc)}
        return {}

    return submit


Submit = Callable[[sessionmaker[Session], datetime, dict[str, Any]], dict[str, str]]
SUBMITS: dict[str, Submit] = {
    modal.CALLBACK_ID: submit_change_code,
    modal.CONCERN_ID: note_submit(
        "modal case_concern", ANY_STAFF, AbsenceCase, "absence case", raise_concern
    ),
    modal.RETURN_ID: note_submit(
        "modal dsl_return", DSL_ROLES, DslAlert, "alert", return_to_office
    ),
}
