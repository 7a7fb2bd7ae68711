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
