"""Simulated parents: how each family answers the first text (or doesn't), in varied words.
Deterministic for a seed; one family per day raises a safeguarding concern and one asks for
leave, so every path of the product shows up in a short run."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta

REPLIES: dict[str, tuple[str, ...]] = {
    "illness": (
        "Sorry {name} has been sick all night, keeping {them} home today",
        "{name} has a temperature so staying off, hopefully back tomorrow",
        "hi {name} is poorly with a bad cough and cold, won't be in",
        "{name} woke up with D&V, will be back when 48hrs clear",
        "Sorry forgot to ring, {name} has tonsillitis. Dr said rest",
        "{name} jest chory, ma gorączkę",  # families write in their own language too
        "{name} este bolnav azi, are febră",
    ),
    "medical": (
        "{name} has a dentist appointment at 10, will bring {them} in after",
        "Hospital appointment for {name} this morning, letter to follow",
        "{name} is at the orthodontist, back in for lunch",
    ),
    "late": (
        "Running late, car wouldn't start, be there in 20 mins",
        "Sorry we overslept! On our way now",
        "stuck in traffic, {name} will be in by 9.30",
    ),
    "other": (
        "{name} didn't want to come in today, we've had a rough morning",
        "We're at a family birthday today sorry",
        "It's my birthday so {name} is having the day with me",
    ),
    "unclear": ("ok", "who is this?", "will ring the office later", "?"),
}
SAFEGUARDING = "{name} hasn't come home since last night and I don't know where {they} is"
LEAVE = "{name} is off with a cold today. Also can {they} have {start} to {end} off for a family wedding abroad?"
STOP = "STOP"


@dataclass(frozen=True)
class Plan:
    """What one contact will do: reply after `delay` with `text`, or never (text None)."""

    text: str | None
    delay: timedelta
    kind: str


def plan_reply(
    rng: random.Random,
    names: list[str],
    *,
    safeguarding: bool,
    leave: bool,
    stop: bool,
    leave_dates: tuple[str, str],
) -> Plan:
    name = " and ".join(names)
    them, they = (
        ("them", "they")
        if len(names) > 1
        else ("him", "he")
        if rng.random() < 0.5
        else ("her", "she")
    )
    delay = timedelta(minutes=rng.randint(3, 40))
    if safeguarding:
        return Plan(SAFEGUARDING.format(name=name, they=they), delay, "safeguarding")
    if leave:
        return Plan(
            LEAVE.format(name=name, they=they, start=leave_dates[0], end=leave_dates[1]),
            delay,
            "leave_request",
        )
    if stop:
        return Plan(STOP, delay, "opt_out")
    roll = rng.random()
    if roll < 0.22:
        return Plan(None, delay, "no_reply")
    kind = (
        "illness"
        if roll < 0.6
        else "medical"
        if roll < 0.7
        else "late"
        if roll < 0.8
        else "other"
        if roll < 0.9
        else "unclear"
    )
    return Plan(rng.choice(REPLIES[kind]).format(name=name, them=them, they=they), delay, kind)
