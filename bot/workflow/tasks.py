"""Staff tasks (call the family, home visit, decide the code, tell the LA...): each opened
once per key and shown on its case's card."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.workflow.school import SchoolContext
from storage.models import AbsenceCase, StaffTask, TaskStatus


@dataclass(frozen=True, slots=True)
class TaskKind:
    """One kind of staff task: what the card calls it, who acts, the ladder step that opens
    it (if the ladder does) and the outcomes staff record on it, in the card's order (none:
    the task is simply done, recorded as `reason_given`)."""

    title: str
    role: str
    step: str | None = None
    outcomes: tuple[str, ...] = ()


# Every kind of task, in one table: the ladder (bot/workflow/timers.py), the cards
# (bot/slack/render.py) and the outcomes (bot/workflow/decisions.py) read it.
TASK_KINDS: dict[str, TaskKind] = {
    "call": TaskKind(
        "Call the family",
        "office",
        step="call_task",
        outcomes=("reason_given", "no_answer", "home_visit_needed"),
    ),
    "home_visit": TaskKind(
        "Home visit",
        "office",
        step="home_visit",
        outcomes=("safe_and_well", "no_answer", "concern"),
    ),
    # One a day per school, listing the sessions nearing their deadline (deadlines.py).
    "decide_code": TaskKind("Codes nearing their deadline", "attendance_lead", step="decide_code"),
    "tell_la": TaskKind("Tell the local authority", "attendance_lead", step="tell_la"),
    "cme_referral": TaskKind(
        "Children-missing-education referral",
        "dsl",
        step="cme_referral",
        outcomes=("safe_and_well", "concern"),
    ),
    "medical_evidence": TaskKind("Medical evidence requested", "office", step="medical_evidence"),
    # A reply flagged safeguarding: the parent was promised a call, and it is the DSL's.
    "dsl_call": TaskKind(
        "Call the family (the parent was told someone will call)",
        "dsl",
        outcomes=("reason_given", "no_answer", "home_visit_needed"),
    ),
}
# The ladder step kind -> the task it opens.
TASK_FOR_STEP: dict[str, str] = {k.step: name for name, k in TASK_KINDS.items() if k.step}
DONE = "reason_given"  # the outcome recorded on a task that is simply done
OUTCOMES = {
    "reason_given": "Called: reason given",
    "no_answer": "No answer",
    "home_visit_needed": "Home visit needed",
    "safe_and_well": "Seen safe and well",
    "concern": "Concern: passed to the DSL",
}


def open_task(
    session: Session,
    ctx: SchoolContext,
    case: AbsenceCase | None,
    *,
    kind: str,
    role: str,
    key: str,
    now: datetime,
    **detail: Any,
) -> StaffTask:
    task = session.scalar(select(StaffTask).where(StaffTask.key == key))
    if task is None:
        task = StaffTask(
            school_id=ctx.id,
            case_id=case.id if case else None,
            key=key,
            kind=kind,
            role=role,
            status=TaskStatus.OPEN,
            detail=detail,
            created_at=now,
        )
        session.add(task)
        session.flush()
    return task


def tasks_for(session: Session, case_id: int) -> list[StaffTask]:
    return list(
        session.scalars(
            select(StaffTask).where(StaffTask.case_id == case_id).order_by(StaffTask.id)
        )
    )
