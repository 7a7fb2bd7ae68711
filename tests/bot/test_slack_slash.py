"""/absence, /leave and /pupil through the real Bolt app, with signed requests."""

from __future__ import annotations

import logging
import time
from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.workflow.leave import file_leave_request
from bot.workflow.school import context_for
from storage.db import transaction
from storage.marks import set_mark
from storage.models import (
    AbsenceCase,
    AuditLog,
    LeaveRequest,
    MarkAmendment,
    OutboxItem,
    Pupil,
    RegisterMark,
    School,
)
from tests.bot.slack_harness import (
    DSL,
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
from tests.factories import make_contact, make_pupil


def marks(
    factory: sessionmaker[Session], pupil_id: int
) -> list[tuple[date, str, str | None, bool]]:
    with factory() as s:
        return [
            (m.date, m.session, m.code, m.confirmed)
            for m in s.scalars(
                select(RegisterMark)
                .where(RegisterMark.pupil_id == pupil_id)
                .order_by(RegisterMark.date, RegisterMark.session)
            )
        ]


def last_amendment(factory: sessionmaker[Session], pupil_id: int) -> MarkAmendment:
    with factory() as s:
        return s.scalars(
            select(MarkAmendment)
            .where(MarkAmendment.pupil_id == pupil_id)
            .order_by(MarkAmendment.id)
        ).all()[-1]


# -- /absence ---------------------------------------------------------------------------------


def test_absence_lists_todays_open_cases_with_minimum_personal_data(harness: Harness) -> None:
    school = crofton(harness.factory)
    explain(harness.factory, school.pupils["Mia"], "M", reason="medical")
    reply = harness.slash("/absence", "")
    assert reply.startswith("*Open absences today (Tue 10 Mar): 2*\n")
    assert "Jayden S. (1A): No reason yet · code N" in reply
    assert "Mia J. (1A): Reason given: needs confirming · code M (provisional)" in reply
    assert "Smith" not in reply and "Jones" not in reply and "medical" not in reply
    assert "Zara" not in reply  # present
    # Another day: nothing open today.
    harness.clock.now = at("09:30", date(2026, 3, 11))
    assert harness.slash("/absence", "list").startswith("No open absences today")


def test_absence_approve_confirms_the_provisional_code_in_the_register(harness: Harness) -> None:
    school = crofton(harness.factory)
    explain(harness.factory, school.pupils["Jayden"], "I")
    reply = harness.slash("/absence", "approve jayden smith")
    assert reply == "Done: Jayden S. (1A) is coded *I*."
    assert marks(harness.factory, school.pupils["Jayden"]) == [(date(2026, 3, 10), "AM", "I", True)]
    amendment = last_amendment(harness.factory, school.pupils["Jayden"])
    assert (
        amendment.original_code,
        amendment.original_confirmed,
        amendment.amended_code,
        amendment.amended_by_name,
        amendment.amended_by_position,
    ) == ("I", False, "I", "Sam Hall", "Office manager")
    with harness.factory() as s:
        case = s.get(AbsenceCase, case_id(harness.factory, school.pupils["Jayden"]))
        assert (case.status, case.confirmed_code) == ("confirmed", "I")
        # The card is refreshed through the outbox, not edited by the handler.
        assert (
            s.scalar(
                select(OutboxItem.id)
                .where(OutboxItem.key.like(f"slack:case:{case.id}:v%"))
                .order_by(OutboxItem.id.desc())
            )
            is not None
        )
    assert harness.slack.updates() == [] and harness.slack.posts() == []


def test_absence_approve_bad_input(harness: Harness) -> None:
    school = crofton(harness.factory)
    assert "couldn't find" in harness.slash("/absence", "approve Nobody Atall")
    assert "say which pupil" in harness.slash("/absence", "approve")
    # Mia has no provisional code yet; Zara has no open absence.
    assert "no provisional code to approve" in harness.slash("/absence", "approve Mia")
    assert "Zara Khan has no open absence" in harness.slash("/absence", "approve Zara")
    assert marks(harness.factory, school.pupils["Mia"]) == [(date(2026, 3, 10), "AM", "N", True)]


def test_an_ambiguous_name_lists_the_candidates_to_choose_from(harness: Harness) -> None:
    school = crofton(harness.factory)
    with transaction(harness.factory) as s:
        twin = make_pupil(
            s, s.get(School, school.school_id), "Jayden", last_name="Smyth", class_name="2B"
        )
        twin_upn = twin.upn
    explain(harness.factory, school.pupils["Jayden"], "I")
    reply = harness.slash("/absence", "approve Jayden")
    assert "More than one pupil matches “Jayden”" in reply
    assert f"Jayden Smith, 1A, UPN `{school.upns['Jayden']}`" in reply
    assert f"Jayden Smyth, 2B, UPN `{twin_upn}`" in reply
    assert marks(harness.factory, school.pupils["Jayden"])[0][3] is False  # nothing confirmed
    # The UPN settles it.
    assert (
        harness.slash("/absence", f"approve {school.upns['Jayden']}")
        == "Done: Jayden S. (1A) is coded *I*."
    )


def test_absence_code_sets_another_code_with_its_reason(harness: Harness) -> None:
    school = crofton(harness.factory)
    explain(harness.factory, school.pupils["Jayden"], "I")
    reply = harness.slash("/absence", "code Jayden Smith m dentist at 10, back after")
    assert reply == "Done: Jayden S. (1A) is coded *M*."
    amendment = last_amendment(harness.factory, school.pupils["Jayden"])
    assert (
        amendment.amended_code,
        amendment.amended_confirmed,
        amendment.reason,
        amendment.amended_by_name,
    ) == ("M", True, "dentist at 10, back after", "Sam Hall")
    # A correction after confirming changes the register too.
    assert (
        harness.slash("/absence", "code Jayden Y2 snow: no buses")
        == "Done: Jayden S. (1A) is coded *Y2*."
    )
    assert marks(harness.factory, school.pupils["Jayden"]) == [
        (date(2026, 3, 10), "AM", "Y2", True)
    ]


def test_absence_code_bad_input(harness: Harness) -> None:
    school = crofton(harness.factory)
    assert "no attendance code" in harness.slash("/absence", "code Jayden XX poorly")
    assert "give the reason" in harness.slash("/absence", "code Jayden I")
    assert "means present" in harness.slash("/absence", "code Jayden / he was in")
    assert "say who, the code and why" in harness.slash("/absence", "code")
    assert "couldn't find" in harness.slash("/absence", "code Nobody I ill")
    assert marks(harness.factory, school.pupils["Jayden"]) == [(date(2026, 3, 10), "AM", "N", True)]


def test_absence_arrived_records_late_or_unauthorised_by_the_schools_times(
    harness: Harness,
) -> None:
    school = crofton(harness.factory)
    assert (
        harness.slash("/absence", "arrived Jayden 08:50")
        == "Done: Jayden S. (1A) arrived at 08:50: marked *L*."
    )
    # No time: now (09:30 on the injected clock), after late_until 08:55: U.
    assert (
        harness.slash("/absence", "arrived Mia")
        == "Done: Mia J. (1A) arrived at 09:30: marked *U*."
    )
    assert marks(harness.factory, school.pupils["Jayden"])[0][2] == "L"
    assert marks(harness.factory, school.pupils["Mia"])[0][2] == "U"
    with harness.factory() as s:
        statuses = s.scalars(select(AbsenceCase.status)).all()
    assert statuses == ["closed", "closed"]
    assert "not a time of day" in harness.slash("/absence", "arrived Leo 25:10")
    assert "still to come" in harness.slash("/absence", "arrived Leo 10:15")
    assert marks(harness.factory, school.pupils["Leo"])[0][2] == "/"


# -- /leave -----------------------------------------------------------------------------------


def test_leave_request_from_the_office_goes_to_the_headteacher(harness: Harness) -> None:
    school = crofton(harness.factory)
    reply = harness.slash(
        "/leave", "request Zara Khan 04/05/2026 2026-05-08 grandmother's funeral in Lahore"
    )
    with harness.factory() as s:
        leave = s.scalar(select(LeaveRequest))
        card = s.scalar(select(OutboxItem).where(OutboxItem.key == f"slack:leave:{leave.id}:v1"))
    assert (
        reply
        == f"Leave request #{leave.id} for Zara K. (1A), Mon 4 May to Fri 8 May, is with the headteacher."
    )
    assert (
        leave.pupil_id,
        leave.start_date,
        leave.end_date,
        leave.reason,
        leave.source,
        leave.requested_by,
        leave.status,
    ) == (
        school.pupils["Zara"],
        date(2026, 5, 4),
        date(2026, 5, 8),
        "grandmother's funeral in Lahore",
        "staff",
        "Sam Hall (Office manager)",
        "pending",
    )
    assert card is not None
    # One day: the end date may be left out.
    harness.slash("/leave", "request Leo 2026-05-11 hospital appointment")
    with harness.factory() as s:
        one_day = s.scalars(select(LeaveRequest).order_by(LeaveRequest.id)).all()[-1]
    assert (one_day.start_date, one_day.end_date) == (date(2026, 5, 11), date(2026, 5, 11))


def test_leave_request_bad_input(harness: Harness) -> None:
    crofton(harness.factory)
    assert "not a date on the calendar" in harness.slash(
        "/leave", "request Zara 31/02/2026 2026-03-03 wedding"
    )
    assert "say who and when" in harness.slash("/leave", "request Zara next week for a wedding")
    assert "give the reason" in harness.slash("/leave", "request Zara 04/05/2026 08/05/2026")
    assert "ends (2026-05-01) before it starts" in harness.slash(
        "/leave", "request Zara 04/05/2026 01/05/2026 wedding"
    )
    assert "in advance" in harness.slash("/leave", "request Zara 09/03/2026 09/03/2026 wedding")
    assert "couldn't find" in harness.slash("/leave", "request Nobody 04/05/2026 wedding")
    with harness.factory() as s:
        assert s.scalar(select(LeaveRequest.id)) is None


def _parent_request(factory: sessionmaker[Session], pupil_id: int) -> int:
    with transaction(factory) as s:
        pupil = s.get(Pupil, pupil_id)
        ctx = context_for(s.get(School, pupil.school_id))
        contact = make_contact(s, s.get(School, pupil.school_id), pupil)
        return file_leave_request(
            s,
            ctx,
            pupil,
            None,
            text="family wedding",
            contact=contact,
            now=at("09:00"),
            start=date(2026, 5, 4),
            end=date(2026, 5, 8),
        ).id


def test_only_the_headteacher_decides_leave_and_approval_pre_marks_c(harness: Harness) -> None:
    school = crofton(harness.factory)
    request_id = _parent_request(harness.factory, school.pupils["Zara"])

    refused = harness.slash("/leave", f"approve {request_id}", OFFICE)
    assert "only the headteacher" in refused.lower()
    [audit] = refusals(harness.factory)
    assert (audit.actor, audit.action, audit.school_id, audit.detail["needs"]) == (
        OFFICE,
        "/leave approve",
        school.school_id,
        ["headteacher"],
    )

    reply = harness.slash("/leave", f"approve #{request_id} Enjoy the wedding", HEAD, LEAVE_CH)
    assert reply.startswith(f"Leave request #{request_id} approved: Zara K. (1A), ")
    assert "pre-marked C" in reply and "told by text" in reply
    with harness.factory() as s:
        leave = s.get(LeaveRequest, request_id)
        assert (leave.status, leave.decided_by, leave.note) == (
            "approved",
            "Mrs Lindley (Headteacher)",
            "Enjoy the wedding",
        )
        sms = s.scalar(
            select(OutboxItem).where(OutboxItem.key == f"sms:leave_approved:{request_id}")
        )
        assert sms is not None
    # 4 May is the early May bank holiday: no register, no mark.
    pre_marked = [
        m for m in marks(harness.factory, school.pupils["Zara"]) if m[0] >= date(2026, 5, 4)
    ]
    # The headteacher's approval is final: the register holds C, confirmed.
    assert len(pre_marked) == 8 and {(code, confirmed) for _, _, code, confirmed in pre_marked} == {
        ("C", True)
    }
    assert "already approved" in harness.slash("/leave", f"decline {request_id}", HEAD, LEAVE_CH)


def test_leave_decline_and_bad_ids(harness: Harness) -> None:
    school = crofton(harness.factory)
    request_id = _parent_request(harness.factory, school.pupils["Zara"])
    assert "give the leave request number" in harness.slash(
        "/leave", "decline soon", HEAD, LEAVE_CH
    )
    assert "leave request 999 does not exist" in harness.slash(
        "/leave", "decline 999", HEAD, LEAVE_CH
    )
    assert "give the request's number" in harness.slash("/leave", "approve", HEAD, LEAVE_CH)
    reply = harness.slash("/leave", f"decline {request_id} not exceptional", HEAD, LEAVE_CH)
    assert reply.startswith(f"Leave request #{request_id} declined: Zara K. (1A)")
    with harness.factory() as s:
        assert s.get(LeaveRequest, request_id).status == "declined"
    assert not [
        m for m in marks(harness.factory, school.pupils["Zara"]) if m[0] >= date(2026, 5, 4)
    ]


def test_leave_request_needs_an_office_attendance_or_head_role(harness: Harness) -> None:
    crofton(harness.factory)
    set_roles(harness.factory, DSL, ["dsl"])
    reply = harness.slash("/leave", "request Zara 04/05/2026 wedding", DSL)
    assert reply.startswith(
        "Sorry, only office staff or the attendance lead or the headteacher can do that"
    )
    assert [(a.actor, a.action) for a in refusals(harness.factory)] == [(DSL, "/leave request")]


# -- /pupil -----------------------------------------------------------------------------------


def test_pupil_shows_attendance_this_year_open_cases_and_recent_codes(harness: Harness) -> None:
    school = crofton(harness.factory)
    jayden = school.pupils["Jayden"]
    with transaction(harness.factory) as s:
        for day, code in (
            (date(2025, 7, 10), "O"),  # last school year: not counted
            (date(2026, 3, 2), "/"),
            (date(2026, 3, 3), "I"),
            (date(2026, 3, 4), "/"),
            (date(2026, 3, 5), "/"),
            (date(2026, 3, 6), "G"),
            (date(2026, 3, 9), "/"),
            (date(2026, 5, 4), "C"),
        ):  # a future pre-mark: not counted yet
            set_mark(
                s,
                pupil_id=jayden,
                day=day,
                session_label="AM",
                code=code,
                actor=MIS,
                reason="register",
                now=at("08:39", day),
                confirmed=day <= date(2026, 3, 10),
            )
    explain(harness.factory, jayden, "I")
    reply = harness.slash("/pupil", "Jayden Smith")
    # This year: 7 possible sessions (6 above + today's provisional I), 4 attended.
    assert "*Jayden Smith* (1A, UPN" in reply
    assert (
        "Attendance this year: 57.1% (persistent absence): 4 of 7 sessions, 2 authorised and 1 unauthorised"
        in reply
    )
    assert (
        "Open absence since Tue 10 Mar: Reason given: needs confirming · code I (provisional)"
        in reply
    )
    assert (
        "Recent marks (? not yet confirmed): Tue 10 Mar AM I?, Mon 9 Mar AM /, Fri 6 Mar AM G"
        in reply
    )
    assert "Jul" not in reply and "May" not in reply
    assert "Sorry, I couldn't find that" in harness.slash("/pupil", "Nobody Atall")
    assert "*/pupil PUPIL*" in harness.slash("/pupil", "")


# -- help, strangers, failures -----------------------------------------------------------------


def test_help_and_unknown_subcommands_give_usage(harness: Harness) -> None:
    crofton(harness.factory)
    assert "*/absence approve PUPIL*" in harness.slash("/absence", "help")
    assert "*/absence code PUPIL CODE REASON*" in harness.slash("/absence", "frobnicate Jayden")
    assert "*/leave request PUPIL FROM TO REASON*" in harness.slash("/leave", "")
    assert refusals(harness.factory) == []


def test_a_stranger_is_refused_politely_and_the_refusal_is_logged(harness: Harness) -> None:
    school = crofton(harness.factory)
    explain(harness.factory, school.pupils["Jayden"], "I")
    for text in ("", "approve Jayden", "help"):
        assert harness.slash("/absence", text, "U0STRANGER").startswith("Sorry, only office staff")
    assert [
        (a.actor, a.action, a.school_id, a.detail["has"]) for a in refusals(harness.factory)
    ] == [
        ("U0STRANGER", "/absence", None, []),
        ("U0STRANGER", "/absence approve", None, []),
        ("U0STRANGER", "/absence help", None, []),
    ]
    assert marks(harness.factory, school.pupils["Jayden"])[0][3] is False


def test_an_unexpected_failure_gives_an_error_id_and_logs_no_personal_data(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    school = crofton(harness.factory)
    explain(harness.factory, school.pupils["Jayden"], "I")

    def broken(*_args: object, **_kwargs: object) -> str:
        raise RuntimeError("Jayden Smith, +447911000123: he's been sick all night")

    monkeypatch.setattr("bot.slack.slash.set_case_code", broken)
    with caplog.at_level(logging.ERROR, logger="firstcall.slack"):
        reply = harness.slash("/absence", "approve Jayden")
    assert reply.startswith("Sorry, something went wrong on our side (error ")
    error_id = reply.split("(error ")[1].split(")")[0]
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert error_id in logged and "RuntimeError" in logged
    for private in ("Jayden", "Smith", "+447911", "sick", "Traceback"):
        assert private not in logged and private not in reply
    assert all(r.exc_info is None for r in caplog.records)


def test_a_forged_or_stale_signature_is_refused_with_401(harness: Harness) -> None:
    school = crofton(harness.factory)
    explain(harness.factory, school.pupils["Jayden"], "I")
    body, headers = harness.slack.slash_command_request(
        "/absence", "approve Jayden", OFFICE, "C0CROFTOFF", timestamp=int(time.time())
    )
    forged = {**headers, "X-Slack-Signature": "v0=" + "0" * 64}
    assert harness.dispatch(body, forged).status == 401
    stale_body, stale = harness.slack.slash_command_request(
        "/absence", "approve Jayden", OFFICE, "C0CROFTOFF", timestamp=int(time.time()) - 600
    )
    assert harness.dispatch(stale_body, stale).status == 401
    tampered = body.replace(b"approve", b"arrived")
    assert harness.dispatch(tampered, headers).status == 401
    assert marks(harness.factory, school.pupils["Jayden"])[0][3] is False
    with harness.factory() as s:
        assert s.scalar(select(AuditLog.id)) is None
