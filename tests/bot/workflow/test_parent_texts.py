"""A parent's reply to the morning's text: the case, the register and the acknowledgement."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from bot.workflow.parent_texts import reply_received
from storage.models import CaseStatus, LeaveRequest, MessageCase, OptOut, StaffTask
from tests.bot.workflow.conftest import Morning, at


def test_a_reason_explains_the_case_marks_it_provisionally_and_thanks_the_parent(
    morning: Morning,
) -> None:
    morning.sweep()
    message = morning.inbound(morning.mum, "Jayden has a temperature, keeping him off", "08:52")

    reply_received(morning.session, message, [morning.mum], at("08:52"))

    case = morning.case(morning.jayden)
    assert (case.status, case.provisional_code, case.confirmed_code) == (
        CaseStatus.EXPLAINED,
        "I",
        None,
    )
    assert case.last_reply_at == at("08:52") and case.contact_reached
    mark = morning.mark_of(morning.jayden)
    assert mark is not None and (mark.code, mark.confirmed) == ("I", False)
    assert message.parse is not None and message.parse["intent"] == "absence_reason"
    links = morning.session.scalars(select(MessageCase.case_id)).all()
    assert links == [case.id]
    assert [t["kind"] for t in morning.texts(morning.mum)] == ["first_contact", "acknowledgement"]


def test_a_reply_without_a_reason_asks_the_office_to_ring_now(morning: Morning) -> None:
    morning.sweep()
    message = morning.inbound(morning.mum, "ok", "08:55")

    reply_received(morning.session, message, [morning.mum], at("08:55"))

    case = morning.case(morning.jayden)
    assert case.status == CaseStatus.OPEN and case.contact_reached
    [task] = morning.session.scalars(select(StaffTask)).all()
    assert (task.case_id, task.kind, task.key) == (
        case.id,
        "call",
        f"case:{case.id}:call:reply-without-reason",
    )
    mark = morning.mark_of(morning.jayden)
    assert mark is not None and mark.code == "N"


def test_a_worrying_reply_goes_to_the_dsl(morning: Morning) -> None:
    morning.sweep()
    message = morning.inbound(
        morning.mum, "He's not in, his dad hit him last night and he has bruises", "09:00"
    )

    reply_received(morning.session, message, [morning.mum], at("09:00"))

    case = morning.case(morning.jayden)
    assert case.safeguarding and case.dsl_alerted
    assert f"dsl:{case.id}" in morning.cards()


def test_stop_opts_the_number_out_and_tells_the_office(morning: Morning) -> None:
    morning.sweep()
    message = morning.inbound(morning.mum, "STOP", "09:05")

    reply_received(morning.session, message, [morning.mum], at("09:05"))

    opt_out = morning.session.scalars(select(OptOut)).one()
    assert (opt_out.phone, opt_out.opted_out) == (morning.mum.phone, True)
    notices = [p["notice"] for p in morning.slack() if p["op"] == "notice"]
    assert len(notices) == 1
    assert morning.case(morning.jayden).status == CaseStatus.OPEN  # STOP is not a reason


def test_an_opt_out_that_carries_a_risk_sign_still_reaches_the_dsl(morning: Morning) -> None:
    morning.sweep()
    message = morning.inbound(
        morning.mum,
        "Stop texting me. He hasn't come home since last night and his phone is off",
        "09:05",
    )

    reply_received(morning.session, message, [morning.mum], at("09:05"))

    assert message.parse is not None and message.parse["intent"] == "opt_out"
    opt_out = morning.session.scalars(select(OptOut)).one()
    assert (opt_out.phone, opt_out.opted_out) == (morning.mum.phone, True)
    case = morning.case(morning.jayden)
    assert case.safeguarding and case.dsl_alerted
    assert f"dsl:{case.id}" in morning.cards()
    tasks = morning.session.scalars(select(StaffTask.kind)).all()
    assert "dsl_call" in tasks
    # The number has opted out: nothing more is texted to it, not even the promise of a call.
    assert [t["kind"] for t in morning.texts(morning.mum)] == ["first_contact"]


def test_an_opt_out_that_gives_a_reason_explains_the_case_and_texts_nothing_more(
    morning: Morning,
) -> None:
    morning.sweep()
    message = morning.inbound(
        morning.mum, "Jayden has been sick all night. Please stop sending me these texts", "09:05"
    )

    reply_received(morning.session, message, [morning.mum], at("09:05"))

    assert message.parse is not None
    assert (message.parse["intent"], message.parse["code"]) == ("opt_out", "I")
    assert morning.session.scalars(select(OptOut)).one().opted_out
    case = morning.case(morning.jayden)
    assert (case.status, case.provisional_code) == (CaseStatus.EXPLAINED, "I")
    mark = morning.mark_of(morning.jayden)
    assert mark is not None and (mark.code, mark.confirmed) == ("I", False)
    # Nobody rings a family that has answered, and the opted-out number gets no answer.
    assert "call" not in morning.session.scalars(select(StaffTask.kind)).all()
    assert [t["kind"] for t in morning.texts(morning.mum)] == ["first_contact"]


def test_an_opt_out_that_says_the_child_is_on_the_way_waits_for_the_child(
    morning: Morning,
) -> None:
    morning.sweep()
    message = morning.inbound(morning.mum, "HES ON HIS WAY. STOP TEXTING ME", "09:05")

    reply_received(morning.session, message, [morning.mum], at("09:05"))

    assert message.parse is not None
    assert (message.parse["intent"], message.parse["code"]) == ("opt_out", "U")
    assert morning.session.scalars(select(OptOut)).one().opted_out
    case = morning.case(morning.jayden)
    assert case.status == CaseStatus.EXPECTED and case.expected_arrival is not None
    assert [t["kind"] for t in morning.texts(morning.mum)] == ["first_contact"]


def test_an_opt_out_with_a_risk_sign_and_no_open_case_is_a_dsl_alert_and_no_text(
    morning: Morning,
) -> None:
    message = morning.inbound(
        morning.mum, "Stop texting me. He hasn't come home since last night", "16:10"
    )

    reply_received(morning.session, message, [morning.mum], at("16:10"))

    assert morning.session.scalars(select(OptOut)).one().opted_out
    assert any(card.startswith("textalert:") for card in morning.cards())
    assert morning.texts(morning.mum) == []


def test_a_holiday_request_files_leave_for_the_headteacher(morning: Morning) -> None:
    message = morning.inbound(
        morning.mum, "Can Jayden have 20/04/2026 to 24/04/2026 off for a family wedding", "16:00"
    )

    reply_received(morning.session, message, [morning.mum], at("16:00"))

    request = morning.session.scalars(select(LeaveRequest)).one()
    assert (request.pupil_id, request.status, request.source, request.contact_id) == (
        morning.jayden.id,
        "pending",
        "parent",
        morning.mum.id,
    )
    assert (request.start_date, request.end_date) == (date(2026, 4, 20), date(2026, 4, 24))
    assert f"leave:{request.id}" in morning.cards()
    assert [t["kind"] for t in morning.texts(morning.mum)] == ["leave_received"]


def test_a_reason_after_a_reply_without_one_closes_the_office_call(morning: Morning) -> None:
    morning.sweep()
    first = morning.inbound(morning.mum, "ok", "08:55")
    reply_received(morning.session, first, [morning.mum], at("08:55"))
    [call] = morning.session.scalars(select(StaffTask)).all()
    assert call.status == "open"

    reason = morning.inbound(morning.mum, "Sorry, Jayden has a temperature", "09:05")
    reply_received(morning.session, reason, [morning.mum], at("09:05"))

    morning.session.flush()
    assert (call.status, call.outcome, call.outcome_note) == (
        "done",
        "not_needed",
        "the family gave a reason",
    )
    assert morning.case(morning.jayden).provisional_code == "I"
