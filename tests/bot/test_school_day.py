"""End-to-end: whole school days replayed through `tick`, the signed webhooks and Bolt, with
what reached the loopback Twilio and Slack read back."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from bot.demo.stack import Stack
from storage.marks import Actor, set_mark
from storage.models import (
    AbsenceCase,
    AuditLog,
    CaseEvent,
    LeaveRequest,
    MarkAmendment,
    Message,
    RegisterMark,
    StaffTask,
)
from tests.bot.conftest import DAY1, at
from tests.factories import make_contact, make_pupil, make_school

OFFICE, HEAD, DSL = "U0CROFT01", "U0CROFT02", "U0CROFT03"
OFFICE_CH, DSL_CH, LEAVE_CH = "C0CROFTOFF", "C0CROFTDSL", "C0CROFTHT"
MIS = Actor("MIS import", "test", "import")


class School:
    """Crofton with a class of named pupils, 40 classmates who are in, and 2B whose
    register nobody took."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        with stack.runtime.factory() as s, s.begin():
            school = make_school(s)
            self.school_id = school.id
            p = {
                name: make_pupil(s, school, name, class_name="1A")
                for name in ("Jayden", "Mia", "Ollie", "Leo", "Zara", "Noah")
            }
            p["Amira"] = make_pupil(s, school, "Amira", class_name="1A", vulnerable=["cin"])
            self.others = [make_pupil(s, school, f"Pupil{i}", class_name="1A") for i in range(40)]
            self.not_taken = [make_pupil(s, school, f"Late{i}", class_name="2B") for i in range(3)]
            self.pupils = {k: v.id for k, v in p.items()}
            self.phones = {
                "Jayden": make_contact(s, school, p["Jayden"]).phone,
                "MiaOllie": make_contact(s, school, p["Mia"], p["Ollie"]).phone,
                "Leo1": make_contact(s, school, p["Leo"], priority=1).phone,
                "Leo2": make_contact(s, school, p["Leo"], priority=2).phone,
                "ZaraBanned": make_contact(s, school, p["Zara"], priority=1, no_contact=True).phone,
                "Zara": make_contact(s, school, p["Zara"], priority=2).phone,
                "NoahLandline": make_contact(s, school, p["Noah"], can_sms=False).phone,
                "Amira": make_contact(s, school, p["Amira"]).phone,
            }
            for pupil in self.not_taken:
                make_contact(s, school, pupil)

    def register(self, day: date, absent: dict[str, str | None], session: str = "AM") -> None:
        """Marks as the MIS export gives them: the named pupils with their codes, everyone
        else in 1A present, 2B not taken."""
        with self.stack.runtime.factory() as s, s.begin():
            for name, pid in self.pupils.items():
                set_mark(
                    s,
                    pupil_id=pid,
                    day=day,
                    session_label=session,
                    code=absent.get(name, "/"),
                    actor=MIS,
                    reason="register",
                    now=at(day, "08:39"),
                )
            for pupil in self.others:
                set_mark(
                    s,
                    pupil_id=pupil.id,
                    day=day,
                    session_label=session,
                    code="/",
                    actor=MIS,
                    reason="register",
                    now=at(day, "08:39"),
                )

    def case(self, name: str) -> AbsenceCase:
        with self.stack.runtime.factory() as s:
            return s.scalar(
                select(AbsenceCase)
                .where(AbsenceCase.pupil_id == self.pupils[name])
                .order_by(AbsenceCase.id.desc())
            )

    def sent_to(self, key: str) -> list[str]:
        return [m.body for m in self.stack.twilio.sent if m.to == self.phones[key]]


ABSENT = {
    "Jayden": "N",
    "Mia": "N",
    "Ollie": "N",
    "Leo": "N",
    "Zara": "N",
    "Noah": "N",
    "Amira": "N",
}


