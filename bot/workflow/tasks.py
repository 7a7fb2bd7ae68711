"""Staff tasks (call the family, home visit, decide the code, tell the LA...): each opened
once per key and shown on its case's card."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.workflow.school import SchoolContext
from storage.models import AbsenceCase, StaffTask

TASK_TITLES = {
    "call": "Call the family",
    "home_visit": "Home visit",
    "decide_code": "Decide the code (N deadline)",
    "tell_la": "Tell the local authority",
    "cme_referral": "Children-missing-education referral",
    "medical_evidence": "Medical evidence requested",
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
            status="open",
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
