"""Reading parents' replies to the first-day absence text.

`parse_reply` turns one SMS into an intent, a provisional DfE attendance code, a reason,
a return date, a future leave, the reply's language and safeguarding flags.  The rule
engine (classify, dates, safeguarding) reads what rules read exactly; the learned model
(learned, trained by `make model` on corpus/) decides intent and code and widens
safeguarding (combine).  Pure: no clock, no database; the school calendar comes in as
`is_school_day` (weekdays when not given).
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Sequence
from datetime import date

from . import languages
from .classify import read_rules
from .combine import combine
from .learned import Learned, shipped
from .model import INTENTS, Intent, LeavePeriod, ParsedReply

__all__ = ["INTENTS", "Intent", "LeavePeriod", "ParsedReply", "load", "parse_reply"]

_FALLBACK = ParsedReply(
    intent="unclear",
    code="N",
    confidence=0.0,
    needs_review=True,
    review_reasons=("could not be read",),
)


def parse_reply(
    text: str,
    today: date,
    children: Sequence[str] = (),
    *,
    is_school_day: Callable[[date], bool] | None = None,
    model: Learned | None = None,
) -> ParsedReply:
    """Read one reply.  Never raises: anything unreadable comes back as unclear, for review.

    `model` replaces the shipped model (the benchmark's cross-validation folds)."""
    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8", errors="replace")
        elif not isinstance(text, str):
            text = "" if text is None else str(text)
        names = [str(c) for c in children if c] if children else []
        rules = read_rules(text, today, names, is_school_day)
        learned = model or shipped()
        return combine(rules, text, today, learned) if learned else rules.parsed
    except Exception:  # noqa: BLE001 - the parser must never take the reply pipeline down with it
        return _FALLBACK


def load() -> None:
    """Load what the parser reads with (the model, the concept lexicon, the phrase tables,
    the language detector) now rather than on the first reply, and set it all aside from
    the garbage collector: it lives as long as the process, and a full collection that
    walks its hundred thousand objects stalls whichever reply it lands on by 25 to 50 ms.
    For a process that will read many replies (the web app, the worker, a benchmark)."""
    parse_reply("She has a temperature, back tomorrow", date(2026, 3, 11), ["Mia"])
    languages.warm()
    gc.freeze()