def test_a_school_day(stack: Stack) -> None:
    school = School(stack)
    school.register(DAY1, ABSENT)
    report = stack.tick(at(DAY1, "08:40"))
    assert ("141234", "2026-03-10", "AM", "done") in report.swept

    # One text per contact, naming all of that contact's absent children; never a
    # no-contact link, a landline, or a class whose register was not taken.
    assert len(school.sent_to("MiaOllie")) == 1
    assert "Mia and Ollie" in school.sent_to("MiaOllie")[0]
    assert "were not in school" in school.sent_to("MiaOllie")[0]
    assert school.sent_to("Jayden")[0].startswith("Hello, this is Crofton Infants. Jayden was not")
    assert school.sent_to("ZaraBanned") == [] and len(school.sent_to("Zara")) == 1
    assert school.sent_to("NoahLandline") == []
    assert len(school.sent_to("Leo1")) == 1 and school.sent_to("Leo2") == []
    texted = {m.to for m in stack.twilio.sent}
    assert len(stack.twilio.sent) == len(texted) == 5
    notices = [m.text for m in stack.slack.posts(OFFICE_CH)]
    assert any("Register not taken for 2B" in t for t in notices)
    # The vulnerable pupil goes to the DSL at once; the office card only says so.
    dsl_posts = stack.slack.posts(DSL_CH)
    assert len(dsl_posts) == 1 and "Amira" in dsl_posts[0].text
    # Noah has no textable contact: a call task straight away.
    with stack.runtime.factory() as s:
        assert (
            s.scalar(select(StaffTask.kind).where(StaffTask.case_id == school.case("Noah").id))
            == "call"
        )

    # Replies of every intent.
    stack.clock.set(at(DAY1, "08:55"))
    stack.parent_texts(school.phones["Jayden"], "he's got a temperature, should be back tomorrow")
    stack.parent_texts(
        school.phones["MiaOllie"], "Ollie's been sick all night and Mia has the dentist at 10"
    )
    stack.parent_texts(
        school.phones["Amira"], "she won't be in, her dad hit her again last night and she's scared"
    )
    stack.parent_texts(
        school.phones["Zara"],
        "Zara is off with a cold. Also can she have 4th to 8th May off for a family wedding?",
    )
    stack.tick(at(DAY1, "09:00"))

    jayden = school.case("Jayden")
    assert (jayden.status, jayden.provisional_code, str(jayden.return_date)) == (
        "explained",
        "I",
        "2026-03-11",
    )
    assert (school.case("Mia").provisional_code, school.case("Ollie").provisional_code) == (
        "M",
        "I",
    )
    amira = school.case("Amira")
    assert amira.safeguarding and amira.dsl_alerted
    with stack.runtime.factory() as s:
        mark = s.scalar(
            select(RegisterMark).where(RegisterMark.pupil_id == school.pupils["Jayden"])
        )
        assert (mark.code, mark.confirmed) == ("I", False)
        leave = s.scalar(select(LeaveRequest))
        assert (leave.pupil_id, str(leave.start_date), str(leave.end_date)) == (
            school.pupils["Zara"],
            "2026-05-04",
            "2026-05-08",
        )
    assert any("Thank you" in body for body in school.sent_to("Jayden"))
    # Safeguarding words reach the DSL channel only.
    office_text = " ".join(str(m.blocks) + m.text for m in stack.slack.messages.get(OFFICE_CH, []))
    assert "hit her" not in office_text and "dad" not in office_text
    dsl_text = " ".join(str(m.blocks) for m in stack.slack.messages[DSL_CH])
    assert "hit her" in dsl_text

    # No reply from Leo's first contact: 50 minutes on (Crofton), the next contact and a call task.
    stack.tick(at(DAY1, "09:31"))
    assert len(school.sent_to("Leo2")) == 1
    with stack.runtime.factory() as s:
        leo_tasks = s.scalars(
            select(StaffTask.kind).where(StaffTask.case_id == school.case("Leo").id)
        ).all()
    assert leo_tasks == ["call"]
    # Ticking again at the same instant does nothing new.
    before = len(stack.twilio.sent)
    stack.tick(at(DAY1, "09:31"))
    assert len(stack.twilio.sent) == before

    # The office confirms Jayden's code from the card: an amendment with name and position.
    response = stack.click("case_confirm", jayden.id, OFFICE, OFFICE_CH)
    assert response.status_code == 200
    with stack.runtime.factory() as s:
        amendment = s.scalars(
            select(MarkAmendment)
            .where(MarkAmendment.pupil_id == school.pupils["Jayden"])
            .order_by(MarkAmendment.id)
        ).all()[-1]
        assert (
            amendment.amended_code,
            amendment.amended_confirmed,
            amendment.amended_by_name,
            amendment.amended_by_position,
        ) == ("I", True, "Sam Hall", "Office manager")

    # Only the headteacher decides leave.
    leave_id = leave.id
    refused = stack.slash("/leave", f"approve {leave_id}", OFFICE, OFFICE_CH)
    assert refused.status_code == 200 and "only the headteacher" in refused.text.lower()
    stranger = stack.slash("/absence", "", "U0STRANGER", OFFICE_CH)
    assert "sorry" in stranger.text.lower()
    approved = stack.slash("/leave", f"approve {leave_id} Enjoy the wedding", HEAD, LEAVE_CH)
    assert approved.status_code == 200
    stack.tick(at(DAY1, "10:00"))
    with stack.runtime.factory() as s:
        assert s.scalar(select(LeaveRequest.status)) == "approved"
        pre_marked = s.scalars(
            select(RegisterMark.code).where(
                RegisterMark.pupil_id == school.pupils["Zara"],
                RegisterMark.date >= date(2026, 5, 4),
            )
        ).all()
        assert pre_marked and set(pre_marked) == {"C"}
        assert (
            s.scalar(
                select(func.count()).select_from(AuditLog).where(AuditLog.outcome == "refused")
            )
            == 2
        )
    assert any("approved" in body for body in school.sent_to("Zara"))

    # Each case has one office card, edited as it moves, not a stream of new posts.
    case_posts = [m for m in stack.slack.posts(OFFICE_CH) if "absent AM" in str(m.blocks)]
    assert len(case_posts) == len({m.ts for m in case_posts})
    assert stack.slack.updates(OFFICE_CH)


