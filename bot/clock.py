"""The one place a process reads the time: the real clock, or with FIRSTCALL_CLOCK set to an
ISO datetime, a simulated clock that starts there and runs on (rehearsals, the demo)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")
Clock = Callable[[], datetime]


class ClockError(ValueError):
    pass


def parse_instant(text: str, tz: ZoneInfo = LONDON) -> datetime:
    """An ISO datetime; without an offset it is read as school (London) time."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ClockError(f"not an ISO date and time: {text!r} (e.g. 2026-03-10T08:40)") from None
    return value.replace(tzinfo=tz) if value.tzinfo is None else value


def real_clock() -> datetime:
    return datetime.now(UTC)


def simulated_clock(start: datetime) -> Clock:
    origin = time.monotonic()

    def now() -> datetime:
        return start + timedelta(seconds=time.monotonic() - origin)

    return now


def clock_from_env() -> Clock:
    raw = os.environ.get("FIRSTCALL_CLOCK")
    if not raw:
        return real_clock
    try:
        return simulated_clock(parse_instant(raw))
    except ClockError as exc:
        raise ClockError(f"FIRSTCALL_CLOCK: {exc}") from None


class ManualClock:
    """A clock that stands still until moved (tests and the demo replay a day with it), or,
    with `running=True`, runs on from where it was set (`demo --serve`)."""

    def __init__(self, start: datetime, *, running: bool = False) -> None:
        self._now = start
        self._set_at = time.monotonic()
        self.running = running

    def __call__(self) -> datetime:
        if self.running:
            return self._now + timedelta(seconds=time.monotonic() - self._set_at)
        return self._now

    @property
    def now(self) -> datetime:
        return self()

    @now.setter
    def now(self, moment: datetime) -> None:
        self.set(moment)

    def set(self, moment: datetime) -> None:
        self._now, self._set_at = moment, time.monotonic()

    def advance(self, **delta: float) -> datetime:
        """Move on by `timedelta(**delta)`, e.g. `advance(minutes=30)`."""
        self.set(self() + timedelta(**delta))
        return self._now
