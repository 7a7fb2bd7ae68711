"""The cards' buttons and the change-code modal through the real Bolt app, with signed
requests: each makes its one workflow call; refusals and errors go to the clicker alone."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.workflow.leave import file_leave_request
from bot.workflow.school import context_for
from bot.workflow.sweep import register_closed
from bot.workflow.tasks import open_task
from storage.db import transaction
from storage.marks import set_mark
from storage.models import (
    AbsenceCase,
    CaseEvent,
    LeaveRequest,
    MarkAmendment,
    OutboxItem,
    Pupil,
    RegisterMark,
    RegisterSweep,
    School,
    StaffTask,
)
from tests.bot.slack_harness import (
    DAY,
    DSL_CH,
    HEAD,
    LEAVE_CH,
    MIS,
    OFFICE,
    Harness,
    at,
    case_id,
    crofton,
    explain,
    refusals,
    set_roles,
)
from tests.factories import make_contact, make_pupil, make_school


def _task(
    factory: sessionmaker[Session], case: int, *, kind: str = "call", role: str = "office"
) -> int:
    with transaction(factory) as s:
        absence = s.get(AbsenceCase, case)
        ctx = context_for(s.get(School, absence.school_id))
        return open_task(
            s, ctx, absence, kind=kind, role=role, key=f"case:{case}:{kind}:test", now=at("09:20")
        ).id


def test_confirm_button_writes_an_amendment_with_the_staff_name_and_position(
    harness: Harness,
) -> None:
    school = crofton(harness.factory)
    case = explain(harness.factory, school.pupils["Jayden"], "I")
    harness.click("case_confirm", case)
    with harness.factory() as s:
        amendment = s.scalars(
            select(MarkAmendment)
            .where(MarkAmendment.pupil_id == school.pupils["Jayden"])
            .order_by(MarkAmendment.id)
        ).all()[-1]
        assert (
            amendment.original_code,
            amendment.original_confirmed,
            amendment.amended_code,
            amendment.amended_confirmed,
            amendment.amended_by_name,
            amendment.amended_by_position,
            amendment.reason,
        ) == (
            "I",
            False,
            "I",
            True,
            "Sam Hall",
            "Office manager",
            "provisional code confirmed from the Slack card",
        )
        assert s.get(AbsenceCase, case).status == "confirmed"
        # The card changes through the outbox; the handler neither edits it nor chats.
        assert (
            s.scalar(
                select(OutboxItem.id)
                .where(OutboxItem.key.like(f"slack:case:{case}:v%"))
                .order_by(OutboxItem.id.desc())
                .limit(1)
            )
            is not None
        )
    assert harness.told() == [] and harness.slack.updates() == []


def test_a_button_refusal_is_told_to_the_clicker_only_and_logged(harness: Harness) -> None:
    school = crofton(harness.factory)
    case = explain(harness.factory, school.pupils["Jayden"], "I")
    harness.click("case_confirm", case, user="U0STRANGER")
    [told] = harness.told()
    assert told.startswith("Sorry, only office staff")
    assert [(a.actor, a.action) for a in refusals(harness.factory)] == [
        ("U0STRANGER", "button case_confirm")
    ]
    with harness.factory() as s:
        assert s.get(AbsenceCase, case).status == "explained"
    assert harness.slack.ephemerals() == [] and harness.slack.updates() == []


def test_buttons_act_only_on_their_own_school(harness: Harness) -> None:
    school = crofton(harness.factory)
    case = explain(harness.factory, school.pupils["Jayden"], "I")
    with transaction(harness.factory) as s:
        make_school(s, "beecroft")
    harness.click("case_confirm", case, user="U0BEEC001", channel="C0BEECOFF")
    harness.click("case_confirm", "not-a-number")
    assert harness.told() == [
        f"Sorry, I couldn't find that: absence case {case} does not exist at Beecroft Primary.",
        "Sorry, give the case number, e.g. 12 (it is on the card), not “not-a-number”.",
    ]
    with harness.factory() as s:
        assert s.get(AbsenceCase, case).status == "explained"


def test_task_claim_then_outcome(harness: Harness) -> None:
    school = crofton(harness.factory)
    case = case_id(harness.factory, school.pupils["Mia"])
    task = _task(harness.factory, case)
    harness.click("task_claim", task)
    with harness.factory() as s:
        claimed = s.get(StaffTask, task)
        assert (claimed.status, claimed.claimed_by) == ("claimed", OFFICE)
    # Someone else cannot take it over.
    harness.click("task_claim", task, user=HEAD)
    assert harness.told() == ["Sorry, someone else has already claimed that task."]

    harness.click("task_reason_given", task)
    with harness.factory() as s:
        done = s.get(StaffTask, task)
        assert (done.status, done.outcome, done.claimed_by) == ("done", "reason_given", OFFICE)
        assert s.get(AbsenceCase, case).contact_reached is True
        kinds = s.scalars(
            select(CaseEvent.kind).where(CaseEvent.case_id == case).order_by(CaseEvent.id)
        ).all()
        assert kinds[-2:] == ["task_claimed", "task_done"]
    # A stale card or a retried click: already done, said once to the clicker.
    harness.click("task_no_answer", task)
    assert harness.told()[-1] == "Sorry, that task is already done (called: reason given)."
    with harness.factory() as s:
        assert s.get(StaffTask, task).outcome == "reason_given"


def test_home_visit_outcomes_open_the_next_task_or_alert_the_dsl(harness: Harness) -> None:
    school = crofton(harness.factory)
    case = case_id(harness.factory, school.pupils["Mia"])
    call = _task(harness.factory, case)
    harness.click("task_home_visit_needed", call)
    with harness.factory() as s:
        visit = s.scalar(
            select(StaffTask).where(StaffTask.case_id == case, StaffTask.kind == "home_visit")
        )
        assert visit is not None and visit.status == "open"
    harness.click("task_concern", visit.id)
    with harness.factory() as s:
        absence = s.get(AbsenceCase, case)
        assert absence.safeguarding and absence.dsl_alerted
    assert harness.told() == []


def test_a_dsl_task_is_not_for_the_office(harness: Harness) -> None:
    school = crofton(harness.factory)
    task = _task(
        harness.factory,
        case_id(harness.factory, school.pupils["Mia"]),
        kind="cme_referral",
        role="dsl",
    )
    harness.click("task_claim", task, user=OFFICE)
    assert harness.told()[0].startswith("Sorry, only a DSL or the headteacher can do that")
    assert [(a.actor, a.action) for a in refusals(harness.factory)] == [
        (OFFICE, "button task_claim")
    ]
    harness.click("task_claim", task, user=HEAD, channel=DSL_CH)
    with harness.factory() as s:
        assert s.get(StaffTask, task).claimed_by == HEAD


def test_leave_buttons_are_the_headteachers(harness: Harness) -> None:
    school = crofton(harness.factory)
    with transaction(harness.factory) as s:
        pupil = s.get(Pupil, school.pupils["Zara"])
        ctx = context_for(s.get(School, pupil.school_id))
        contact = make_contact(s, s.get(School, pupil.school_id), pupil)
        leave = file_leave_request(
            s,
            ctx,
            pupil,
            None,
            text="grandad's funeral",
            contact=contact,
            now=at("09:00"),
            start=date(2026, 3, 16),
            end=date(2026, 3, 17),
        ).id
    harness.click("leave_approve", leave, user=OFFICE, channel=LEAVE_CH)
    assert "only the headteacher" in harness.told()[0].lower()
    harness.click("leave_approve", leave, user=HEAD, channel=LEAVE_CH)
    with harness.factory() as s:
        decided = s.get(LeaveRequest, leave)
        assert (decided.status, decided.decided_by) == ("approved", "Mrs Lindley (Headteacher)")
        codes = s.execute(
            select(RegisterMark.date, RegisterMark.code).where(
                RegisterMark.pupil_id == school.pupils["Zara"], RegisterMark.date > DAY
            )
        ).all()
        assert sorted(codes) == [
            (date(2026, 3, 16), "C"),
            (date(2026, 3, 16), "C"),
            (date(2026, 3, 17), "C"),
            (date(2026, 3, 17), "C"),
        ]
        assert (
            s.scalar(select(OutboxItem.id).where(OutboxItem.key == f"sms:leave_approved:{leave}"))
            is not None
        )
    harness.click("leave_decline", leave, user=HEAD, channel=LEAVE_CH)
    assert harness.told()[-1] == f"Sorry, leave request {leave} was already approved."
    assert len(refusals(harness.factory)) == 1


def test_release_a_held_sweep_sends_its_texts(harness: Harness) -> None:
    with transaction(harness.factory) as s:
        school = make_school(s)
        pupils = [make_pupil(s, school, f"Pupil{i}") for i in range(10)]
        for pupil in pupils:
            make_contact(s, school, pupil)
            set_mark(
                s,
                pupil_id=pupil.id,
                day=DAY,
                session_label="AM",
                code="N",
                actor=MIS,
                reason="register",
                now=at("08:39"),
            )
        assert register_closed(s, context_for(school), DAY, "AM", at("08:40")).status == "held"
        sweep = s.scalar(select(RegisterSweep.id))
    with harness.factory() as s:
        assert s.scalar(select(OutboxItem.id).where(OutboxItem.channel == "sms")) is None
    set_roles(harness.factory, "U0CROFT03", ["dsl"])
    harness.click("sweep_release", sweep, user="U0CROFT03", channel=DSL_CH)
    assert harness.told()[0].startswith(
        "Sorry, only office staff or the attendance lead or the headteacher"
    )
    harness.click("sweep_release", sweep)
    with harness.factory() as s:
        assert s.get(RegisterSweep, sweep).status == "released"
        assert len(s.scalars(select(OutboxItem.id).where(OutboxItem.channel == "sms")).all()) == 10
    harness.click("sweep_release", sweep)  # twice: nothing more
    with harness.factory() as s:
        assert len(s.scalars(select(OutboxItem.id).where(OutboxItem.channel == "sms")).all()) == 10


# -- the change-code modal ---------------------------------------------------------------------


def _values(code: str | None, reason: str | None) -> dict[str, object]:
    return {
        "code": {
            "code": {
                "type": "static_select",
                "selected_option": {"text": {"type": "plain_text", "text": code}, "value": code}
                if code
                else None,
            }
        },
        "reason": {"reason": {"type": "plain_text_input", "value": reason}},
    }


def test_change_code_opens_a_modal_and_its_submission_sets_the_code(harness: Harness) -> None:
    school = crofton(harness.factory)
    case = explain(harness.factory, school.pupils["Jayden"], "I")
    harness.click("case_change", case)
    [opened] = harness.slack.views
    [call] = [c for c in harness.slack.calls if c.method == "views.open"]
    assert call.params["trigger_id"]
    assert opened["callback_id"] == "case_change"
    section = opened["blocks"][0]["text"]["text"]
    assert "Jayden S." in section and "Smith" not in section
    select_codes = [o["value"] for o in opened["blocks"][1]["element"]["options"]]
    assert (
        "M" in select_codes
        and "Y2" in select_codes
        and "/" not in select_codes
        and "N" not in select_codes
    )
    assert opened["blocks"][1]["element"]["initial_option"]["value"] == "I"

    # Bad submissions keep the modal open with the problem beside its field.
    assert harness.submit(opened, _values("M", "  ")) == {
        "response_action": "errors",
        "errors": {"reason": "Sorry, give the reason: the register keeps it."},
    }
    assert harness.submit(opened, _values(None, "dentist")) == {
        "response_action": "errors",
        "errors": {"code": "Sorry, choose a code."},
    }
    stranger = harness.submit(opened, _values("M", "dentist"), user="U0STRANGER")
    assert stranger["errors"]["code"].startswith("Sorry, only office staff")
    with harness.factory() as s:
        assert s.get(AbsenceCase, case).status == "explained"

    assert harness.submit(opened, _values("M", "dentist at 10")) == {}
    with harness.factory() as s:
        absence = s.get(AbsenceCase, case)
        assert (absence.status, absence.confirmed_code) == ("confirmed", "M")
        amendment = s.scalars(
            select(MarkAmendment)
            .where(MarkAmendment.pupil_id == school.pupils["Jayden"])
            .order_by(MarkAmendment.id)
        ).all()[-1]
        assert (
            amendment.amended_code,
            amendment.amended_confirmed,
            amendment.reason,
            amendment.amended_by_name,
            amendment.amended_by_position,
        ) == ("M", True, "dentist at 10", "Sam Hall", "Office manager")
    assert harness.told() == []


def test_change_code_refused_or_gone_says_so_instead_of_a_modal(harness: Harness) -> None:
    school = crofton(harness.factory)
    case = explain(harness.factory, school.pupils["Jayden"], "I")
    harness.click("case_change", case, user="U0STRANGER")
    harness.click("case_change", 999)
    assert harness.slack.views == []
    assert harness.told()[0].startswith("Sorry, only office staff")
    assert (
        harness.told()[1]
        == "Sorry, I couldn't find that: absence case 999 does not exist at Crofton Infants."
    )


def test_a_modal_for_a_case_closed_meanwhile_is_refused(harness: Harness) -> None:
    school = crofton(harness.factory)
    case = explain(harness.factory, school.pupils["Jayden"], "I")
    harness.click("case_change", case)
    [opened] = harness.slack.views
    harness.slash("/absence", "arrived Jayden 08:50")
    answer = harness.submit(opened, _values("M", "dentist"))
    assert answer == {
        "response_action": "errors",
        "errors": {"code": "Sorry, that absence is closed."},
    }
    with harness.factory() as s:
        closed = s.get(AbsenceCase, case)
        assert (closed.status, closed.confirmed_code) == ("closed", None)  # the modal wrote nothing