def test_second_and_tenth_day_escalate(stack: Stack) -> None:
    school = School(stack)
    calendar_days = [date(2026, 3, d) for d in (10, 11, 12, 13, 16, 17, 18, 19, 20, 23)]
    for number, day in enumerate(calendar_days, 1):
        school.register(day, {"Leo": "N"})
        stack.tick(at(day, "08:40"))
        stack.tick(at(day, "09:45"))
        if number == 2:
            with stack.runtime.factory() as s:
                kinds = s.scalars(
                    select(StaffTask.kind).where(StaffTask.case_id == school.case("Leo").id)
                ).all()
            assert kinds == ["call", "home_visit"]
            assert len(school.sent_to("Leo1")) == 2  # the first text and day 2's follow-up
    leo = school.case("Leo")
    with stack.runtime.factory() as s:
        kinds = s.scalars(select(StaffTask.kind).where(StaffTask.case_id == leo.id)).all()
        # The N deadline is per session: the attendance lead's daily list, not a case task.
        deadline_lists = s.scalars(
            select(StaffTask.key).where(
                StaffTask.kind == "decide_code", StaffTask.case_id.is_(None)
            )
        ).all()
        codes = s.scalars(
            select(RegisterMark.code).where(
                RegisterMark.pupil_id == school.pupils["Leo"],
                RegisterMark.date <= date(2026, 3, 13),
            )
        ).all()
    assert kinds.count("home_visit") == 2 and "tell_la" in kinds and deadline_lists
    assert set(codes) == {"O"}  # N past the five-day deadline becomes O
    assert len(school.sent_to("Leo1")) == 10  # one text a day, never twice


def test_a_worker_killed_mid_sweep_texts_every_parent_once(stack: Stack) -> None:
    school = School(stack)
    school.register(DAY1, ABSENT)
    # The first send is accepted by Twilio but the answer never arrives (the worker dies or
    # times out): the retry must find it rather than text the parent again.
    stack.twilio.timeout_next(1, seconds=3, accepted=True)
    stack.tick(at(DAY1, "08:40"))
    stack.tick(at(DAY1, "08:42"))
    stack.tick(at(DAY1, "08:50"))
    recipients = [m.to for m in stack.twilio.sent]
    assert len(recipients) == len(set(recipients)) == 5
    with stack.runtime.factory() as s:
        assert (
            s.scalar(
                select(func.count()).select_from(Message).where(Message.direction == "outbound")
            )
            >= 5
        )


