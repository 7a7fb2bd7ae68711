"""Issue 11, item by item: the register marks are the truth all day, and a case is one
unbroken absence. Each test drives the public paths: `firstcall register import` at the
time the MIS sends, `tick`, the signed Twilio webhook and Slack commands."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.demo.stack import Stack, loopback_stack
from bot.jobs import tick
from storage.models import LeaveRequest, StaffTask
from tests.bot.conftest import DAY1, at
from tests.bot.register_day import RegisterDay

OFFICE, HEAD = "U0CROFT01", "U0CROFT02"
OFFICE_CH, LEAVE_CH = "C0CROFTOFF", "C0CROFTHT"
WED, THU, FRI = date(2026, 3, 11), date(2026, 3, 12), date(2026, 3, 13)
MON16, TUE17, WED18 = date(2026, 3, 16), date(2026, 3, 17), date(2026, 3, 18)


@pytest.fixture
def school(
    stack: Stack, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> RegisterDay:
    return RegisterDay(stack, db_url, tmp_path, monkeypatch)


def _morning(school: RegisterDay, day: date, marks: dict[str, str | None]) -> None:
    """The MIS sends the AM register before Crofton's 08:40 close; the day runs on."""
    school.import_marks(at(day, "08:35"), day, marks)
    school.stack.tick(at(day, "08:40"))
    school.stack.tick(at(day, "09:45"))


def _tummy_bug_then_back(school: RegisterDay, stack: Stack) -> None:
    """Leo absent on Tuesday with a tummy bug nobody confirms; back on Wednesday."""
    _morning(school, DAY1, {"Leo": "N"})
    stack.clock.set(at(DAY1, "09:50"))
    stack.parent_texts(school.phones["Leo"][0], "he has a tummy bug")
    stack.tick(at(DAY1, "09:51"))
    _morning(school, WED, {})  # back in school: the absence is over


def test_item1_an_imported_late_mark_ends_the_case(school: RegisterDay, stack: Stack) -> None:
    school.import_marks(at(DAY1, "08:35"), DAY1, {"Leo": "N"})
    stack.tick(at(DAY1, "08:40"))
    assert len(school.texts_to("Leo")) == 1
    # The MIS sends Leo's late mark at 09:10: he arrived 08:50 (10 minutes after the close).
    school.import_marks(at(DAY1, "09:10"), DAY1, {"Leo": "L"}, minutes_late={"Leo": 10})
    stack.tick(at(DAY1, "09:31"))  # Crofton's 50 minutes without a reply
    assert school.texts_to("Leo", 1) == []  # no "still no reason" to the second contact
    assert school.tasks("Leo") == []  # no call task
    [case] = school.cases("Leo")
    assert (case.status, case.next_due_at) == ("closed", None)
    assert "Arrived 08:50, L" in school.card_text(OFFICE_CH, "Leo")
    # The following week: no decide-code list for him, no O; his L stands as the MIS gave it.
    for day in (WED, THU, FRI, MON16, TUE17):
        _morning(school, day, {})
    assert school.tasks("Leo") == []
    assert school.marks("Leo")[(DAY1.isoformat(), "AM")] == ("L", True)
    assert len(school.texts_to("Leo")) == 1


def test_item1_a_mark_before_the_texts_go_cancels_them_and_open_tasks(
    school: RegisterDay, stack: Stack
) -> None:
    school.import_marks(at(DAY1, "08:35"), DAY1, {"Leo": "N", "Mia": "N"})
    tick(stack.runtime, at(DAY1, "08:40"), jobs=("sweep",))  # queued, not yet sent
    school.import_marks(at(DAY1, "08:41"), DAY1, {"Leo": "L", "Mia": "N"}, minutes_late={"Leo": 1})
    stack.tick(at(DAY1, "08:42"))
    assert school.texts_to("Leo") == [] and len(school.texts_to("Mia")) == 1
    assert school.cancelled_texts() == 1
    # Mia: no reply, a call task at 09:30; she turns up at 09:40 (after 08:55: U).
    stack.tick(at(DAY1, "09:31"))
    assert school.tasks("Mia", open_only=True) == ["call"]
    stack.clock.set(at(DAY1, "09:41"))
    answer = stack.slash("/absence", "arrived Mia 09:40", OFFICE, OFFICE_CH)
    assert "marked *U*" in answer.text, answer.text
    assert school.tasks("Mia", open_only=True) == []
    stack.tick(at(DAY1, "09:42"))
    assert school.marks("Mia")[(DAY1.isoformat(), "AM")] == ("U", True)
    assert "Arrived 09:40, U" in school.card_text(OFFICE_CH, "Mia")


