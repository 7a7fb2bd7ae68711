"""The escalation ladder, evaluated: given what is known about a case and the time, which
steps are due now and when the next one falls due. Pure: the steps come from the school's
settings (snapshotted onto the case when it opened) and the case's state is passed in."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from rules.settings import LadderStep


@dataclass(frozen=True, slots=True)
class CaseState:
    """What the ladder needs to know about one case."""

    opened_at: datetime
    first_text_at: datetime | None
    day_number: int  # school day of the case, 1 on the day it opened
    today: date
    still_absent: bool  # absent (by the register) on `today`
    text_failed: bool  # a text to the family could not be delivered: no reply is possible
    replied: bool  # any contact has replied
    reached: bool  # a contact replied, or staff spoke to the family
    explained: bool  # a reason is known
    vulnerable: bool
    reason: str | None
    n_code: bool  # the session still carries N (no reason established)
    unauthorised: bool  # the confirmed or provisional code is unauthorised
    steps_done: frozenset[str]


@dataclass(frozen=True, slots=True)
class Action:
    kind: str
    key: str  # unique per case: the step and, for daily steps, the day


def condition_holds(step: LadderStep, case: CaseState) -> bool:
    match step.when:
        case "always":
            return True
        case "no_reply":
            return not case.replied
        case "unexplained":
            return not case.explained
        case "vulnerable_unreached":
            return case.vulnerable and not case.reached
        case "unreached":
            return not case.reached
        case "illness":
            return case.reason == "illness"
        case "n_code":
            return case.n_code
        case "unexplained_or_unauthorised":
            return not case.explained or case.unauthorised
    return False


def _key(step: LadderStep, case: CaseState) -> str:
    return f"{step.key}:{case.today.isoformat()}" if step.every_day_from is not None else step.key


def due_actions(steps: Sequence[LadderStep], case: CaseState, now: datetime) -> list[Action]:
    """The steps due at `now` that have not been done and whose condition holds.

    Minute steps count from the first text (or the opening, if nobody could be texted) and
    belong to the first day; an undeliverable text makes them due at once. Day steps fall
    due on that school day of the case or, after downtime, on the first evaluation past it;
    daily steps once on each day from theirs."""
    start = case.first_text_at or case.opened_at
    actions: list[Action] = []
    for step in steps:
        key = _key(step, case)
        if key in case.steps_done or not condition_holds(step, case):
            continue
        if step.after_minutes is not None:
            due = case.day_number == 1 and (
                case.text_failed or now >= start + timedelta(minutes=step.after_minutes)
            )
        else:
            first_day = step.on_day if step.on_day is not None else step.every_day_from
            # The N deadline runs on school days whether or not the pupil is back; the
            # other day steps are about a continuing absence.
            due = (
                first_day is not None
                and case.day_number >= first_day
                and (case.still_absent or step.when == "n_code")
            )
        if due:
            actions.append(Action(step.kind, key))
    return actions


def next_due(steps: Sequence[LadderStep], case: CaseState, now: datetime) -> datetime | None:
    """When a minute step next falls due today, if any. Day steps are woken by the next
    register-close sweep, which continues the case and re-evaluates it."""
    if case.day_number != 1:
        return None
    start = case.first_text_at or case.opened_at
    times = [
        start + timedelta(minutes=step.after_minutes)
        for step in steps
        if step.after_minutes is not None
        and step.key not in case.steps_done
        and start + timedelta(minutes=step.after_minutes) > now
    ]
    return min(times, default=None)
