"""Four weeks at two schools with different settings (Crofton's own ladder, 50 minutes and
late_until 08:55; Beecroft's default ladder, 45 minutes, PM at 13:15), driven as the MIS and
the office drive them: registers imported as the MIS sends them (some late), late
arrivals, repeated absences, a reason with a return date, leave approved and declined.
Every text, every task and every exported mark is checked at the end."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.demo.stack import Stack
from storage.models import AbsenceCase, LeaveRequest, Pupil, StaffTask
from tests.bot.conftest import at
from tests.bot.register_day import RegisterDay, import_rows

C_OFFICE, C_HEAD, C_OFFICE_CH, C_LEAVE_CH = "U0CROFT01", "U0CROFT02", "C0CROFTOFF", "C0CROFTHT"
B_OFFICE, B_HEAD, B_OFFICE_CH = "U0BEEC001", "U0BEEC002", "C0BEECOFF"
FIRST = date(2026, 3, 2)  # four weeks of Spring 2 at both schools: 2 to 27 March


def school_days() -> list[date]:
    days = [FIRST + timedelta(days=n) for n in range(26)]
    return [d for d in days if d.weekday() < 5]


def test_four_weeks_at_two_schools(
    stack: Stack,
    db_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    crofton = RegisterDay(
        stack, db_url, tmp_path, monkeypatch, names=("Leo", "Mia", "Jay"), classmates=12
    )
    beecroft = RegisterDay(
        stack,
        db_url,
        tmp_path,
        monkeypatch,
        school="beecroft",
        names=("Ava", "Ben", "Cal"),
        classmates=12,
    )

    # Leave asked for on day one: Jay's family holiday (declined), Cal's Diwali (approved
    # under R, the code for its reason).
    stack.clock.set(at(FIRST, "07:30"))
    stack.slash(
        "/leave", "request Jay Smith 23/03/2026 23/03/2026 family holiday", C_OFFICE, C_OFFICE_CH
    )
    stack.slash(
        "/leave",
        "request Cal Smith 24/03/2026 25/03/2026 Diwali, religious observance",
        B_OFFICE,
        B_OFFICE_CH,
    )
    with stack.runtime.factory() as s:
        leave = {s.get(Pupil, r.pupil_id).first_name: r.id for r in s.scalars(select(LeaveRequest))}
    stack.slash("/leave", f"decline {leave['Jay']} Not exceptional", C_HEAD, C_LEAVE_CH)
    stack.slash("/leave", f"approve {leave['Cal']}", B_HEAD, B_OFFICE_CH)

    absent: dict[date, tuple[dict[str, str], dict[str, str]]] = {
        date(2026, 3, 3): ({"Mia": "N"}, {"Ava": "N"}),
        date(2026, 3, 4): ({}, {"Ava": "N"}),
        date(2026, 3, 5): ({}, {"Ava": "N"}),
        date(2026, 3, 6): ({}, {"Ava": "N"}),
        date(2026, 3, 10): ({"Leo": "N"}, {}),
        date(2026, 3, 12): ({}, {"Ben": "N"}),
        date(2026, 3, 16): ({"Jay": "N"}, {}),
        date(2026, 3, 23): ({"Jay": "N"}, {}),
        date(2026, 3, 24): ({}, {"Cal": "R"}),
        date(2026, 3, 25): ({}, {"Cal": "R"}),
    }
    for day in school_days():
        c_marks, b_marks = absent.get(day, ({}, {}))
        if day == FIRST:
            # Crofton: Leo N at the close, then the MIS sends his L (arrived 08:52) at 09:05.
            # Beecroft: class 2B's register comes in six minutes after the close.
            crofton.import_marks(at(day, "08:35"), day, {"Leo": "N"})
            beecroft.import_marks(at(day, "08:35"), day, {}, take_2b=False)
            stack.tick(at(day, "08:40"))
            beecroft.import_marks(at(day, "08:46"), day, {}, everyone=False, class_2b={0: "N"})
            crofton.import_marks(at(day, "09:05"), day, {"Leo": "L"}, minutes_late={"Leo": 12})
            stack.tick(at(day, "09:45"))
            continue
        # One file from the MIS a morning for both schools (UPNs are unique).
        rows = crofton.rows(day, c_marks) + beecroft.rows(day, b_marks)
        import_rows(tmp_path, monkeypatch, db_url, at(day, "08:35"), rows)
        stack.tick(at(day, "08:40"))
        if day == date(2026, 3, 3):  # Mia is on her way: expected by 09:30 (U), arrives 09:28
            stack.clock.set(at(day, "08:50"))
            stack.parent_texts(crofton.phones["Mia"][0], "running late, be there by 9.30")
            stack.tick(at(day, "08:51"))
            crofton.import_marks(at(day, "09:35"), day, {"Mia": "U"}, minutes_late={"Mia": 48})
        if day == date(2026, 3, 4):  # Ava's second day: a reason and a return date
            stack.tick(at(day, "09:45"))
            stack.clock.set(at(day, "10:00"))
            stack.parent_texts(beecroft.phones["Ava"][0], "she has flu, back on Monday")
            stack.tick(at(day, "10:01"))
        if day == date(2026, 3, 9):  # the office confirms Ava's I for the whole absence
            stack.clock.set(at(day, "10:00"))
            stack.click("case_confirm", beecroft.cases("Ava")[0].id, B_OFFICE, B_OFFICE_CH)
        if day == date(2026, 3, 10):  # Leo again: a new case; a tummy bug, never confirmed...
            stack.clock.set(at(day, "09:00"))
            stack.parent_texts(crofton.phones["Leo"][0], "he has a tummy bug")
        if day == date(2026, 3, 17):  # ...until the deadline list reminds the office
            stack.clock.set(at(day, "10:00"))
            stack.click("case_confirm", crofton.cases("Leo")[1].id, C_OFFICE, C_OFFICE_CH)
        if c_marks or b_marks or day == date(2026, 3, 3):
            stack.tick(at(day, "09:45"))  # after both schools' no-reply minutes

    # Every text: the first contact first, the next only after the school's minutes of
    # silence, "still no reason" only on a later day of the same absence, nothing for an
    # arrival the register shows, a reason given, or a declined-leave day.
    assert crofton.texts() == {
        "Leo": ["first", "first", "ack"],  # 2 Mar (then L at 08:52); 10 Mar, a new absence
        "Mia": ["first", "ack"],  # on her way: the ladder waited, she arrived
        "Jay": ["first"],  # 16 Mar; nothing on 23 Mar, the declined-leave day
        "Jay#2": ["follow_up"],
    }
    assert beecroft.texts() == {
        "Bee0": ["first"],  # 2B's register, imported six minutes late, was swept then
        "Ava": ["first", "follow_up", "ack"],
        "Ava#2": ["follow_up"],
        "Ben": ["first"],
        "Ben#2": ["follow_up"],
    }

    # Every task: the ladder's, closed as not needed when the register showed the pupil
    # in school; and each school's daily list of codes nearing their deadline.
    def tasks(school: RegisterDay) -> list[tuple[str, str, str | None]]:
        with stack.runtime.factory() as s:
            rows = s.execute(
                select(StaffTask, Pupil.first_name)
                .outerjoin(AbsenceCase, AbsenceCase.id == StaffTask.case_id)
                .outerjoin(Pupil, Pupil.id == AbsenceCase.pupil_id)
                .where(StaffTask.school_id == school.school_id)
                .order_by(StaffTask.id)
            ).all()
        return [(name or task.key.split(":")[-1], task.kind, task.outcome) for task, name in rows]

    assert tasks(crofton) == [
        ("2026-03-16", "decide_code", None),  # Leo's provisional I of 10 Mar
        ("Jay", "call", "not_needed"),
        ("2026-03-17", "decide_code", None),
        ("2026-03-20", "decide_code", None),  # Jay's N of 16 Mar
        ("2026-03-27", "decide_code", None),  # Jay's provisional G of 23 Mar
    ]
    assert tasks(beecroft) == [
        ("Bee0", "call", "not_needed"),
        ("Ava", "call", "not_needed"),
        ("Ava", "home_visit", "not_needed"),
        ("2026-03-06", "decide_code", None),  # Bee0's N of 2 Mar
        ("2026-03-09", "decide_code", None),  # Bee0's, and Ava's N of 3 Mar
        ("Ben", "call", "not_needed"),
        ("2026-03-18", "decide_code", None),  # Ben's N of 12 Mar
    ]

    # Every exported mark: the legal register.
    def exported(school: RegisterDay) -> dict[tuple[str, str, str], str]:
        names = {upn: name for name, pid in school.ids.items() for upn in [school.upns[pid]]}
        names |= {school.upns[p.id]: p.first_name for p in school.class_2b}
        present = {"/", "\\"}
        return {
            (names.get(upn, upn), day, session): code
            for upn, day, session, code, _, _ in school.export(FIRST, date(2026, 3, 27), capsys)
            if upn in names and code not in present
        }

    assert exported(crofton) == {
        ("Leo", "2026-03-02", "AM"): "L",
        ("Mia", "2026-03-03", "AM"): "U",
        ("Leo", "2026-03-10", "AM"): "I",  # confirmed by the office
        ("Jay", "2026-03-16", "AM"): "O",  # N past its deadline (day 6: 23 Mar)
        ("Jay", "2026-03-23", "AM"): "N",  # G, provisional until the office confirms it
    }
    assert exported(beecroft) == {
        ("Bee0", "2026-03-02", "AM"): "O",
        ("Ava", "2026-03-03", "AM"): "I",
        ("Ava", "2026-03-04", "AM"): "I",
        ("Ava", "2026-03-05", "AM"): "I",
        ("Ava", "2026-03-06", "AM"): "I",
        ("Ben", "2026-03-12", "AM"): "O",
        ("Cal", "2026-03-24", "AM"): "R",  # approved leave, final under its reason's code
        ("Cal", "2026-03-24", "PM"): "R",
        ("Cal", "2026-03-25", "AM"): "R",
        ("Cal", "2026-03-25", "PM"): "R",
    }
    # One case per unbroken absence.
    assert [len(crofton.cases(n)) for n in ("Leo", "Mia", "Jay")] == [2, 1, 2]
    assert [len(beecroft.cases(n)) for n in ("Ava", "Ben", "Cal")] == [1, 1, 0]