def test_item2_a_register_imported_after_the_close_is_swept_when_it_arrives(
    school: RegisterDay, stack: Stack
) -> None:
    bee = school.class_2b[0]
    school.import_marks(at(DAY1, "08:35"), DAY1, {}, take_2b=False)  # 2B not taken
    stack.tick(at(DAY1, "08:40"))
    assert "Register not taken for 2B" in school.card_text(OFFICE_CH, "2B (AM Tue")
    assert stack.twilio.sent == []
    # Six minutes late, 2B's register: one pupil absent.
    school.import_marks(at(DAY1, "08:46"), DAY1, {}, everyone=False, class_2b={0: "N"})
    stack.tick(at(DAY1, "08:47"))
    texted = [m for m in stack.twilio.sent if "Bee0" in m.body]
    assert len(texted) == 1 and "was not in school" in texted[0].body
    card = school.card_text(OFFICE_CH, "2B (AM Tue")
    assert "register came in at 08:46" in card and "not taken" not in card
    with stack.runtime.factory() as s:
        assert s.scalar(select(StaffTask.id).where(StaffTask.case_id.is_(None))) is None
    # A register after the session's end (Crofton AM ends at noon): no texts, the card says so.
    school.import_marks(at(WED, "08:35"), WED, {}, take_2b=False)
    stack.tick(at(WED, "08:40"))
    school.import_marks(at(WED, "12:30"), WED, {}, everyone=False, class_2b={1: "N"})
    stack.tick(at(WED, "12:31"))
    assert not [m for m in stack.twilio.sent if "Bee1" in m.body]
    assert "after the session ended" in school.card_text(OFFICE_CH, "2B (AM Wed")
    assert bee.id  # the classmate swept in time kept their case


def test_item3_on_the_way_makes_the_case_expected_and_the_ladder_waits(
    school: RegisterDay, stack: Stack
) -> None:
    school.import_marks(at(DAY1, "08:35"), DAY1, {"Leo": "N", "Mia": "N"})
    stack.tick(at(DAY1, "08:40"))
    stack.clock.set(at(DAY1, "08:45"))
    stack.parent_texts(school.phones["Mia"][0], "on our way, there by 8.50")
    stack.parent_texts(school.phones["Leo"][0], "running late, will be in by 9.45")
    stack.tick(at(DAY1, "08:46"))
    mia, leo = school.cases("Mia")[0], school.cases("Leo")[0]
    # Crofton's late_until is 08:55: by 08:50 is L, by 09:45 is U.
    assert (mia.status, mia.provisional_code) == ("expected", "L")
    assert (leo.status, leo.provisional_code) == ("expected", "U")
    assert "Expected by 09:45" in school.card_text(OFFICE_CH, "Leo")
    # Mia's L arrives from the MIS: her case ends.
    school.import_marks(at(DAY1, "08:58"), DAY1, {"Mia": "L", "Leo": "N"}, minutes_late={"Mia": 10})
    # 09:31 is Crofton's 50 minutes: Leo is expected until 09:45, so nothing yet.
    stack.tick(at(DAY1, "09:31"))
    assert school.cases("Mia")[0].status == "closed"
    assert school.texts_to("Leo", 1) == [] and school.tasks("Leo") == []
    # 09:46 and no mark: the ladder goes on.
    stack.tick(at(DAY1, "09:46"))
    assert len(school.texts_to("Leo", 1)) == 1 and school.tasks("Leo") == ["call"]
    assert school.cases("Leo")[0].status == "open"


