"""Whether a parent's reply gets an acknowledgement: one per contact per case within the
school's quiet period, so a parent who texts eight times is not answered eight times."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta


def outside_quiet_period(previous: Iterable[datetime], now: datetime, quiet: timedelta) -> bool:
    """True unless this contact was acknowledged about these cases within `quiet` of `now`."""
    return all(now - at >= quiet for at in previous)
