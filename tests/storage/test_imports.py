"""Roster and register import: every bad row named, nothing committed, idempotent."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from storage.csvfile import ImportFailed
from storage.models import Contact, MarkAmendment, Pupil, PupilContact, RegisterMark
from storage.register import import_marks
from storage.roster import import_roster
from tests.factories import EXAMPLES, make_school

NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
PUPILS_HEADER = "upn,first_name,last_name,year_group,class,vulnerable,la_transport\n"
CONTACTS_HEADER = (
    "upn,name,relationship,phone,priority,parental_responsibility,no_contact,language\n"
)
GOOD_UPN = "H801200001001"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_example_roster_imports_once_and_again_changes_nothing(session) -> None:
    school = make_school(session)
    first = import_roster(
        session, school, EXAMPLES / "crofton-pupils.csv", EXAMPLES / "crofton-contacts.csv", now=NOW
    )
    session.commit()
    pupils, contacts, links = (
        count(session, Pupil),
        count(session, Contact),
        count(session, PupilContact),
    )
    second = import_roster(
        session, school, EXAMPLES / "crofton-pupils.csv", EXAMPLES / "crofton-contacts.csv", now=NOW
    )
    session.commit()
    assert first.created > 0 and second.created == second.updated == 0
    assert (count(session, Pupil), count(session, Contact), count(session, PupilContact)) == (
        pupils,
        contacts,
        links,
    )
    landline = session.scalar(select(Contact).where(Contact.phone == "+441132618000"))
    assert landline is not None and not landline.can_sms and landline.phone_type == "fixed_line"
    assert any("cannot receive texts" in w for w in first.warnings)


def test_every_bad_row_is_named_and_nothing_is_written(session, tmp_path: Path) -> None:
    school = make_school(session)
    pupils = write(
        tmp_path,
        "pupils.csv",
        PUPILS_HEADER
        + f"{GOOD_UPN},Amira,Khan,2,2B,cin,false\n"
        + "A801200001001,Bad,Check,2,2B,,false\n"
        + "X801200001002,Noah,Jones,Year 9x,9A,,false\n"
        + "X801200001002,Noah,Jones,3,3A,pirate,maybe\n"
        + f"{GOOD_UPN},Amira,Again,2,2B,,false\n",
    )
    contacts = write(
        tmp_path,
        "contacts.csv",
        CONTACTS_HEADER
        + f"{GOOD_UPN},Sarah Khan,Mother,07911 123456,1,true,false,ur\n"
        + f"{GOOD_UPN},Dad,Father,not a phone,2,true,false,en\n"
        + f"{GOOD_UPN},Gran,Grandmother,07911 123457,first,false,false,en\n"
        + "W801200001009,Nobody,Mother,07911 123458,1,true,false,en\n",
    )
    with pytest.raises(ImportFailed) as caught:
        import_roster(session, school, pupils, contacts, now=NOW)
    problems = caught.value.problems
    assert [p.split(": ", 1)[0] for p in problems] == [
        f"{pupils}:3",
        f"{pupils}:4",
        f"{pupils}:5",
        f"{pupils}:6",
        f"{contacts}:3",
        f"{contacts}:4",
        f"{contacts}:5",
    ]
    assert "not a valid UPN" in problems[0]
    assert "year_group" in problems[1]
    assert "vulnerable flag 'pirate'" in problems[2]
    assert f"upn {GOOD_UPN} already on line 2" in problems[3]
    assert "not a phone number" in problems[4]
    assert "priority must be a whole number" in problems[5]
    assert "not in the pupils file" in problems[6]
    session.rollback()
    assert count(session, Pupil) == 0 and count(session, Contact) == 0


def test_missing_column_names_the_header_line(session, tmp_path: Path) -> None:
    school = make_school(session)
    pupils = write(tmp_path, "pupils.csv", "upn,first_name,last_name\n")
    contacts = write(tmp_path, "contacts.csv", CONTACTS_HEADER)
    with pytest.raises(ImportFailed) as caught:
        import_roster(session, school, pupils, contacts, now=NOW)
    assert caught.value.problems == [
        f"{pupils}:1: missing column(s) year_group, class, vulnerable, la_transport "
        "(expected upn,first_name,last_name,year_group,class,vulnerable,la_transport)"
    ]


def test_a_contact_removed_from_the_file_is_unlinked(session, tmp_path: Path) -> None:
    school = make_school(session)
    pupils = write(tmp_path, "pupils.csv", PUPILS_HEADER + f"{GOOD_UPN},Amira,Khan,2,2B,,false\n")
    both = write(
        tmp_path,
        "c1.csv",
        CONTACTS_HEADER
        + f"{GOOD_UPN},Sarah Khan,Mother,07911 123456,1,true,false,en\n"
        + f"{GOOD_UPN},Imran Khan,Father,07911 123457,2,true,false,en\n",
    )
    one = write(
        tmp_path,
        "c2.csv",
        CONTACTS_HEADER
        + f"{GOOD_UPN},Sarah Khan,Mother,07911 123456,1,true,false,en\n"
        + f"{GOOD_UPN},Imran Khan,Father,07911 123457,2,false,true,en\n",
    )
    import_roster(session, school, pupils, both, now=NOW)
    session.commit()
    import_roster(session, school, pupils, one, now=NOW)
    session.commit()
    links = {link.contact.name: link.no_contact for link in session.scalars(select(PupilContact))}
    assert links == {"Sarah Khan": False, "Imran Khan": True}


def _roster(session):
    school = make_school(session)
    import_roster(
        session, school, EXAMPLES / "crofton-pupils.csv", EXAMPLES / "crofton-contacts.csv", now=NOW
    )
    session.commit()
    return school


def test_register_import_is_idempotent_and_a_changed_mark_is_amended(
    session, tmp_path: Path
) -> None:
    _roster(session)
    marks = tmp_path / "marks.csv"
    shutil.copy(EXAMPLES / "crofton-marks.csv", marks)
    first = import_marks(session, marks, now=NOW)
    session.commit()
    again = import_marks(session, marks, now=NOW)
    session.commit()
    assert first.created == 120 and again.unchanged == 120 and count(session, MarkAmendment) == 0

    lines = marks.read_text().splitlines()
    upn = lines[1].split(",")[0]
    lines[1] = f"{upn},2026-03-09,AM,M,,dentist"
    marks.write_text("\n".join(lines) + "\n")
    changed = import_marks(session, marks, now=NOW)
    session.commit()
    assert changed.updated == 1
    amendment = session.scalar(select(MarkAmendment))
    assert (amendment.original_code, amendment.amended_code, amendment.amended_by_name) == (
        "/",
        "M",
        "MIS import",
    )


def test_register_rows_must_be_school_days_known_pupils_and_codes(session, tmp_path: Path) -> None:
    _roster(session)
    upn = (EXAMPLES / "crofton-pupils.csv").read_text().splitlines()[1].split(",")[0]
    marks = write(
        tmp_path,
        "marks.csv",
        "upn,date,session,code,minutes_late,note\n"
        + f"{upn},2026-03-14,AM,/,,\n"
        + f"{upn},2026-03-10,EVE,/,,\n"
        + f"{upn},2026-03-10,AM,Q9,,\n"
        + f"{GOOD_UPN},2026-03-10,AM,/,,\n"
        + f"{upn},2026-03-10,AM,L,late,\n"
        + f"{upn},10/03/2026,PM,\\,,\n"
        + f"{upn},10/03/26,PM,/,,\n"
        + f"{upn},31/02/2026,PM,/,,\n",
    )
    with pytest.raises(ImportFailed) as caught:
        import_marks(session, marks, now=NOW)
    reasons = [p.split(": ", 1)[1] for p in caught.value.problems]
    assert reasons == [
        "2026-03-14 is not a school day (weekend)",
        "session must be AM or PM, got 'EVE'",
        "code 'Q9' is not an attendance code",
        f"upn {GOOD_UPN} is not on roll",
        "minutes_late must be a whole number, got 'late'",
        "date '10/03/26' is not a date: use YYYY-MM-DD or DD/MM/YYYY",
        "date '31/02/2026' is not a date on the calendar",
    ]
    assert count(session, RegisterMark) == 0


def test_a_pupil_missing_from_the_roster_leaves_the_roll_and_a_return_rejoins(
    session, tmp_path: Path
) -> None:
    school = make_school(session)
    first = import_roster(
        session, school, EXAMPLES / "crofton-pupils.csv", EXAMPLES / "crofton-contacts.csv", now=NOW
    )
    session.commit()
    lines = (EXAMPLES / "crofton-pupils.csv").read_text().splitlines()
    gone = lines[1].split(",")[0]
    pupils = write(tmp_path, "pupils.csv", "\n".join([lines[0], *lines[2:]]) + "\n")
    contacts = write(
        tmp_path,
        "contacts.csv",
        "".join(
            line + "\n"
            for line in (EXAMPLES / "crofton-contacts.csv").read_text().splitlines()
            if not line.startswith(gone)
        ),
    )
    later = NOW.replace(day=11)
    report = import_roster(session, school, pupils, contacts, now=later)
    session.commit()
    pupil = session.scalar(select(Pupil).where(Pupil.upn == gone))
    assert report.left == [pupil.id]
    assert (pupil.on_roll, pupil.left_at) == (False, later)
    import_roster(
        session, school, EXAMPLES / "crofton-pupils.csv", EXAMPLES / "crofton-contacts.csv", now=NOW
    )
    session.commit()
    session.refresh(pupil)
    assert (pupil.on_roll, pupil.left_at) == (True, None)
    assert first.created > 0