def test_a_declined_leave_then_absence_is_coded_G_without_a_text(stack: Stack) -> None:
    school = School(stack)
    day = date(2026, 3, 16)
    asked = stack.slash(
        "/leave", "request Leo Smith 2026-03-16 2026-03-17 family holiday", OFFICE, OFFICE_CH
    )
    assert asked.status_code == 200 and "headteacher" in asked.text.lower()
    with stack.runtime.factory() as s:
        request_id = s.scalar(
            select(LeaveRequest.id).where(LeaveRequest.pupil_id == school.pupils["Leo"])
        )
    declined = stack.slash(
        "/leave", f"decline {request_id} Not exceptional circumstances", HEAD, LEAVE_CH
    )
    assert declined.status_code == 200
    stack.tick(at(DAY1, "10:00"))

    school.register(day, {"Leo": "N"})
    stack.tick(at(day, "08:40"))
    assert school.sent_to("Leo1") == [] and school.sent_to("Leo2") == []
    leo = school.case("Leo")
    assert (leo.status, leo.provisional_code, leo.reason) == ("explained", "G", "holiday")
    with stack.runtime.factory() as s:
        mark = s.scalar(
            select(RegisterMark).where(
                RegisterMark.pupil_id == school.pupils["Leo"], RegisterMark.date == day
            )
        )
        assert (mark.code, mark.confirmed) == ("G", False)  # the office confirms it from the card
        assert (
            s.scalar(select(LeaveRequest.status).where(LeaveRequest.id == request_id)) == "declined"
        )


def test_a_mass_absence_is_held_until_the_office_sends_it(stack: Stack) -> None:
    school = School(stack)
    school.register(DAY1, ABSENT)
    with stack.runtime.factory() as s, s.begin():
        for pupil in school.others[:10]:  # a wrong export: 17 of 50 pupils "absent"
            set_mark(
                s,
                pupil_id=pupil.id,
                day=DAY1,
                session_label="AM",
                code="N",
                actor=MIS,
                reason="register",
                now=at(DAY1, "08:39"),
            )
    report = stack.tick(at(DAY1, "08:40"))
    assert ("141234", "2026-03-10", "AM", "held") in report.swept
    assert stack.twilio.sent == []
    held = [m for m in stack.slack.posts(OFFICE_CH) if "Send 17 texts" in str(m.blocks)]
    assert len(held) == 1
    sweep_id = next(b["elements"][0]["value"] for b in held[0].blocks if b["type"] == "actions")

    assert stack.click("sweep_release", sweep_id, "U0STRANGER", OFFICE_CH).status_code == 200
    stack.tick(at(DAY1, "08:45"))
    assert stack.twilio.sent == []
    stack.click("sweep_release", sweep_id, OFFICE, OFFICE_CH)
    stack.click("sweep_release", sweep_id, OFFICE, OFFICE_CH)  # a double click sends nothing twice
    stack.tick(at(DAY1, "08:46"))
    recipients = [m.to for m in stack.twilio.sent]
    assert len(recipients) == len(set(recipients)) == 5  # the classmates have no contacts on file
    with stack.runtime.factory() as s:
        calls = s.scalars(select(StaffTask.detail).where(StaffTask.kind == "call")).all()
    assert len(calls) == 11  # 10 classmates and Noah (a landline): the office phones them


def test_a_reply_about_one_sibling_leaves_the_other_escalating(stack: Stack) -> None:
    school = School(stack)
    school.register(DAY1, {"Mia": "N", "Ollie": "N"})
    stack.tick(at(DAY1, "08:40"))
    stack.clock.set(at(DAY1, "08:50"))
    stack.parent_texts(school.phones["MiaOllie"], "Mia has a temperature, back tomorrow")
    stack.tick(at(DAY1, "08:51"))
    assert (school.case("Mia").status, school.case("Mia").provisional_code) == ("explained", "I")
    ollie = school.case("Ollie")
    assert (ollie.status, ollie.last_reply_at) == ("open", None)
    ack = school.sent_to("MiaOllie")[-1]
    assert "Mia" in ack and "Ollie" not in ack
    stack.tick(at(DAY1, "09:31"))  # Crofton's 50 minutes: a call task for Ollie only
    with stack.runtime.factory() as s:
        calls = s.scalars(select(StaffTask.case_id).where(StaffTask.kind == "call")).all()
    assert calls == [ollie.id]


