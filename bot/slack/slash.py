"""Slash commands: /absence, /leave and /pupil. Each subcommand authorises, reads its words,
makes one workflow call and says what happened, in a reply only the asker sees."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.slack import arguments, render
from bot.slack.acting import (
    ANY_STAFF,
    CASE_ROLES,
    LEAVE_DECISION_ROLES,
    LEAVE_REQUEST_ROLES,
    PUPIL_ROLES,
    StaffRequest,
    acting,
)
from bot.slack.errors import UsageError, words_for
from bot.slack.mrkdwn import escape
from bot.workflow.decisions import DecisionError, arrived, current_case, set_case_code
from bot.workflow.dsl import raise_concern
from bot.workflow.leave import LeaveError, decide_leave, file_leave_request
from bot.workflow.overview import open_cases_today, pupil_year
from bot.workflow.review import require_read
from bot.workflow.staff import NotFound, find_pupil
from rules.codes import CODES
from storage.models import LeaveRequest, Pupil, SlackRequest

Handler = Callable[[StaffRequest, str], str]

USAGE = {
    "/absence": (
        "*/absence*: today's open absences\n"
        "*/absence approve PUPIL*: accept the code the parent's reply suggested\n"
        "*/absence code PUPIL CODE REASON*: set a code, e.g. `/absence code Jayden Smith I rang in, temperature`\n"
        "*/absence arrived PUPIL [HH:MM]*: a late arrival (L or U by the school's times; default now)\n"
        "*/absence concern PUPIL: NOTE*: pass a worry about a pupil with an open absence to the DSL\n"
        "PUPIL is a UPN or a name."
    ),
    "/leave": (
        "*/leave request PUPIL FROM TO REASON*: dates as YYYY-MM-DD or DD/MM/YYYY, "
        "e.g. `/leave request Zara Smith 04/05/2026 08/05/2026 family wedding`\n"
        "*/leave approve ID [CODE] [NOTE]*, */leave decline ID [NOTE]*: the headteacher's decision "
        "(the ID is on the request's card; CODE, when approving, is C, R, T, C1, J1, S, C2 or M, "
        "default from the reason)"
    ),
    "/pupil": "*/pupil PUPIL*: attendance this year, open absences and recent codes. PUPIL is a UPN or a name.",
}


def run_command(
    factory: sessionmaker[Session],
    now: datetime,
    *,
    command: str,
    text: str,
    user_id: str,
    channel_id: str | None,
    request_id: str | None = None,
) -> str:
    """The reply to a slash command, whatever happens. With `request_id` (Slack's trigger ID,
    the same in every retry or replay of one command) the command acts once: a repeat gets
    the first reply and changes nothing."""
    handler, words = _route(command, text.strip())
    try:
        with acting(factory, user_id, channel_id, now) as request:
            if request_id and (earlier := answered(request.session, request_id)) is not None:
                return earlier
            reply = handler(request, words)
            if request_id:
                remember(request.session, request_id, reply, now)
            return reply
    except IntegrityError:
        # The same command answered meanwhile by another process: its reply, and nothing else.
        with factory() as session:
            earlier = answered(session, request_id) if request_id else None
        return earlier if earlier is not None else words_for(RuntimeError("conflict"))
    except Exception as exc:  # noqa: BLE001 - every failure is turned into words, once
        return words_for(exc)


# Slack refuses a signature older than five minutes, so a day covers every possible replay.
REMEMBER_FOR = timedelta(days=1)


def answered(session: Session, request_id: str) -> str | None:
    return session.scalar(select(SlackRequest.reply).where(SlackRequest.key == request_id))


def remember(session: Session, request_id: str, reply: str, now: datetime) -> None:
    """Keep the reply under the request's ID, in the command's transaction (a second insert
    of the same ID fails the transaction, so the command's work is undone with it)."""
    session.execute(delete(SlackRequest).where(SlackRequest.at < now - REMEMBER_FOR))
    session.add(SlackRequest(key=request_id, reply=reply, at=now))
    session.flush()


SUBCOMMANDS: dict[str, dict[str, Handler]] = {}  # filled in below the handlers


def _route(command: str, text: str) -> tuple[Handler, str]:
    """The handler and the words it reads. /pupil has no subcommands: its words are the pupil."""
    subcommand, _, rest = text.partition(" ")
    if command == "/pupil" and subcommand.lower() not in ("", "help"):
        return pupil, text
    found = SUBCOMMANDS.get(command, {}).get(subcommand.lower())
    return (found, rest.strip()) if found else (_usage(command), "")


def _usage(command: str) -> Handler:
    def usage(request: StaffRequest, _rest: str) -> str:
        request.authorise(f"{command} help", ANY_STAFF)
        return USAGE.get(command, "Try /absence, /leave or /pupil.")

    return usage


def _pupil(request: StaffRequest, words: str) -> Pupil:
    assert request.member is not None
    if not words:
        raise UsageError("say which pupil: a UPN or a name")
    found = find_pupil(request.session, request.member.ctx, words)
    request.touched("pupils", found.id)
    return found


# -- /absence ---------------------------------------------------------------------------------


def absence_list(request: StaffRequest, _rest: str) -> str:
    member = request.authorise("/absence", CASE_ROLES)
    return render.cases_today(
        member.ctx, open_cases_today(request.session, member.ctx, request.now), request.now
    )


def absence_approve(request: StaffRequest, rest: str) -> str:
    member = request.authorise("/absence approve", CASE_ROLES)
    pupil = _pupil(request, rest)
    case = current_case(request.session, pupil)
    require_read(request.session, case)
    code = set_case_code(
        request.session,
        member.ctx,
        case,
        member,
        code=None,
        reason="provisional code confirmed by staff (/absence approve)",
        now=request.now,
    )
    return f"Done: {render.short_name(pupil)} ({escape(pupil.class_name)}) is coded *{code}*."


def absence_code(request: StaffRequest, rest: str) -> str:
    member = request.authorise("/absence code", CASE_ROLES)
    first_miss: NotFound | None = None
    for words in arguments.code_choices(rest):
        try:
            pupil = _pupil(request, words.pupil)
        except NotFound as exc:
            first_miss = first_miss or exc
            continue
        if not words.reason:
            raise UsageError(
                f"give the reason for {words.code} after the code: the register keeps it"
            )
        case = current_case(request.session, pupil)
        code = set_case_code(
            request.session,
            member.ctx,
            case,
            member,
            code=words.code,
            reason=words.reason,
            now=request.now,
        )
        return f"Done: {render.short_name(pupil)} ({escape(pupil.class_name)}) is coded *{code}*."
    raise first_miss or NotFound("no pupil matches")


def absence_arrived(request: StaffRequest, rest: str) -> str:
    member = request.authorise("/absence arrived", CASE_ROLES)
    words, at = arguments.arrival(rest)
    pupil = _pupil(request, words)
    local = member.ctx.local(request.now)
    at = at or local.time().replace(second=0, microsecond=0)
    if at > local.time():
        raise UsageError(f"{at:%H:%M} is still to come; give the time they arrived")
    code = arrived(request.session, member.ctx, pupil, member, at=at, now=request.now)
    return f"Done: {render.short_name(pupil)} ({escape(pupil.class_name)}) arrived at {at:%H:%M}: marked *{code}*."


def absence_concern(request: StaffRequest, rest: str) -> str:
    member = request.authorise("/absence concern", ANY_STAFF)
    pupil, note = _pupil_and_note(request, rest)
    try:
        case = current_case(request.session, pupil)
    except DecisionError:
        dsls = ", ".join(s.name for s in member.ctx.settings.staff_with_role("dsl"))
        raise DecisionError(
            f"{pupil.first_name} has no open absence, so FirstCall has nothing to attach it to: "
            f"tell a DSL now ({dsls})"
        ) from None
    raise_concern(request.session, member.ctx, case, member, note, now=request.now)
    return (
        f"Sent to the DSL: your concern about {render.short_name(pupil)} "
        f"({escape(pupil.class_name)}), with your name. Thank you."
    )


def _pupil_and_note(request: StaffRequest, rest: str) -> tuple[Pupil, str]:
    """The pupil and the note: after a colon, or where the words stop naming one pupil
    exactly (a forgiving match would swallow the note's first words into the name)."""
    choices = arguments.pupil_and_note(rest)
    if len(choices) == 1:
        words, note = choices[0]
        return _pupil(request, words), note
    for words, note in choices:
        try:
            pupil = _pupil(request, words)
        except NotFound:
            continue
        exact = {pupil.upn, pupil.first_name, f"{pupil.first_name} {pupil.last_name}"}
        if words.lower() in {name.lower() for name in exact}:
            return pupil, note
    raise UsageError(
        "put a colon after the pupil's name: /absence concern Jayden Smith: what worries you"
    )


# -- /leave -----------------------------------------------------------------------------------


def leave_request(request: StaffRequest, rest: str) -> str:
    member = request.authorise("/leave request", LEAVE_REQUEST_ROLES)
    words = arguments.leave_request(rest)
    if words.start < member.ctx.today(request.now):
        raise LeaveError(
            "leave is asked for in advance; for days already past, set the code with /absence code"
        )
    pupil = _pupil(request, words.pupil)
    filed = file_leave_request(
        request.session,
        member.ctx,
        pupil,
        None,
        text=words.reason,
        contact=None,
        now=request.now,
        start=words.start,
        end=words.end,
        requested_by=f"{member.staff.name} ({member.staff.position})",
    )
    return (
        f"Leave request #{filed.id} for {render.short_name(pupil)} ({escape(pupil.class_name)}), "
        f"{render.dates(filed.start_date, filed.end_date)}, is with the headteacher."
    )


def leave_approve(request: StaffRequest, rest: str) -> str:
    return _decide(request, rest, approve=True)


def leave_decline(request: StaffRequest, rest: str) -> str:
    return _decide(request, rest, approve=False)


def _decide(request: StaffRequest, rest: str, *, approve: bool) -> str:
    verb = "approve" if approve else "decline"
    member = request.authorise(f"/leave {verb}", LEAVE_DECISION_ROLES)
    ident, _, note = rest.strip().partition(" ")
    if not ident:
        raise UsageError(f"give the request's number: /leave {verb} ID [NOTE]")
    leave = request.load(LeaveRequest, arguments.parse_id(ident, "leave request"), "leave request")
    # "/leave approve 12 R Eid": a code as the first word chooses the leave's code (a code
    # that is no leave code is refused, not taken as the note; "I" is a word, not illness).
    first, _, after = note.strip().partition(" ")
    code = first if approve and first in CODES and first != "I" else None
    decided = decide_leave(
        request.session,
        member.ctx,
        leave,
        approve=approve,
        decided_by=member.actor,
        note=(after if code else note).strip(),
        now=request.now,
        code=code,
    )
    return render.leave_decided(decided, request.session.get_one(Pupil, decided.pupil_id))


# -- /pupil -----------------------------------------------------------------------------------


def pupil(request: StaffRequest, rest: str) -> str:
    member = request.authorise("/pupil", PUPIL_ROLES)
    return render.pupil_year(
        pupil_year(request.session, member.ctx, _pupil(request, rest), request.now)
    )


SUBCOMMANDS.update(
    {
        "/absence": {
            "": absence_list,
            "list": absence_list,
            "today": absence_list,
            "approve": absence_approve,
            "confirm": absence_approve,
            "code": absence_code,
            "arrived": absence_arrived,
            "concern": absence_concern,
            "late": absence_arrived,
        },
        "/leave": {"request": leave_request, "approve": leave_approve, "decline": leave_decline},
    }
)
