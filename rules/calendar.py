"""The school calendar: which days have a register.

A school day is a weekday inside one of the school's terms that is not an England bank
holiday, an INSET day or another planned closure. A school with no terms configured is
treated as open every weekday that is not a bank or INSET day, so a half-configured school
over-reports absences to staff rather than missing them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cached_property

import holidays

# The two ways staff and MIS exports write a day; UK order, so 03/04/2026 is 3 April.
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_UK = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")


class NotADate(ValueError):
    """Text that is not a day; the message finishes a sentence about the text ("is not a
    date: ..."), so each caller can quote the text its own way."""


def looks_like_date(text: str) -> bool:
    """Shaped like a date (it may still be impossible, e.g. 31/02/2026)."""
    text = text.strip()
    return bool(_ISO.match(text) or _UK.match(text))


def parse_date(text: str) -> date:
    """A day written YYYY-MM-DD or DD/MM/YYYY (a four-digit year either way)."""
    text = text.strip()
    if found := _ISO.match(text):
        year, month, day = map(int, found.groups())
    elif found := _UK.match(text):
        day, month, year = map(int, found.groups())
    else:
        raise NotADate("is not a date: use YYYY-MM-DD or DD/MM/YYYY")
    try:
        return date(year, month, day)
    except ValueError:
        raise NotADate("is not a date on the calendar") from None


@dataclass(frozen=True, slots=True)
class Term:
    name: str
    start: date
    end: date


@dataclass(frozen=True)
class SchoolCalendar:
    terms: tuple[Term, ...] = ()
    inset_days: frozenset[date] = field(default_factory=frozenset)
    closed_days: frozenset[date] = field(default_factory=frozenset)

    @cached_property
    def _bank_holidays(self) -> holidays.HolidayBase:
        years: Iterable[int] = (
            range(
                min(t.start.year for t in self.terms) - 1, max(t.end.year for t in self.terms) + 2
            )
            if self.terms
            else ()
        )
        # Years outside the terms are filled in lazily by `holidays` on lookup.
        return holidays.country_holidays("GB", subdiv="ENG", years=years)

    def is_bank_holiday(self, day: date) -> bool:
        return day in self._bank_holidays

    def in_term(self, day: date) -> bool:
        if not self.terms:
            return True
        return any(t.start <= day <= t.end for t in self.terms)

    def is_school_day(self, day: date) -> bool:
        return (
            day.weekday() < 5
            and self.in_term(day)
            and day not in self.inset_days
            and day not in self.closed_days
            and not self.is_bank_holiday(day)
        )

    def closure_reason(self, day: date) -> str | None:
        """Why there is no register on `day`, or None on a school day."""
        if day.weekday() >= 5:
            return "weekend"
        if self.is_bank_holiday(day):
            return f"bank holiday ({self._bank_holidays.get(day)})"
        if day in self.inset_days:
            return "INSET day"
        if day in self.closed_days:
            return "planned closure"
        if not self.in_term(day):
            return "school holiday"
        return None

    def next_school_day(self, day: date) -> date:
        """The first school day strictly after `day`."""
        probe = day + timedelta(days=1)
        for _ in range(400):
            if self.is_school_day(probe):
                return probe
            probe += timedelta(days=1)
        raise ValueError(f"no school day within 400 days after {day.isoformat()}")

    def previous_school_day(self, day: date) -> date:
        probe = day - timedelta(days=1)
        for _ in range(400):
            if self.is_school_day(probe):
                return probe
            probe -= timedelta(days=1)
        raise ValueError(f"no school day within 400 days before {day.isoformat()}")

    def school_days(self, start: date, end: date) -> Iterator[date]:
        """School days from `start` to `end`, both included."""
        day = start
        while day <= end:
            if self.is_school_day(day):
                yield day
            day += timedelta(days=1)

    def school_days_between(self, start: date, end: date) -> int:
        """How many school days from `start` to `end`, both included (0 if end < start)."""
        return sum(1 for _ in self.school_days(start, end))

    def add_school_days(self, day: date, count: int) -> date:
        """The school day `count` school days after `day` (count >= 0; 0 is `day` itself
        if it is a school day, else the next one)."""
        current = day if self.is_school_day(day) else self.next_school_day(day)
        for _ in range(count):
            current = self.next_school_day(current)
        return current
