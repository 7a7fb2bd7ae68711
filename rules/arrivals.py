"""Late arrivals the family tells the school about: when the child is expected and the code
that arrival would earn, by the school's session times. Pure."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta

from rules.codes import arrival_code
from rules.settings import SessionTimes

# "by 9.30", "at 10", "9:15", "10am", "half nine" is left to staff: a time needs digits.
_CLOCK = re.compile(
    r"\b(?:by|at|around|about|for|before)?\s*(\d{1,2})(?:[:.](\d{2}))?\s*(am|pm)?\b", re.I
)
_IN = re.compile(
    r"\bin\s+(?:about\s+|around\s+)?(\d{1,3}|an?|half an)\s*(min\w*|hour\w*|hr\w*)", re.I
)


def said_time(text: str, now: datetime) -> datetime | None:
    """The arrival time in a reply ("be there by 9.30", "in 20 minutes"), on `now`'s day and
    in its time zone; None when it gives none. Only school-day hours (07:00-16:59) count,
    so "2 kids" or "year 6" is not read as a time."""
    relative = _IN.search(text)
    if relative:
        amount, unit = relative.group(1).lower(), relative.group(2).lower()
        count = {"a": 1, "an": 1, "half an": 0.5}.get(amount)
        value = float(count if count is not None else int(amount))
        minutes = value * 60 if unit.startswith(("hour", "hr")) else value
        return now + timedelta(minutes=minutes)
    for match in _CLOCK.finditer(text):
        hour, minute, meridiem = int(match.group(1)), int(match.group(2) or 0), match.group(3)
        has_clue = match.group(2) or meridiem or match.group(0).strip()[:1].isalpha()
        if not has_clue or minute > 59:
            continue
        if meridiem and meridiem.lower() == "pm" and hour < 12:
            hour += 12
        elif not meridiem and 1 <= hour <= 4:
            hour += 12  # "by 1.30" in a school day is the afternoon
        if 7 <= hour <= 16:
            return now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    return None


def expected_by(
    text: str, now: datetime, closes: datetime, late_cutoff: datetime, wait: timedelta
) -> datetime:
    """When the ladder stops waiting for a child the family says is on the way: the time they
    gave, else the school's late cut-off, and never sooner than `wait` from now."""
    given = said_time(text, now)
    if given is not None and given > now:
        return given
    return max(late_cutoff, now + wait) if late_cutoff > now else now + wait


def expected_code(session_label: str, expected: datetime, times: SessionTimes) -> str:
    """The provisional code for an arrival at `expected`: L by `late_until` (the close when
    the school has none), U after."""
    clock = time(expected.hour, expected.minute)
    return arrival_code(session_label, clock, times.register_closes, times.late_cutoff)
