"""Late arrivals the family announces, and the codes arrivals earn (pure)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from rules.arrivals import expected_by, expected_code, said_time
from rules.codes import arrival_code, in_school, leave_code_for
from rules.settings import SessionTimes

LONDON = ZoneInfo("Europe/London")
NOW = datetime(2026, 3, 10, 8, 45, tzinfo=LONDON)
CLOSES, LATE = NOW.replace(minute=40), NOW.replace(minute=55)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("running late, be there by 9.30", "09:30"),
        ("on our way, at school for 9:15", "09:15"),
        ("sorry, in about 20 minutes", "09:05"),
        ("stuck in traffic, half an hour", None),
        ("in half an hour", "09:15"),
        ("we'll be in by 10am", "10:00"),
        ("dentist, back by 1.30", "13:30"),
        ("running late, 2 kids to drop", None),
        ("on our way", None),
    ],
)
def test_the_time_a_family_gives(text: str, expected: str | None) -> None:
    found = said_time(text, NOW)
    assert (found.strftime("%H:%M") if found else None) == expected


def test_the_ladder_waits_for_the_time_given_or_the_late_cut_off() -> None:
    wait = timedelta(minutes=45)
    assert expected_by("by 9.30", NOW, CLOSES, LATE, wait).strftime("%H:%M") == "09:30"
    # No time: the late cut-off (08:55) is sooner than 45 minutes: wait the 45 minutes.
    assert expected_by("on our way", NOW, CLOSES, LATE, wait).strftime("%H:%M") == "09:30"
    # A time already past is no time at all.
    assert expected_by("by 8.30", NOW, CLOSES, LATE, wait).strftime("%H:%M") == "09:30"


def test_provisional_code_from_the_expected_time_and_late_until() -> None:
    crofton = SessionTimes(time(8, 40), time(8, 55))
    hallmoor = SessionTimes(time(9, 20))
    assert expected_code("AM", NOW.replace(minute=50), crofton) == "L"
    assert expected_code("AM", NOW.replace(hour=9, minute=30), crofton) == "U"
    assert expected_code("AM", NOW.replace(hour=9, minute=25), hallmoor) == "U"


def test_arrival_codes_by_session() -> None:
    assert arrival_code("AM", time(8, 40), time(8, 40), time(8, 55)) == "/"
    assert arrival_code("PM", time(12, 50), time(13, 0), time(13, 15)) == "\\"
    assert arrival_code("AM", time(8, 55), time(8, 40), time(8, 55)) == "L"
    assert arrival_code("AM", time(8, 56), time(8, 40), time(8, 55)) == "U"
    assert [in_school(c) for c in ("/", "L", "U", "V", "D", "N", "I", None)] == [
        True,
        True,
        True,
        True,
        True,
        False,
        False,
        False,
    ]


@pytest.mark.parametrize(
    ("reason", "code"),
    [
        ("Eid al-Fitr", "R"),
        ("religious observance", "R"),
        ("travelling fair season", "T"),
        ("performing in a West End show, licence attached", "C1"),
        ("interview at the grammar school", "J1"),
        ("study leave for GCSEs", "S"),
        ("part-time timetable agreed with the SENCO", "C2"),
        ("orthodontist appointment", "M"),
        ("grandfather's funeral", "C"),
        ("family holiday", "C"),
    ],
)
def test_the_default_leave_code_comes_from_the_reason(reason: str, code: str) -> None:
    assert leave_code_for(reason) == code
