"""Staff decisions: confirming or changing a code, a late arrival, a task's outcome."""

from __future__ import annotations

from datetime import time

import pytest
from sqlalchemy import select

from bot.workflow.decisions import (
    DecisionError,
    arrived,
    claim_task,
    current_case,
    record_outcome,
    set_case_code,
)
from bot.workflow.parent_texts import reply_received
from bot.workflow.timers import process_due
from storage.models import CaseStatus, MarkAmendment, StaffTask, TaskStatus
from tests.bot.workflow.conftest import Morning, at


def test_the_office_confirms_the_parents_reason_on_the_register(morning: Morning) -> None:
    morning.sweep()
    message = morning.inbound(morning.mum, "Jayden is being sick", "08:50")
    reply_received(morning.session, message, [morning.mum], at("08:50"))
    case = current_case(morning.session, morning.jayden)

    code = set_case_code(
        morning.session,
        morning.ctx,
        case,
        morning.staff(),
        code=None,
        reason="parent's text",
        now=at("09:15"),
    )

    assert code == "I" and (case.status, case.confirmed_code) == (CaseStatus.CONFIRMED, "I")
    mark = morning.mark_of(morning.jayden)
    assert mark is not None and (mark.code, mark.confirmed) == ("I", True)
    who = morning.session.scalars(
        select(MarkAmendment.amended_by_name).order_by(MarkAmendment.id.desc())
    ).first()
    assert who == "Sam Hall"


def test_nothing_to_confirm_without_a_provisional_code(morning: Morning) -> None:
    morning.sweep()
    case = current_case(morning.session, morning.jayden)

    with pytest.raises(DecisionError, match="no provisional code"):
        set_case_code(
            morning.session,
            morning.ctx,
            case,
            morning.staff(),
            code=None,
            reason="",
            now=at("09:15"),
        )
    mark = morning.mark_of(morning.jayden)
    assert mark is not None and mark.code == "N" and case.status == CaseStatus.OPEN


@pytest.mark.parametrize(("clock", "code"), [(time(8, 50), "L"), (time(9, 10), "U")])
def test_a_late_arrival_is_l_until_late_until_then_u_and_closes_the_case(
    morning: Morning, clock: time, code: str
) -> None:
    morning.sweep()

    assert (
        arrived(
            morning.session, morning.ctx, morning.jayden, morning.staff(), at=clock, now=at("09:20")
        )
        == code
    )

    case = morning.case(morning.jayden)
    assert (case.status, case.next_due_at) == (CaseStatus.CLOSED, None)
    mark = morning.mark_of(morning.jayden)
    assert mark is not None and mark.code == code


def test_a_call_can_ask_for_a_home_visit_and_a_concern_there_goes_to_the_dsl(
    morning: Morning,
) -> None:
    morning.sweep()
    process_due(morning.session, morning.ctx, at("09:30"))
    task = morning.session.scalars(select(StaffTask)).one()
    member = morning.staff()

    claim_task(morning.session, morning.ctx, task, member, at("09:35"))
    assert (task.status, task.claimed_by) == (TaskStatus.CLAIMED, "U0CROFT01")
    record_outcome(
        morning.session,
        morning.ctx,
        task,
        member,
        outcome="home_visit_needed",
        note="no answer twice, neighbour worried",
        now=at("10:00"),
    )

    assert (task.status, task.outcome) == (TaskStatus.DONE, "home_visit_needed")
    kinds = morning.session.scalars(select(StaffTask.kind).order_by(StaffTask.id)).all()
    assert kinds == ["call", "home_visit"]
    with pytest.raises(DecisionError, match="already done"):
        record_outcome(
            morning.session,
            morning.ctx,
            task,
            member,
            outcome="reason_given",
            note="",
            now=at("10:05"),
        )
    visit = morning.session.scalars(select(StaffTask).where(StaffTask.kind == "home_visit")).one()
    record_outcome(
        morning.session, morning.ctx, visit, member, outcome="concern", note="", now=at("11:00")
    )
    case = morning.case(morning.jayden)
    assert case.safeguarding and case.dsl_alerted
    assert f"dsl:{case.id}" in morning.cards()
