"""Leave of absence: a request, the headteacher's decision, and what the sweep then does."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from bot.workflow.leave import LeaveError, decide_leave, file_leave_request
from storage.models import AbsenceCase, CaseStatus, LeaveRequest, RegisterMark
from tests.bot.workflow.conftest import Morning, at

HEAD = "U0CROFT02"  # Mrs Lindley, headteacher


def request_leave(morning: Morning, start: date, end: date) -> LeaveRequest:
    return file_leave_request(
        morning.session,
        morning.ctx,
        morning.jayden,
        None,
        text="family wedding abroad",
        contact=morning.mum,
        now=at("16:00", date(2026, 3, 2)),
        start=start,
        end=end,
    )


def decide(
    morning: Morning, request: LeaveRequest, *, approve: bool, note: str = "", hhmm: str = "09:00"
) -> LeaveRequest:
    return decide_leave(
        morning.session,
        morning.ctx,
        request,
        approve=approve,
        decided_by=morning.staff(HEAD).actor,
        note=note,
        now=at(hhmm, date(2026, 3, 3)),
    )


def test_approved_leave_is_written_as_final_c_and_the_sweep_leaves_the_pupil_alone(
    morning: Morning,
) -> None:
    request = request_leave(morning, date(2026, 3, 11), date(2026, 3, 13))
    assert request.status == "pending" and f"leave:{request.id}" in morning.cards()

    decide(morning, request, approve=True)

    assert request.status == "approved" and request.decided_by == "Mrs Lindley (Headteacher)"
    marks = morning.session.scalars(
        select(RegisterMark).where(RegisterMark.pupil_id == morning.jayden.id)
    ).all()
    assert len(marks) == 6 and {(m.code, m.confirmed) for m in marks} == {("C", True)}
    assert [t["kind"] for t in morning.texts(morning.mum)] == ["leave_received", "leave_approved"]
    day = date(2026, 3, 12)
    morning.morning_register(day)
    morning.sweep(day=day)
    assert morning.session.scalar(select(func.count(AbsenceCase.id))) == 0


def test_declined_leave_warns_of_a_penalty_and_absence_then_is_g_without_a_text(
    morning: Morning,
) -> None:
    start, end = date(2026, 3, 16), date(2026, 3, 20)  # five school days
    request = request_leave(morning, start, end)

    decide(morning, request, approve=False, note="not exceptional")

    declined = morning.texts(morning.mum)[-1]
    assert declined["kind"] == "leave_declined" and "penalty notice" in declined["body"]
    days = morning.ctx.settings.policy.leave_penalty_warning_days
    assert f"{days} or more days" in declined["body"]
    morning.morning_register(start)
    morning.sweep(day=start)
    case = morning.case(morning.jayden)
    assert (case.status, case.provisional_code, case.reason) == (
        CaseStatus.EXPLAINED,
        "G",
        "holiday",
    )
    mark = morning.mark_of(morning.jayden, day=start)
    assert mark is not None and (mark.code, mark.confirmed) == ("G", False)
    assert [t["kind"] for t in morning.texts()] == ["leave_received", "leave_declined"]


def test_a_request_is_decided_once(morning: Morning) -> None:
    request = request_leave(morning, date(2026, 3, 11), date(2026, 3, 11))
    decide(morning, request, approve=True)

    with pytest.raises(LeaveError, match="already approved"):
        decide(morning, request, approve=False, hhmm="09:05")
    assert request.status == "approved"


def test_leave_that_ends_before_it_starts_is_refused_and_nothing_is_kept(
    morning: Morning,
) -> None:
    with pytest.raises(LeaveError, match="ends"):
        request_leave(morning, date(2026, 3, 13), date(2026, 3, 11))

    assert morning.session.scalar(select(func.count(LeaveRequest.id))) == 0
    assert morning.texts() == []
