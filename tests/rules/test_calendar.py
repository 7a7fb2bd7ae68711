from datetime import date

import pytest

from rules.calendar import NotADate, SchoolCalendar, Term, looks_like_date, parse_date

CAL = SchoolCalendar(
    terms=(
        Term("Spring 2", date(2026, 2, 23), date(2026, 3, 27)),
        Term("Summer 1", date(2026, 4, 13), date(2026, 5, 22)),
    ),
    inset_days=frozenset({date(2026, 3, 16)}),
)


def test_weekends_holidays_inset_and_bank_holidays_are_closed() -> None:
    assert CAL.is_school_day(date(2026, 3, 10))
    assert CAL.closure_reason(date(2026, 3, 14)) == "weekend"
    assert CAL.closure_reason(date(2026, 3, 16)) == "INSET day"
    assert CAL.closure_reason(date(2026, 4, 1)) == "school holiday"
    assert CAL.closure_reason(date(2026, 5, 4)).startswith("bank holiday")  # Early May


def test_next_school_day_skips_weekends_inset_and_holidays() -> None:
    assert CAL.next_school_day(date(2026, 3, 13)) == date(2026, 3, 17)  # Fri -> (Mon INSET) -> Tue
    assert CAL.next_school_day(date(2026, 3, 27)) == date(2026, 4, 13)  # Easter holiday
    assert CAL.previous_school_day(date(2026, 3, 17)) == date(2026, 3, 13)


def test_school_days_between_counts_both_ends() -> None:
    assert CAL.school_days_between(date(2026, 3, 9), date(2026, 3, 13)) == 5
    assert CAL.school_days_between(date(2026, 3, 13), date(2026, 3, 17)) == 2
    assert CAL.school_days_between(date(2026, 3, 13), date(2026, 3, 12)) == 0
    assert CAL.add_school_days(date(2026, 3, 12), 2) == date(2026, 3, 17)


def test_without_terms_every_weekday_but_bank_holidays_is_open() -> None:
    open_all = SchoolCalendar()
    assert open_all.is_school_day(date(2026, 8, 3))
    assert not open_all.is_school_day(date(2026, 12, 25))


def test_a_date_is_read_iso_or_uk_day_first_with_a_four_digit_year() -> None:
    assert parse_date("2026-03-04") == parse_date("2026-3-4") == date(2026, 3, 4)
    assert parse_date(" 04/03/2026 ") == parse_date("4/3/2026") == date(2026, 3, 4)
    with pytest.raises(NotADate, match="use YYYY-MM-DD or DD/MM/YYYY"):
        parse_date("04/03/26")  # a two-digit year would be read as the year 26
    with pytest.raises(NotADate, match="on the calendar"):
        parse_date("31/02/2026")
    assert looks_like_date("31/02/2026") and not looks_like_date("Thursday")
