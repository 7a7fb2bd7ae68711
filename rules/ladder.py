"""The escalation ladder in one place: its step kinds and conditions, the default ladder, and
its evaluation (given what is known about a case and the time, which steps are due now and
when the next one falls due). Pure: the steps come from the school's settings (snapshotted
onto the case when it opened) and the case's state is passed in.

A new step kind is added here (STEP_KINDS), given a handler in bot/workflow/timers.py
(STEP_HANDLERS) and, if it opens a task, a row in bot/workflow/tasks.py (TASK_KINDS), and a
row in the README's step table; tests/bot/test_ladder_sync.py names whichever is missing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

# The step kinds and what each does (the bot's handlers: bot/workflow/timers.py).
STEP_KINDS = (
    "text_next_contacts",  # text the contacts not yet texted, next in priority
    "call_task",  # a task for the office to phone the family
    "follow_up_text",  # a further text to the contacts already texted
    "home_visit",  # a home-visit task
    "dsl_alert",  # tell the DSL
    "medical_evidence",  # ask the family for medical evidence
    "decide_code",  # nudge the office: the N code must be replaced
    "set_code_o",  # record O where N stays past the deadline
    "tell_la",  # a task to tell the local authority
    "cme_referral",  # a children-missing-education referral task for the DSL
)
# When a step applies, beyond its timing.
STEP_CONDITIONS = (
    "no_reply",  # no reply from any contact yet
    "unexplained",  # no reason known (N or no mark)
    "vulnerable_unreached",  # a vulnerable pupil and no contact reached
    "unreached",  # no contact reached at all (no reply, all undeliverable)
    "illness",  # the reason given is illness
    "n_code",  # the session still carries N
    "unexplained_or_unauthorised",
    "always",
)


@dataclass(frozen=True, slots=True)
class LadderStep:
    kind: str
    when: str = "always"
    after_minutes: int | None = None  # minutes after the first text of the case
    on_day: int | None = None  # the Nth school day of the absence (1 = the first)
    every_day_from: int | None = None  # repeat each school day from this day on

    @property
    def key(self) -> str:
        """Stable name of the step, so a case records each step once."""
        if self.after_minutes is not None:
            return f"{self.kind}@{self.after_minutes}m"
        if self.every_day_from is not None:
            return f"{self.kind}@daily{self.every_day_from}"
        return f"{self.kind}@day{self.on_day}"


def default_ladder(values: Mapping[str, Any]) -> tuple[LadderStep, ...]:
    """The default ladder, with its timings taken from the school's thresholds."""
    minutes = values.get("no_reply_minutes", 45)
    deadline = values.get("n_code_deadline_days", 5)
    return (
        LadderStep("text_next_contacts", when="no_reply", after_minutes=minutes),
        LadderStep("call_task", when="no_reply", after_minutes=minutes),
        LadderStep("home_visit", when="vulnerable_unreached", after_minutes=minutes),
        LadderStep("follow_up_text", when="unexplained", every_day_from=2),
        LadderStep("home_visit", when="unexplained", on_day=2),
        LadderStep("home_visit", when="unexplained", on_day=3),
        LadderStep("home_visit", when="unexplained", on_day=4),
        LadderStep(
            "medical_evidence",
            when="illness",
            on_day=values.get("medical_evidence_after_days", 5) + 1,
        ),
        LadderStep("decide_code", when="n_code", on_day=deadline),
        *(
            (LadderStep("set_code_o", when="n_code", on_day=deadline + 1),)
            if values.get("n_code_becomes_o", True)
            else ()
        ),
        LadderStep(
            "tell_la",
            when="unexplained_or_unauthorised",
            on_day=values.get("la_unexplained_days", 10),
        ),
        LadderStep("tell_la", when="illness", on_day=values.get("la_sickness_days", 15)),
        LadderStep("cme_referral", when="unreached", on_day=values.get("cme_days", 20)),
    )


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
    # Risk signs in a reply, or a concern staff raised: the DSL has the case.
    with_dsl: bool = False


# Steps that text the family. They wait while the DSL has the case: a parent who has said
# the child is missing, or a child who asked the school not to tell, must not get "we still
# have no reason"; the DSL speaks to the family. If the DSL hands the case back ("not a
# safeguarding matter"), they run again.
FAMILY_TEXT_STEPS = frozenset({"text_next_contacts", "follow_up_text"})
# Steps about the register's codes, which run per session, not per case: each N session
# must be resolved by its own deadline (bot.workflow.deadlines), whatever its case did.
SESSION_STEPS = frozenset({"decide_code", "set_code_o"})


@dataclass(frozen=True, slots=True)
class CodeDeadline:
    """From the ladder: the school day of a session (1 = the session's own day) on which the
    attendance lead is told it is nearing its deadline, and the one from which N becomes O
    (None: the school does not write O)."""

    nudge_day: int | None
    o_day: int | None

    def stage(self, day_number: int) -> str | None:
        """ "overdue" (O is due), "nearing" (tell the lead), or None (not yet)."""
        if self.o_day is not None and day_number >= self.o_day:
            return "overdue"
        if self.nudge_day is not None and day_number >= self.nudge_day:
            return "nearing"
        return None


def code_deadline(steps: Sequence[LadderStep]) -> CodeDeadline:
    def first(kind: str) -> int | None:
        days = [s.on_day or s.every_day_from for s in steps if s.kind == kind]
        return min((d for d in days if d), default=None)

    return CodeDeadline(first("decide_code"), first("set_code_o"))


@dataclass(frozen=True, slots=True)
class Action:
    kind: str
    key: str  # unique per case: the step and, for daily steps, the day


def condition_holds(step: LadderStep, case: CaseState) -> bool:
    match step.when:
        case "always":
            return True
        case "no_reply":
            # A reason already known (the register's, a declined leave's G) is no silence.
            return not case.replied and not case.explained
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
        if step.kind in SESSION_STEPS or (case.with_dsl and step.kind in FAMILY_TEXT_STEPS):
            continue
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
                and not _overtaken(step, steps, case.day_number)
            )
        if due:
            actions.append(Action(step.kind, key))
    return actions


def _overtaken(step: LadderStep, steps: Sequence[LadderStep], day_number: int) -> bool:
    """A day step whose day has passed while a later step of the same kind is due too (a
    worker that was down): only the later one runs, never two home visits at once."""
    if step.on_day is None or step.on_day == day_number:
        return False
    return any(
        other.kind == step.kind
        and other.on_day is not None
        and step.on_day < other.on_day <= day_number
        for other in steps
    )


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
