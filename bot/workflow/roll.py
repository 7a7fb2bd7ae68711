"""The roll: pupils the roster import took off roll. Their open cases close with a note on
the card and their tasks are stood down; the sweep only looks at pupils on roll and the outbox
re-checks at send time, so nothing is texted about them again."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.workflow.cases import log_event, refresh_case_cards
from bot.workflow.school import context_for
from storage.models import (
    OPEN_CASE_STATUSES,
    AbsenceCase,
    CaseStatus,
    School,
    StaffTask,
    TaskStatus,
)

OFF_ROLL = "off_roll"


def pupils_left(session: Session, school: School, pupil_ids: Sequence[int], now: datetime) -> int:
    """Close the open cases of pupils who have left; returns how many closed."""
    if not pupil_ids:
        return 0
    ctx = context_for(school)
    cases = list(
        session.scalars(
            select(AbsenceCase).where(
                AbsenceCase.school_id == ctx.id,
                AbsenceCase.pupil_id.in_(list(pupil_ids)),
                AbsenceCase.status.in_(OPEN_CASE_STATUSES),
            )
        )
    )
    for case in cases:
        case.status, case.closed_at, case.next_due_at = CaseStatus.CLOSED, now, None
        log_event(session, case, OFF_ROLL, now, actor="roster import")
        for task in session.scalars(
            select(StaffTask).where(
                StaffTask.case_id == case.id, StaffTask.status != TaskStatus.DONE
            )
        ):
            task.status, task.outcome, task.done_at = TaskStatus.DONE, OFF_ROLL, now
        refresh_case_cards(session, ctx, case, now)
    return len(cases)
