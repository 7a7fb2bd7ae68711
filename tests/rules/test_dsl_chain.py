"""The DSL alert's chain, evaluated on its own: timings within the school day, each step
once, the settings that describe it, and which acknowledgement a parent gets."""

from __future__ import annotations

import tomllib
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from rules.dsl_chain import (
    ChainStep,
    SchoolDay,
    default_chain,
    due_steps,
    next_due,
    within_day,
)
from rules.settings import SettingsError, parse_settings
from rules.texts import acknowledgement_template

LONDON = ZoneInfo("Europe/London")
HOURS = SchoolDay()
CHAIN = default_chain(15)
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def weekdays(day: date) -> bool:
    return day.weekday() < 5


def at(day: int, hhmm: str, month: int = 3) -> datetime:
    hours, minutes = map(int, hhmm.split(":"))
    return datetime(2026, month, day, hours, minutes, tzinfo=LONDON)


def due(starts: datetime, now: datetime, done: frozenset[str] = frozenset()) -> list[str]:
    return [s.kind for s in due_steps(CHAIN, starts, done, now, HOURS, weekdays, LONDON)]


def test_the_default_chain_is_the_dsls_at_once_then_the_headteacher_at_twice() -> None:
    assert (ChainStep("repost_to_dsls", 15), ChainStep("message_headteacher", 30)) == CHAIN
    start = at(10, "09:00")
    assert due(start, at(10, "09:14")) == []
    assert due(start, at(10, "09:15")) == ["repost_to_dsls"]
    assert due(start, at(10, "09:30")) == ["repost_to_dsls", "message_headteacher"]
    assert due(start, at(10, "09:30"), frozenset({"repost_to_dsls@15m"})) == ["message_headteacher"]
    done = frozenset(s.key for s in CHAIN)
    assert due(start, at(10, "12:00"), done) == []
    assert next_due(CHAIN, start, done, HOURS, weekdays, LONDON) is None
    assert next_due(CHAIN, start, frozenset(), HOURS, weekdays, LONDON) == at(10, "09:15")


@pytest.mark.parametrize(
    ("raised", "starts"),
    [
        (at(10, "09:00"), at(10, "09:00")),  # Tuesday, in the day
        (at(10, "06:00"), at(10, "07:30")),  # before opening: the same morning
        (at(10, "18:00"), at(11, "07:30")),  # at closing: the next morning
        (at(13, "21:00"), at(16, "07:30")),  # Friday night: Monday
        (at(14, "10:00"), at(16, "07:30")),  # Saturday
    ],
)
def test_the_chain_runs_within_the_school_day(raised: datetime, starts: datetime) -> None:
    assert within_day(raised, HOURS, weekdays, LONDON) == starts


def test_a_step_that_would_fall_after_closing_runs_at_the_next_opening() -> None:
    start = at(10, "17:50")
    assert next_due(CHAIN, start, frozenset(), HOURS, weekdays, LONDON) == at(11, "07:30")
    assert due(start, at(10, "23:00")) == []
    assert due(start, at(11, "07:30")) == ["repost_to_dsls", "message_headteacher"]


def test_the_days_across_a_clock_change_keep_local_opening_times() -> None:
    friday_night = at(27, "20:00")  # the clocks go forward on Sunday 29 March 2026
    assert within_day(friday_night, HOURS, weekdays, LONDON) == at(30, "07:30")


@pytest.mark.parametrize(
    ("safeguarding", "missing", "open_", "template"),
    [
        (False, False, True, "acknowledgement"),
        (False, False, False, "acknowledgement"),
        (True, False, True, "acknowledgement_safeguarding"),
        (True, True, True, "acknowledgement_missing"),
        (True, True, False, "acknowledgement_closed"),
        (True, False, False, "acknowledgement_closed"),
    ],
)
def test_which_acknowledgement(
    safeguarding: bool, missing: bool, open_: bool, template: str
) -> None:
    assert (
        acknowledgement_template(safeguarding=safeguarding, missing=missing, school_open=open_)
        == template
    )


def _crofton() -> dict:
    return tomllib.loads((EXAMPLES / "crofton.toml").read_text())


def test_settings_default_to_fifteen_minutes_and_half_past_seven_to_six() -> None:
    policy = parse_settings(_crofton(), "c").policy
    assert policy.dsl_ack_minutes == 15
    assert policy.school_day == SchoolDay(time(7, 30), time(18, 0))
    assert policy.dsl_chain == CHAIN


def test_settings_take_the_ack_minutes_the_day_and_a_chain_of_their_own() -> None:
    data = _crofton()
    data["policy"]["dsl_ack_minutes"] = 10
    data["policy"]["school_day_opens"] = "08:00"
    assert parse_settings(data, "c").policy.dsl_chain == default_chain(10)
    data["policy"]["dsl_chain"] = [
        {"kind": "repost_to_dsls", "after_minutes": 5},
        {"kind": "repost_to_dsls", "after_minutes": 20},
        {"kind": "message_headteacher", "after_minutes": 25},
    ]
    policy = parse_settings(data, "c").policy
    assert [s.key for s in policy.dsl_chain] == [
        "repost_to_dsls@5m",
        "repost_to_dsls@20m",
        "message_headteacher@25m",
    ]
    assert policy.school_day.opens == time(8, 0)


def test_a_bad_chain_is_reported_line_by_line() -> None:
    data = _crofton()
    data["policy"]["dsl_ack_minutes"] = 0
    data["policy"]["school_day_opens"] = "19:00"
    data["policy"]["dsl_chain"] = [
        {"kind": "page_the_mayor", "after_minutes": 5},
        {"after_minutes": -1},
    ]
    with pytest.raises(SettingsError) as caught:
        parse_settings(data, "school.toml")
    text = "\n".join(caught.value.problems)
    assert "policy.dsl_ack_minutes: must be greater than 0" in text
    assert "policy.school_day_closes: must be after policy.school_day_opens" in text
    assert "policy.dsl_chain[0].kind: unknown step kind 'page_the_mayor'" in text
    assert "policy.dsl_chain[1].kind: missing required key" in text
