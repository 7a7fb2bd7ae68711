"""The texts parents read: grammar for one or several children, plain dates, and the
default templates' length in SMS segments."""

from __future__ import annotations

from datetime import date

import pytest

from rules.settings import SchoolSettings
from rules.texts import (
    DEFAULT_TEMPLATES,
    children_phrase,
    penalty_warning,
    render,
    segments,
    session_phrase,
    short_date,
    template_problem,
)
from storage.schools import read_settings_file
from tests.factories import EXAMPLES


@pytest.fixture(scope="module")
def crofton() -> SchoolSettings:
    return read_settings_file(EXAMPLES / "crofton.toml")[0]


def test_children_phrase() -> None:
    assert children_phrase([]) == ""
    assert children_phrase(["Jayden"]) == "Jayden"
    assert children_phrase(["Mia", "Ollie"]) == "Mia and Ollie"
    assert children_phrase(["Amy", "Ben", "Amy", "Cal"]) == "Amy, Ben and Cal"


def test_first_contact_reads_right_for_one_and_for_two(crofton: SchoolSettings) -> None:
    one = render(
        crofton,
        "first_contact",
        school="Crofton Infants",
        children="Jayden",
        session=session_phrase("AM"),
        date=short_date(date(2026, 3, 10)),
        school_phone="01924 967606",
    )
    assert one == (
        "Hello, this is Crofton Infants. Jayden was not in school when the register closed "
        "this morning (Tue 10 Mar) and we have no reason. Please reply with the reason."
    )
    two = render(
        crofton,
        "first_contact",
        school="Crofton Infants",
        children=children_phrase(["Mia", "Ollie"]),
        session=session_phrase("PM"),
        date="Tue 10 Mar",
        school_phone="x",
    )
    assert "Mia and Ollie were not in school when the register closed this afternoon" in two


def test_a_missing_field_reads_as_empty_without_double_spaces(crofton: SchoolSettings) -> None:
    text = render(
        crofton,
        "leave_approved",
        school="Crofton Infants",
        child="Mia",
        **{"from": "Mon 4 May", "to": "Fri 8 May"},
    )
    assert text.endswith("from Mon 4 May to Fri 8 May.") and "  " not in text


def test_segments_count_gsm_and_unicode() -> None:
    assert segments("a" * 160) == 1 and segments("a" * 161) == 2
    assert segments("€" * 80) == 1 and segments("€" * 81) == 2  # extension characters cost two
    assert segments("ą" * 70) == 1 and segments("ą" * 71) == 2  # Polish letters force UCS-2


def test_default_templates_fit_in_two_segments_with_long_names() -> None:
    long_fields = {
        "school": "St Bartholomew's Church of England Primary Academy",
        "children": "Oluwaseun, Maximilian and Anastasia",
        "child": "Maximilian",
        "session": "this afternoon",
        "date": "Wed 30 Sep",
        "school_phone": "01924 967606",
        "from": "Mon 14 Sep",
        "to": "Fri 25 Sep",
        "note": "",
        "penalty_warning": "",
        "opens": "Wed 30 Sep at 07:30",
    }
    for name, text in DEFAULT_TEMPLATES.items():
        assert segments(text.format_map(long_fields)) <= 2, name


def test_the_penalty_warning_names_the_school_s_own_number_of_days() -> None:
    assert "7 or more days" in penalty_warning(7)
    assert "5 or more days" in penalty_warning(5)


def test_every_default_template_can_be_a_schools_own() -> None:
    # A school that copies a default into its settings file must not have it refused at
    # `school load` (the sample values cover every field a template may use).
    for name, text in DEFAULT_TEMPLATES.items():
        assert template_problem(name, text) is None, name
