"""The DSL alert's chain, evaluated: an alert nobody acknowledges is posted again to the DSLs,
then sent to the headteacher, as an on-call rota escalates a page. Pure: the steps come from
the school's settings (snapshotted onto the alert when it is raised), the times are passed in.

The chain runs within the school day: an alert raised at night starts its clock at the next
opening, and a step that would fall after closing runs at the next opening instead."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

CHAIN_KINDS = (
    "repost_to_dsls",  # post the alert again in the DSL channel, mentioning each DSL
    "message_headteacher",  # a direct message to each headteacher
)


@dataclass(frozen=True, slots=True)
class ChainStep:
    kind: str
    after_minutes: int  # minutes after the chain starts, within the school day

    @property
    def key(self) -> str:
        return f"{self.kind}@{self.after_minutes}m"


@dataclass(frozen=True, slots=True)
class SchoolDay:
    """When a DSL can be expected to see Slack: the hours staff are in, on days staff are in."""

    opens: time = time(7, 30)
    closes: time = time(18, 0)


def default_chain(ack_minutes: int) -> tuple[ChainStep, ...]:
    return (
        ChainStep("repost_to_dsls", ack_minutes),
        ChainStep("message_headteacher", 2 * ack_minutes),
    )


def within_day(
    at: datetime, hours: SchoolDay, is_staffed_day: Callable[[date], bool], tz: ZoneInfo
) -> datetime:
    """`at` if the school is open then, else the next opening."""
    local = at.astimezone(tz)
    day = local.date()
    if is_staffed_day(day) and hours.opens <= local.time() < hours.closes:
        return at
    if not (is_staffed_day(day) and local.time() < hours.opens):
        day += timedelta(days=1)
        for _ in range(400):  # a year of closed days would be a settings mistake
            if is_staffed_day(day):
                break
            day += timedelta(days=1)
    return datetime.combine(day, hours.opens, tzinfo=tz)


def step_due_at(
    step: ChainStep,
    starts_at: datetime,
    hours: SchoolDay,
    is_staffed_day: Callable[[date], bool],
    tz: ZoneInfo,
) -> datetime:
    return within_day(starts_at + timedelta(minutes=step.after_minutes), hours, is_staffed_day, tz)


def due_steps(
    steps: Sequence[ChainStep],
    starts_at: datetime,
    done: frozenset[str],
    now: datetime,
    hours: SchoolDay,
    is_staffed_day: Callable[[date], bool],
    tz: ZoneInfo,
) -> list[ChainStep]:
    """The steps due at `now` not yet done, in order (after downtime, every one missed)."""
    return [
        s
        for s in steps
        if s.key not in done and step_due_at(s, starts_at, hours, is_staffed_day, tz) <= now
    ]


def next_due(
    steps: Sequence[ChainStep],
    starts_at: datetime,
    done: frozenset[str],
    hours: SchoolDay,
    is_staffed_day: Callable[[date], bool],
    tz: ZoneInfo,
) -> datetime | None:
    """When the next step not yet done falls due, or None at the end of the chain."""
    return min(
        (step_due_at(s, starts_at, hours, is_staffed_day, tz) for s in steps if s.key not in done),
        default=None,
    )
