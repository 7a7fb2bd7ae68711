"""Attendance statistics from a pupil's codes (DfE definitions)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction

from rules.codes import lookup


@dataclass(frozen=True, slots=True)
class Attendance:
    possible: int
    attended: int
    authorised: int
    unauthorised: int

    @property
    def percent(self) -> float | None:
        """Attendance to one decimal place, for people to read; never for a threshold."""
        return None if self.possible == 0 else round(100.0 * self.attended / self.possible, 1)

    def band(self, persistent_below: float = 90.0, severe_below: float = 50.0) -> str:
        """The band by the given thresholds; the defaults are the DfE's (persistent absence
        is missing 10% or more of possible sessions, severe 50% or more), and a school's own
        are policy.persistent_absence_below and severe_absence_below. Compared exactly, in
        whole sessions: 89.96% is persistent absence although it reads 90.0%."""
        if self.possible == 0:
            return "no sessions yet"
        missed = self.possible - self.attended
        if _at_least(missed, self.possible, 100.0 - severe_below):
            return "severe absence"
        if _at_least(missed, self.possible, 100.0 - persistent_below):
            return "persistent absence"
        return "ok"


def _at_least(part: int, whole: int, percent: float) -> bool:
    """part / whole >= percent / 100, without a float division's rounding at the line."""
    return Fraction(part, whole) >= Fraction(str(percent)) / 100


def attendance(codes: Iterable[str | None]) -> Attendance:
    possible = attended = authorised = unauthorised = 0
    for code in codes:
        if code is None:
            continue
        entry = lookup(code)
        if not entry.possible:
            continue
        possible += 1
        attended += entry.attended
        authorised += entry.authorised
        unauthorised += entry.unauthorised
    return Attendance(possible, attended, authorised, unauthorised)
