"""A school with its validated settings, and the school-local times derived from them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

from sqlalchemy import select
from sqlalchemy.orm import Session

from rules.settings import SchoolSettings
from storage.models import School
from storage.schools import settings_for


@dataclass(frozen=True)
class SchoolContext:
    school: School
    settings: SchoolSettings

    @property
    def id(self) -> int:
        return self.school.id

    def local(self, now: datetime) -> datetime:
        return now.astimezone(self.settings.tz)

    def today(self, now: datetime) -> date:
        return self.local(now).date()

    def at(self, day: date, clock: time) -> datetime:
        return datetime.combine(day, clock, tzinfo=self.settings.tz)

    def register_closes(self, day: date, session_label: str) -> datetime:
        return self.at(day, self.settings.sessions[session_label].register_closes)

    def session_ends(self, day: date, session_label: str) -> datetime:
        """Marks for the session arriving before this are still swept (settings `ends`)."""
        return self.at(day, self.settings.sessions[session_label].ends)

    def session_at(self, clock: time) -> str:
        """The session an arrival at `clock` belongs to: AM until the AM ends, then PM."""
        return "AM" if clock < self.settings.sessions["AM"].ends else "PM"

    def is_school_day(self, day: date) -> bool:
        return self.settings.calendar.is_school_day(day)

    def is_staffed_day(self, day: date) -> bool:
        """A school day or an INSET day: a day a DSL is in school to see an alert."""
        return self.is_school_day(day) or (
            day in self.settings.calendar.inset_days and day.weekday() < 5
        )

    def is_open(self, now: datetime) -> bool:
        """Whether the school day (for the DSL chain) is running at `now`."""
        hours = self.settings.policy.school_day
        return self.is_staffed_day(self.today(now)) and (
            hours.opens <= self.local(now).time() < hours.closes
        )


def context_for(school: School) -> SchoolContext:
    return SchoolContext(school, settings_for(school))


def all_contexts(session: Session) -> list[SchoolContext]:
    return [context_for(s) for s in session.scalars(select(School).order_by(School.id))]
