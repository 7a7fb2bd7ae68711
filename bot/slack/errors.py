"""Errors turned into words, once, for every Slack handler.

Expected errors (a refusal, a pupil not found or not unique, a decision the workflow will not
make, words that could not be read) become a polite sentence for the person who asked. Any
other exception gets a short message with an error ID; the log line carries the ID, the
exception's type and where it was raised, never its message: messages can hold children's
names, phone numbers and what their parents wrote.
"""

from __future__ import annotations

import logging
import secrets

from bot.logs import where
from bot.slack.mrkdwn import escape
from bot.workflow.decisions import DecisionError
from bot.workflow.leave import LeaveError
from bot.workflow.staff import Ambiguous, RoleError
from rules.codes import UnknownCode

log = logging.getLogger("firstcall.slack")


class UsageError(ValueError):
    """The words of a command could not be read; the message says what was expected."""


def words_for(exc: Exception) -> str:
    """What to tell the person whose request raised `exc`. Never a traceback."""
    if isinstance(exc, RoleError):
        return escape(exc)  # already a full, polite sentence
    if isinstance(exc, Ambiguous):
        return _choose_from(exc)
    if isinstance(exc, LookupError):  # NotFound, and "no longer exists" from the workflow
        return f"Sorry, I couldn't find that: {escape(exc)}."
    if isinstance(exc, UnknownCode):
        return f"Sorry, {escape(exc)}. Codes are the 2024 set, e.g. I (illness), M (medical), O (unauthorised)."
    if isinstance(exc, DecisionError | LeaveError | UsageError):
        return f"Sorry, {escape(exc)}."
    return unexpected(exc)


def unexpected(exc: BaseException) -> str:
    """Log an unexpected failure under a fresh ID (no data, only where it happened)."""
    error_id = secrets.token_hex(4)
    log.error(
        "slack request failed: error %s: %s at %s",
        error_id,
        type(exc).__name__,
        where(exc.__traceback__, 6) or "?",
    )
    return (
        f"Sorry, something went wrong on our side (error {error_id}). Nothing was changed; "
        "please try again, and give that error ID to whoever looks after FirstCall if it keeps happening."
    )


def _choose_from(exc: Ambiguous) -> str:
    lines = [
        f"More than one pupil matches “{escape(exc.args[0])}”. Which one? Use the UPN to be sure:"
    ]
    lines += [
        f"• {escape(name)}, {escape(class_name)}, UPN `{escape(upn)}`"
        for name, class_name, upn in exc.candidates
    ]
    return "\n".join(lines)
