"""Reading the words typed after a slash command: dates, times, codes, ids and where a
pupil's name ends. Pure functions; what cannot be read raises UsageError with a hint."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, time

from bot.slack.errors import UsageError
from rules.calendar import NotADate, looks_like_date, parse_date
from rules.codes import UnknownCode, lookup

_TIME = re.compile(r"^(\d{1,2})[:.](\d{2})$")


def date_argument(word: str) -> date:
    try:
        return parse_date(word)
    except NotADate as problem:
        raise UsageError(f"“{word}” {problem}") from None


def parse_time(word: str) -> time:
    found = _TIME.match(word)
    if found is None:
        raise UsageError(f"“{word}” is not a time: use HH:MM, e.g. 09:05")
    hours, minutes = map(int, found.groups())
    if hours > 23 or minutes > 59:
        raise UsageError(f"“{word}” is not a time of day")
    return time(hours, minutes)


def parse_id(word: str, what: str) -> int:
    text = word.strip().lstrip("#")
    if not text.isdigit():
        raise UsageError(f"give the {what} number, e.g. 12 (it is on the card), not “{word}”")
    return int(text)


@dataclass(frozen=True)
class LeaveWords:
    pupil: str
    start: date
    end: date
    reason: str


def leave_request(text: str) -> LeaveWords:
    """PUPIL FROM [TO] REASON: the pupil is every word before the first date."""
    words = text.split()
    first = next((i for i, w in enumerate(words) if looks_like_date(w)), None)
    if first is None or first == 0:
        raise UsageError(
            "say who and when: /leave request PUPIL FROM TO REASON, "
            "e.g. /leave request Zara Smith 04/05/2026 08/05/2026 family wedding"
        )
    start = date_argument(words[first])
    rest = words[first + 1 :]
    end = date_argument(rest.pop(0)) if rest and looks_like_date(rest[0]) else start
    if not rest:
        raise UsageError("give the reason for the leave after the dates")
    return LeaveWords(" ".join(words[:first]), start, end, " ".join(rest))


@dataclass(frozen=True)
class CodeWords:
    pupil: str
    code: str
    reason: str


def code_choices(text: str) -> list[CodeWords]:
    """PUPIL CODE REASON, read every way it can be: each later word that is an attendance
    code could end the pupil's name ("Smith M I ill" may be Smith M, code I). The caller
    takes the first reading whose pupil exists."""
    words = text.split()
    if len(words) < 2:
        raise UsageError(
            "say who, the code and why: /absence code PUPIL CODE REASON, "
            "e.g. /absence code Jayden Smith I rang in with a temperature"
        )
    choices = []
    for i in range(1, len(words)):
        try:
            code = lookup(words[i]).code
        except UnknownCode:
            continue
        choices.append(CodeWords(" ".join(words[:i]), code, " ".join(words[i + 1 :])))
    if not choices:
        raise UsageError(
            f"there is no attendance code in “{text}”: /absence code PUPIL CODE REASON"
        )
    return choices


def arrival(text: str) -> tuple[str, time | None]:
    """PUPIL [HH:MM]."""
    words = text.split()
    if words and _TIME.match(words[-1]):
        return " ".join(words[:-1]), parse_time(words[-1])
    return " ".join(words), None


def pupil_and_note(text: str) -> list[tuple[str, str]]:
    """PUPIL NOTE (or PUPIL: NOTE), read every way it can be, longest name first; the caller
    takes the first reading that names exactly one pupil."""
    name, colon, note = text.partition(":")
    if colon and name.strip() and note.strip():
        return [(name.strip(), note.strip())]
    words = text.split()
    if len(words) < 2:
        raise UsageError(
            "say who and what worries you: /absence concern PUPIL NOTE, "
            "e.g. /absence concern Jayden Smith: mum sounded frightened on the phone"
        )
    return [
        (" ".join(words[:i]), " ".join(words[i:])) for i in range(min(3, len(words) - 1), 0, -1)
    ]