def test_item3_each_session_books_its_own_arrivals(school: RegisterDay, stack: Stack) -> None:
    school.import_marks(at(DAY1, "08:35"), DAY1, {"Jay": "N"})
    stack.tick(at(DAY1, "08:40"))
    # 12:50 is after the AM ends (noon) and before Crofton's 13:00 PM close: present PM.
    stack.clock.set(at(DAY1, "12:55"))
    answer = stack.slash("/absence", "arrived Jay 12:50", OFFICE, OFFICE_CH)
    assert "marked *\\\\*" in answer.text, answer.text
    marks = school.marks("Jay")
    assert marks[(DAY1.isoformat(), "AM")] == ("N", True)  # the morning still needs a reason
    assert marks[(DAY1.isoformat(), "PM")] == ("\\", True)
    assert school.cases("Jay")[0].status == "closed"
    # After the AM close and by late_until (08:55) is L; after it, U.
    school.import_marks(at(WED, "08:35"), WED, {"Leo": "N", "Mia": "N"})
    stack.tick(at(WED, "08:40"))
    stack.clock.set(at(WED, "09:20"))
    stack.slash("/absence", "arrived Leo 08:52", OFFICE, OFFICE_CH)
    stack.slash("/absence", "arrived Mia 09:10", OFFICE, OFFICE_CH)
    assert school.marks("Leo")[(WED.isoformat(), "AM")] == ("L", True)
    assert school.marks("Mia")[(WED.isoformat(), "AM")] == ("U", True)


