"""The escalation ladder on a timer: each due step runs once, at its time, for its case."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from bot.workflow.deadlines import code_deadlines
from bot.workflow.parent_texts import reply_received
from bot.workflow.timers import process_due
from storage.models import CaseStatus, RegisterMark, StaffTask
from tests.bot.workflow.conftest import DAY, Morning, at


def tasks(morning: Morning) -> list[tuple[str, str]]:
    return [
        (t.kind, t.role) for t in morning.session.scalars(select(StaffTask).order_by(StaffTask.id))
    ]


def test_no_reply_in_50_minutes_texts_the_next_contact_and_asks_the_office_to_call(
    morning: Morning,
) -> None:
    morning.sweep()
    assert process_due(morning.session, morning.ctx, at("08:40")) == 0
    assert morning.case(morning.jayden).next_due_at == at("09:30")
    assert process_due(morning.session, morning.ctx, at("09:29")) == 0

    assert process_due(morning.session, morning.ctx, at("09:30")) == 2

    assert tasks(morning) == [("call", "office")]
    [follow_up] = morning.texts(morning.dad)
    assert follow_up["kind"] == "follow_up" and "Jayden" in follow_up["body"]
    assert [t["kind"] for t in morning.texts(morning.mum)] == ["first_contact"]
    # Run again: nothing is done twice.
    assert process_due(morning.session, morning.ctx, at("09:45")) == 0
    assert len(tasks(morning)) == 1 and len(morning.texts()) == 2


def test_a_reply_in_time_stops_the_no_reply_steps(morning: Morning) -> None:
    morning.sweep()
    message = morning.inbound(morning.mum, "He has a cold, back tomorrow", "09:10")
    reply_received(morning.session, message, [morning.mum], at("09:10"))

    process_due(morning.session, morning.ctx, at("09:30"))

    assert tasks(morning) == []
    assert morning.texts(morning.dad) == []


def test_a_second_day_unexplained_brings_a_follow_up_text_and_a_home_visit(
    morning: Morning,
) -> None:
    morning.sweep()
    process_due(morning.session, morning.ctx, at("09:30"))
    day2 = date(2026, 3, 11)
    morning.morning_register(day2)

    morning.sweep(day=day2)
    process_due(morning.session, morning.ctx, at("08:40", day2))

    case = morning.case(morning.jayden)
    assert case.last_absent_on == day2 and case.status == CaseStatus.OPEN
    assert tasks(morning) == [("call", "office"), ("home_visit", "office")]
    assert [t["kind"] for t in morning.texts(morning.mum)] == ["first_contact", "follow_up"]


def test_the_family_is_not_texted_again_while_the_dsl_has_the_case(morning: Morning) -> None:
    morning.sweep()
    message = morning.inbound(
        morning.mum, "He didn't come home last night and I don't know where he is", "09:10"
    )
    reply_received(morning.session, message, [morning.mum], at("09:10"))
    assert morning.case(morning.jayden).safeguarding
    day2 = date(2026, 3, 11)
    morning.morning_register(day2)

    morning.sweep(day=day2)
    process_due(morning.session, morning.ctx, at("08:40", day2))

    kinds = [t["kind"] for t in morning.texts(morning.mum)]
    assert "follow_up" not in kinds and kinds[0] == "first_contact"
    assert morning.texts(morning.dad) == []


def test_n_past_its_deadline_becomes_o_on_that_session_only(morning: Morning) -> None:
    # Crofton: each N session is listed for the attendance lead on its 5th school day and
    # becomes O on its 6th. Jayden is absent Tue 10 to Tue 17, every morning N.
    days = [DAY, *(date(2026, 3, d) for d in (11, 12, 13, 16, 17))]
    for day in days:
        if day != DAY:
            morning.morning_register(day)
        morning.sweep(day=day)
        process_due(morning.session, morning.ctx, at("10:00", day))
        code_deadlines(morning.session, morning.ctx, at("10:00", day))
        if day == date(2026, 3, 16):
            assert ("decide_code", "attendance_lead") in tasks(morning)
            first = morning.mark_of(morning.jayden)
            assert first is not None and first.code == "N"

    codes = dict(
        morning.session.execute(
            select(RegisterMark.date, RegisterMark.code).where(
                RegisterMark.pupil_id == morning.jayden.id
            )
        ).all()
    )
    assert codes == {DAY: "O", **{day: "N" for day in days[1:]}}  # this morning's stays N
