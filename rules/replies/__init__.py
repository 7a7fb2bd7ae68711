"""Reading parents' replies to the first-day absence text.

`parse_reply` turns one SMS into an intent, a provisional DfE attendance code, a reason,
a return date, leave dates and safeguarding flags.  Pure: no I/O, no clock, no database;
the school calendar comes in as `is_school_day` (weekdays when not given).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date

from .classify import read
from .model import INTENTS, Intent, LeavePeriod, ParsedReply

__all__ = ["INTENTS", "Intent", "LeavePeriod", "ParsedReply", "parse_reply"]

_FALLBACK = ParsedReply(intent="unclear", code="N", confidence=0.0, needs_review=True)


def parse_reply(
    text: str,
    today: date,
    children: Sequence[str] = (),
    *,
    is_school_day: Callable[[date], bool] | None = None,
) -> ParsedReply:
    """Read one reply.  Never raises: anything unreadable comes back as unclear, for review."""
    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8", errors="replace")
        elif not isinstance(text, str):
            text = "" if text is None else str(text)
        names = [str(c) for c in children if c] if children else []
        return read(text, today, names, is_school_day)
    except Exception:  # the parser must never take the reply pipeline down with it
        return _FALLBACK
