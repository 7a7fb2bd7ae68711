"""The register-close sweep: who gets a case, an N, a first text and a card."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.workflow.sweep import due_sessions, release_held
from storage.models import AbsenceCase, CaseStatus, OutboxItem, RegisterSweep, StaffTask
from tests.bot.workflow.conftest import DAY, Morning, at
from tests.factories import make_contact, make_pupil


def test_an_unmarked_pupil_gets_an_n_a_case_a_text_to_the_first_contact_and_a_card(
    morning: Morning,
) -> None:
    result = morning.sweep()

    case = morning.case(morning.jayden)
    assert result.status == "done" and result.new_cases == [case.id]
    assert (case.status, case.opened_on, case.opened_session) == (CaseStatus.OPEN, DAY, "AM")
    assert case.first_text_at == at("08:40") and case.next_due_at == at("08:40")
    mark = morning.mark_of(morning.jayden)
    assert mark is not None and mark.code == "N"
    [text] = morning.texts()
    assert text["contact_id"] == morning.mum.id and text["kind"] == "first_contact"
    assert text["case_ids"] == [case.id] and "Jayden" in text["body"]
    assert morning.cards() == {f"case:{case.id}"}
    # Amy was marked present: no case for her, her mark untouched.
    assert morning.session.scalar(select(func.count(AbsenceCase.id))) == 1
    amy = morning.mark_of(morning.amy)
    assert amy is not None and amy.code == "/"


def test_a_second_sweep_of_the_same_session_changes_nothing(morning: Morning) -> None:
    morning.sweep()
    rows = morning.session.scalar(select(func.count(OutboxItem.id)))

    assert morning.sweep("08:45").status == "already"
    assert morning.session.scalar(select(func.count(OutboxItem.id))) == rows
    assert morning.session.scalar(select(func.count(AbsenceCase.id))) == 1


def test_a_class_with_no_marks_is_reported_not_taken_and_nobody_is_texted(
    morning: Morning,
) -> None:
    school = morning.ctx.school
    make_pupil(morning.session, school, "Noah", class_name="2B")

    result = morning.sweep()

    assert result.not_taken == ["2B"]
    # No notice: a line on the sweep's card, edited if the marks come in later.
    assert [p["op"] for p in morning.slack()].count("notice") == 0
    assert sum(card.startswith("sweep:") for card in morning.cards()) == 1
    # Only 1A's absentee has a case and a text.
    assert [t["kind"] for t in morning.texts()] == ["first_contact"]
    assert morning.session.scalar(select(func.count(AbsenceCase.id))) == 1


def test_a_no_contact_link_is_never_texted_and_nobody_textable_means_a_call_task(
    morning: Morning,
) -> None:
    school = morning.ctx.school
    mia = make_pupil(morning.session, school, "Mia")
    barred = make_contact(morning.session, school, mia, no_contact=True, name="Barred Parent")
    make_contact(morning.session, school, mia, priority=2, can_sms=False, name="Landline Gran")

    morning.sweep()

    assert morning.texts(barred) == []
    [task] = morning.session.scalars(select(StaffTask)).all()
    assert (task.case_id, task.kind, task.role) == (morning.case(mia).id, "call", "office")


def test_a_vulnerable_pupil_goes_to_the_dsl_at_once(morning: Morning) -> None:
    morning.jayden.vulnerable = ["CP plan"]

    morning.sweep()

    case = morning.case(morning.jayden)
    assert case.dsl_alerted
    assert f"dsl:{case.id}" in morning.cards()


def test_a_mass_absence_is_held_for_the_office_then_released(morning: Morning) -> None:
    # A sweep is held when more than 15% of the roll would be texted: here 3 of 17.
    for name in ("Leo", "Zara"):
        make_pupil(morning.session, morning.ctx.school, name)

    assert morning.sweep().status == "held"
    sweep = morning.session.scalars(select(RegisterSweep)).one()
    assert morning.texts() == [] and morning.cards() == {f"sweep:{sweep.id}"}

    released = release_held(morning.session, morning.ctx, sweep.id, at("09:00"))

    assert released.status == "released" and released.texts == 1  # Leo and Zara: no contact
    assert [t["contact_id"] for t in morning.texts()] == [morning.mum.id]


def test_due_sessions_are_todays_closed_registers_not_yet_swept(morning: Morning) -> None:
    assert due_sessions(morning.session, morning.ctx, at("08:39")) == []
    assert due_sessions(morning.session, morning.ctx, at("08:40")) == [(DAY, "AM")]
    morning.sweep()
    assert due_sessions(morning.session, morning.ctx, at("12:00")) == []
    assert due_sessions(morning.session, morning.ctx, at("13:00")) == [(DAY, "PM")]


def test_a_different_reason_on_the_register_replaces_the_familys(morning: Morning) -> None:
    from bot.workflow.parent_texts import reply_received
    from bot.workflow.sweep import register_shows
    from rules.codes import lookup

    morning.sweep()
    text = morning.inbound(morning.mum, "We're at a family birthday today sorry", "08:50")
    reply_received(morning.session, text, [morning.mum], at("08:50"))
    case = morning.case(morning.jayden)
    assert (case.reason, case.provisional_code) == ("family_event", "O")

    morning.mark(morning.jayden, "I")  # the office took a call: he is ill after all
    mark = morning.mark_of(morning.jayden)
    assert mark is not None
    register_shows(morning.session, morning.ctx, case, mark, at("09:30"))
    # The card must not read "family_event · code I".
    assert (case.reason, case.confirmed_code or case.provisional_code) == (
        lookup("I").meaning,
        "I",
    )


def test_the_same_code_on_the_register_keeps_the_familys_reason(morning: Morning) -> None:
    from bot.workflow.parent_texts import reply_received
    from bot.workflow.sweep import register_shows

    morning.sweep()
    text = morning.inbound(morning.mum, "Jayden is being sick", "08:50")
    reply_received(morning.session, text, [morning.mum], at("08:50"))
    case = morning.case(morning.jayden)
    morning.mark(morning.jayden, "I")
    mark = morning.mark_of(morning.jayden)
    assert mark is not None
    register_shows(morning.session, morning.ctx, case, mark, at("09:30"))
    assert case.reason == "illness"
