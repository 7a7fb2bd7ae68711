"""STOP and START, kept as Twilio keeps them: per number, from the whole message body.

Twilio blocks a number that texted STOP on its own side (a send then fails with 21610); we
mirror that state so the outbox never tries, and staff know to phone instead.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.models import OptOut

KeywordKind = Literal["opt_out", "opt_in", "help"]

# Twilio's default keywords. Only an exact match of the whole body counts (any case, spaces
# trimmed): "stop texting me" is not one, and the reply parser reads it instead.
OPT_OUT_KEYWORDS = frozenset(
    {"STOP", "UNSUBSCRIBE", "END", "QUIT", "STOPALL", "REVOKE", "OPTOUT", "CANCEL"}
)
OPT_IN_KEYWORDS = frozenset({"START", "YES", "UNSTOP"})
HELP_KEYWORDS = frozenset({"HELP", "INFO"})


def keyword_kind(body: str) -> KeywordKind | None:
    word = body.strip().upper()
    if word in OPT_OUT_KEYWORDS:
        return "opt_out"
    if word in OPT_IN_KEYWORDS:
        return "opt_in"
    if word in HELP_KEYWORDS:
        return "help"
    return None


def record_opt_out(
    session: Session, phone: str, *, keyword: str, now: datetime, opted_out: bool = True
) -> OptOut:
    """Set the number's opt-out state (one row per number), in the caller's transaction.

    Two webhooks for the same number can race: the insert runs in a savepoint and, if the
    other one won, the existing row is updated instead of an IntegrityError escaping.
    """
    row = session.scalar(select(OptOut).where(OptOut.phone == phone))
    if row is None:
        row = OptOut(phone=phone, opted_out=opted_out, keyword=keyword[:20], changed_at=now)
        try:
            with session.begin_nested():
                session.add(row)
        except IntegrityError:
            row = session.scalars(select(OptOut).where(OptOut.phone == phone)).one()
        else:
            return row
    row.opted_out, row.keyword, row.changed_at = opted_out, keyword[:20], now
    return row


def is_opted_out(session: Session, phone: str) -> bool:
    return bool(session.scalar(select(OptOut.opted_out).where(OptOut.phone == phone)))