def test_item3_without_late_until_every_late_arrival_is_U(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with loopback_stack(db_url, at(DAY1, "07:00")) as stack:
        hallmoor = RegisterDay(stack, db_url, tmp_path, monkeypatch, school="hallmoor")
        hallmoor.import_marks(at(DAY1, "09:15"), DAY1, {"Leo": "N"})
        stack.tick(at(DAY1, "09:20"))  # Hallmoor's AM register closes at 09:20
        stack.clock.set(at(DAY1, "09:25"))
        stack.parent_texts(hallmoor.phones["Leo"][0], "sorry running late be there in 10 minutes")
        stack.tick(at(DAY1, "09:26"))
        leo = hallmoor.cases("Leo")[0]
        assert (leo.status, leo.provisional_code) == ("expected", "U")
        staff = next(iter(hallmoor_staff()))
        stack.clock.set(at(DAY1, "09:40"))
        stack.slash("/absence", "arrived Leo 09:36", staff, "C0HALLOFF")
        assert hallmoor.marks("Leo")[(DAY1.isoformat(), "AM")] == ("U", True)


def hallmoor_staff() -> list[str]:
    import tomllib

    settings = tomllib.loads((Path(__file__).parents[2] / "examples/hallmoor.toml").read_text())
    return [uid for uid, s in settings["staff"].items() if "office" in s["roles"]]


def test_item4_a_later_absence_is_a_new_case_with_a_first_text(
    school: RegisterDay, stack: Stack
) -> None:
    _tummy_bug_then_back(school, stack)
    [first] = school.cases("Leo")
    assert first.status == "closed" and "Back in school AM Wed 11 Mar" in school.card_text(
        OFFICE_CH, "Leo"
    )
    for day in (THU, FRI, MON16):
        _morning(school, day, {})
    school.import_marks(at(TUE17, "08:35"), TUE17, {"Leo": "N"})
    stack.tick(at(TUE17, "08:40"))
    cases = school.cases("Leo")
    assert len(cases) == 2 and cases[1].opened_on == TUE17
    texts = school.texts_to("Leo")
    assert texts[-1].startswith("Hello, this is Crofton Infants. Leo was not in school")
    assert not any("still have no reason" in t for t in texts)
    # This morning's N is not O, whatever the old case's deadline.
    assert school.marks("Leo")[(TUE17.isoformat(), "AM")] == ("N", True)
    stack.tick(at(TUE17, "09:45"))
    assert [k for k in school.tasks("Leo") if k == "home_visit"] == []
    # Day 2 of this absence: one home visit (Crofton: day 2), not several at once.
    _morning(school, WED18, {"Leo": "N"})
    with stack.runtime.factory() as s:
        visits = s.scalars(
            select(StaffTask.kind).where(
                StaffTask.case_id == cases[1].id, StaffTask.kind == "home_visit"
            )
        ).all()
    assert visits == ["home_visit"]


def test_item4_a_declined_leave_day_is_never_chased(school: RegisterDay, stack: Stack) -> None:
    stack.clock.set(at(DAY1, "10:00"))
    stack.slash(
        "/leave", "request Leo Smith 2026-03-16 2026-03-16 family holiday", OFFICE, OFFICE_CH
    )
    with stack.runtime.factory() as s:
        request_id = s.scalar(select(LeaveRequest.id))
    stack.slash("/leave", f"decline {request_id} Not exceptional", HEAD, LEAVE_CH)
    _morning(school, MON16, {"Leo": "N"})
    stack.tick(at(MON16, "15:00"))
    assert [t for t in school.texts_to("Leo") if "leave" not in t] == []
    assert school.texts_to("Leo", 1) == []
    assert school.tasks("Leo") == []  # no call, no CME referral for the DSL
    assert school.marks("Leo")[(MON16.isoformat(), "AM")] == ("G", False)


def test_item5_a_stale_reason_is_never_reused(school: RegisterDay, stack: Stack) -> None:
    _tummy_bug_then_back(school, stack)
    school.import_marks(at(FRI, "08:35"), FRI, {"Leo": "N"})
    stack.tick(at(FRI, "08:40"))
    assert school.marks("Leo")[(FRI.isoformat(), "AM")] == ("N", True)  # not I
    assert school.texts_to("Leo")[-1].startswith("Hello, this is Crofton Infants. Leo was not")
    assert school.cases("Leo")[-1].status == "open"


def test_item5_a_return_date_carries_the_reason_to_it_and_no_further(
    school: RegisterDay, stack: Stack
) -> None:
    _morning(school, MON16, {"Leo": "N"})
    stack.clock.set(at(MON16, "09:50"))
    stack.parent_texts(school.phones["Leo"][0], "off with flu till Wednesday")
    stack.tick(at(MON16, "09:51"))
    before = len(school.texts_to("Leo"))
    _morning(school, TUE17, {"Leo": "N"})
    assert school.marks("Leo")[(TUE17.isoformat(), "AM")] == ("I", False)
    assert len(school.texts_to("Leo")) == before  # the family said: nobody asks again
    assert "Off until Wed 18 Mar" in school.card_text(OFFICE_CH, "Leo")
    _morning(school, WED18, {"Leo": "N"})  # not back on the day they said: ask again
    assert school.marks("Leo")[(WED18.isoformat(), "AM")] == ("N", True)
    assert "we still have no reason" in school.texts_to("Leo")[-1]


def test_item6_each_n_session_has_its_own_deadline(school: RegisterDay, stack: Stack) -> None:
    # Leo: absent Tue 10 (AM and PM), back Wed, absent again Thu 12. Mia: a cold on Wed 11,
    # which nobody confirms.
    school.import_marks(at(DAY1, "08:35"), DAY1, {"Leo": "N"})
    stack.tick(at(DAY1, "08:40"))
    school.import_marks(at(DAY1, "12:55"), DAY1, {"Leo": "N"}, session="PM")
    stack.tick(at(DAY1, "13:00"))
    _morning(school, WED, {"Mia": "N"})
    stack.clock.set(at(WED, "09:50"))
    stack.parent_texts(school.phones["Mia"][0], "she has a cold")
    _morning(school, THU, {"Leo": "N"})
    _morning(school, FRI, {})
    # Mon 16 is day 5 of Tue 10's sessions (Crofton: decide by day 5, O from day 6).
    _morning(school, MON16, {"Jay": "N"})
    card = school.card_text(OFFICE_CH, "Codes nearing their deadline")
    assert "Leo S. (1A) AM Tue 10 Mar: N, due by Mon 16 Mar" in card
    assert "Leo S. (1A) PM Tue 10 Mar: N, due by Mon 16 Mar" in card
    assert "Thu 12 Mar" not in card and "Jay" not in card  # not near theirs yet
    with stack.runtime.factory() as s:
        [task] = s.scalars(select(StaffTask).where(StaffTask.case_id.is_(None))).all()
        assert (task.kind, task.role) == ("decide_code", "attendance_lead")
    # Tue 17: Tue 10's N become O; Thu 12's and this week's stay N; Mia's provisional
    # I is never O, it is nudged (day 5 of Wed 11).
    _morning(school, TUE17, {"Jay": "N"})
    leo = school.marks("Leo")
    assert leo[(DAY1.isoformat(), "AM")] == ("O", True)
    assert leo[(DAY1.isoformat(), "PM")] == ("O", True)
    assert leo[(THU.isoformat(), "AM")] == ("N", True)
    assert school.marks("Jay")[(MON16.isoformat(), "AM")] == ("N", True)
    assert school.marks("Jay")[(TUE17.isoformat(), "AM")] == ("N", True)  # this morning's
    assert school.marks("Mia")[(WED.isoformat(), "AM")] == ("I", False)
    card = school.card_text(OFFICE_CH, "Codes nearing their deadline")
    assert "Mia S. (1A) AM Wed 11 Mar: I (provisional: confirm it), due by Tue 17 Mar" in card
    _morning(school, date(2026, 3, 19), {})  # Thu 19: day 6 of Thu 12
    assert school.marks("Leo")[(THU.isoformat(), "AM")] == ("O", True)


def test_item7_leave_exports_under_its_code_and_a_declined_day_is_provisional_g(
    school: RegisterDay, stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    stack.clock.set(at(DAY1, "10:00"))
    requests = {
        "Leo": "request Leo Smith 2026-03-23 2026-03-23 Eid, religious observance",
        "Mia": "request Mia Smith 2026-03-23 2026-03-23 family wedding abroad",
        "Jay": "request Jay Smith 2026-03-23 2026-03-23 family holiday",
    }
    for words in requests.values():
        stack.slash("/leave", words, OFFICE, OFFICE_CH)
    with stack.runtime.factory() as s:
        ids = {
            name: s.scalar(select(LeaveRequest.id).where(LeaveRequest.pupil_id == school.ids[name]))
            for name in requests
        }
        assert s.get(LeaveRequest, ids["Leo"]).code == "R"  # the default from its reason
    stack.tick(at(DAY1, "10:01"))
    assert "Code if approved: *R*" in school.card_text(LEAVE_CH, f"Leave request #{ids['Leo']}")
    stack.slash("/leave", f"approve {ids['Leo']}", HEAD, LEAVE_CH)
    stack.slash("/leave", f"approve {ids['Mia']} C1 performing abroad", HEAD, LEAVE_CH)
    wrong = stack.slash("/leave", f"approve {ids['Jay']} Q holiday", HEAD, LEAVE_CH)
    assert "Q is not a leave code" in wrong.text
    day = date(2026, 3, 23)
    stack.slash("/leave", f"decline {ids['Jay']} Not exceptional", HEAD, LEAVE_CH)
    school.import_marks(at(day, "08:35"), day, {"Leo": "R", "Mia": "C1", "Jay": "N"})
    stack.tick(at(day, "08:40"))
    stack.tick(at(day, "09:45"))  # Crofton's no-reply step: nothing for the declined day
    assert [t for t in school.texts_to("Jay") if "leave" not in t.lower()] == []
    assert school.texts_to("Jay", 1) == [] and school.tasks("Jay") == []
    rows = {(r[0], r[2]): r[3] for r in school.export(day, day, capsys) if r[1] == "2026-03-23"}
    upn = {name: school.upns[pid] for name, pid in school.ids.items()}
    assert rows[(upn["Leo"], "AM")] == "R" and rows[(upn["Leo"], "PM")] == "R"
    assert rows[(upn["Mia"], "AM")] == "C1"
    assert rows[(upn["Jay"], "AM")] == "N"  # G is provisional until the office confirms it
    assert school.marks("Jay")[(day.isoformat(), "AM")] == ("G", False)
    # Leave written ahead does not make a register taken: no PM register, no N for anyone.
    stack.tick(at(day, "13:00"))
    assert (day.isoformat(), "PM") not in school.marks("Jay")
    assert "Register not taken for 1A" in school.card_text(OFFICE_CH, "1A (PM")


def test_an_ended_case_keeps_its_absent_sessions_to_code(school: RegisterDay, stack: Stack) -> None:
    _tummy_bug_then_back(school, stack)
    assert "Confirm I" in school.card_text(OFFICE_CH, "Back in school")
    stack.clock.set(at(WED, "10:00"))
    answer = stack.slash("/absence", "approve Leo", OFFICE, OFFICE_CH)
    assert answer.status_code == 200
    assert school.marks("Leo")[(DAY1.isoformat(), "AM")] == ("I", True)
    assert school.cases("Leo")[0].status == "closed"  # confirming does not reopen it
    again = stack.slash("/absence", "approve Leo", OFFICE, OFFICE_CH)
    assert "no open absence" in again.text