def test_todays_reason_with_a_future_leave_records_both(stack: Stack) -> None:
    school = School(stack)
    school.register(DAY1, {"Jayden": "N"})
    stack.tick(at(DAY1, "08:40"))
    stack.clock.set(at(DAY1, "08:50"))
    stack.parent_texts(
        school.phones["Jayden"],
        "He's been sick all night so he's staying home today. Also can he have the 20th "
        "and 21st of April off for Eid?",
    )
    stack.tick(at(DAY1, "08:51"))
    jayden = school.case("Jayden")
    assert (jayden.status, jayden.provisional_code) == ("explained", "I")
    with stack.runtime.factory() as s:
        mark = s.scalar(
            select(RegisterMark).where(
                RegisterMark.pupil_id == school.pupils["Jayden"], RegisterMark.date == DAY1
            )
        )
        assert (mark.code, mark.confirmed) == ("I", False)
        leave = s.scalars(
            select(LeaveRequest).where(LeaveRequest.pupil_id == school.pupils["Jayden"])
        ).all()
    assert [(r.status, str(r.start_date), str(r.end_date)) for r in leave] == [
        ("pending", "2026-04-20", "2026-04-21")
    ]
    # The headteacher decides it like any other request.
    approved = stack.slash("/leave", f"approve {leave[0].id}", HEAD, LEAVE_CH)
    assert approved.status_code == 200
    with stack.runtime.factory() as s:
        assert s.get(LeaveRequest, leave[0].id).status == "approved"


def test_a_reply_without_a_reason_puts_a_call_in_front_of_the_office(stack: Stack) -> None:
    school = School(stack)
    school.register(DAY1, {"Jayden": "N"})
    stack.tick(at(DAY1, "08:40"))
    stack.clock.set(at(DAY1, "08:47"))
    stack.parent_texts(school.phones["Jayden"], "who is this?")
    stack.tick(at(DAY1, "08:48"))
    jayden = school.case("Jayden")
    assert jayden.status == "open" and jayden.provisional_code is None
    with stack.runtime.factory() as s:
        tasks = s.scalars(select(StaffTask).where(StaffTask.case_id == jayden.id)).all()
    assert [(t.kind, t.detail.get("why")) for t in tasks] == [
        ("call", "the family replied without a reason")
    ]
    stack.tick(
        at(DAY1, "09:31")
    )  # the no-reply step does not add a second call for the same family
    with stack.runtime.factory() as s:
        assert (
            s.scalar(
                select(func.count()).select_from(StaffTask).where(StaffTask.case_id == jayden.id)
            )
            == 1
        )


def test_a_parent_who_texts_eight_times_is_acknowledged_once_and_every_text_reaches_staff(
    stack: Stack,
) -> None:
    school = School(stack)
    school.register(DAY1, {"Jayden": "N"})
    stack.tick(at(DAY1, "08:40"))
    for minute in range(50, 58):  # eight texts inside Crofton's 30 quiet minutes
        stack.clock.set(at(DAY1, f"08:{minute}"))
        stack.parent_texts(school.phones["Jayden"], f"Jayden is ill, text {minute}")
    stack.tick(at(DAY1, "08:58"))
    sent = school.sent_to("Jayden")
    assert len(sent) == 2 and "Thank you" in sent[1]  # the first text, one acknowledgement
    with stack.runtime.factory() as s:
        replies = s.scalars(
            select(func.count()).select_from(CaseEvent).where(CaseEvent.kind == "reply")
        ).one()
    assert replies == 8
    stack.clock.set(at(DAY1, "09:30"))  # 40 minutes after the first: acknowledged again
    stack.parent_texts(school.phones["Jayden"], "Jayden is ill, sorry for all the texts")
    stack.tick(at(DAY1, "09:31"))
    assert len(school.sent_to("Jayden")) == 3


def test_each_parent_of_a_child_is_acknowledged_once_inside_the_quiet_period(stack: Stack) -> None:
    school = School(stack)
    school.register(DAY1, {"Leo": "N"})
    stack.tick(at(DAY1, "08:40"))
    stack.clock.set(at(DAY1, "08:50"))
    stack.parent_texts(school.phones["Leo1"], "Leo has a temperature")
    stack.clock.set(at(DAY1, "08:52"))  # the case was acknowledged two minutes ago, to Leo1
    stack.parent_texts(school.phones["Leo2"], "Leo is poorly, his mum texted too")
    stack.clock.set(at(DAY1, "08:54"))
    stack.parent_texts(school.phones["Leo2"], "sorry, forgot to say he'll be back tomorrow")
    stack.tick(at(DAY1, "08:58"))
    acks = {
        key: [body for body in school.sent_to(key) if "Thank you" in body]
        for key in ("Leo1", "Leo2")
    }
    assert len(acks["Leo1"]) == 1 and len(acks["Leo2"]) == 1
