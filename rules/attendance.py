"""Attendance statistics from a pupil's codes (DfE definitions)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from rules.codes import lookup


@dataclass(frozen=True, slots=True)
class Attendance:
    possible: int
    attended: int
    authorised: int
    unauthorised: int

    @property
    def percent(self) -> float | None:
        return None if self.possible == 0 else round(100.0 * self.attended / self.possible, 1)

    def band(self, persistent_below: float = 90.0, severe_below: float = 50.0) -> str:
        pct = self.percent
        if pct is None:
            return "no sessions yet"
        if pct < severe_below:
            return "severe absence"
        if pct < persistent_below:
            return "persistent absence"
        return "ok"


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
