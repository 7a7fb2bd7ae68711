import tomllib
from pathlib import Path

import pytest

from rules.settings import SettingsError, parse_settings

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def load(name: str) -> dict:
    return tomllib.loads((EXAMPLES / f"{name}.toml").read_text())


def problems(data: dict) -> list[str]:
    with pytest.raises(SettingsError) as caught:
        parse_settings(data, "school.toml")
    return caught.value.problems


SEED_SCHOOLS = {  # the five schools whose policies the rules come from: AM close
    "micklefield": (8, 55),
    "crofton": (8, 40),
    "hallmoor": (9, 20),
    "beecroft": (8, 40),
    "russell-street": (9, 0),
}


@pytest.mark.parametrize("name", sorted(SEED_SCHOOLS))
def test_examples_are_valid(name: str) -> None:
    settings = parse_settings(load(name), name)
    closes = settings.sessions["AM"].register_closes
    assert (closes.hour, closes.minute) == SEED_SCHOOLS[name]
    assert settings.staff_with_role("headteacher")
    assert settings.policy.ladder


def test_crofton_has_its_own_ladder_and_beecroft_the_default() -> None:
    crofton = parse_settings(load("crofton"), "c").policy.ladder
    beecroft = parse_settings(load("beecroft"), "b").policy
    assert [s.on_day for s in crofton if s.kind == "home_visit" and s.on_day] == [2, 4]
    assert any(s.kind == "cme_referral" and s.on_day == 20 for s in beecroft.ladder)
    assert beecroft.leave_notice_days == 30


def test_each_seed_school_runs_its_own_timings() -> None:
    hallmoor = parse_settings(load("hallmoor"), "h").policy
    russell = parse_settings(load("russell-street"), "r").policy
    assert hallmoor.no_reply_minutes == 100  # texted at 09:20, called by 11:00
    assert hallmoor.leave_notice_days == 14
    assert russell.no_reply_minutes == 15  # every contact is called from 09:00
    assert any(s.kind == "call_task" and s.on_day == 3 for s in russell.ladder)


def test_unknown_key_is_named_with_file_and_key() -> None:
    data = load("beecroft")
    data["policy"]["no_reply_minuets"] = 30
    assert problems(data) == ["school.toml: policy.no_reply_minuets: unknown key"]


def test_bad_time_is_named() -> None:
    data = load("beecroft")
    data["sessions"]["AM"]["register_closes"] = "8.40am"
    assert problems(data) == [
        "school.toml: sessions.AM.register_closes: must be a time \"HH:MM\" (24-hour), got '8.40am'"
    ]


def test_missing_required_field_is_named() -> None:
    data = load("beecroft")
    del data["school"]["urn"]
    del data["slack"]["dsl_channel"]
    assert problems(data) == [
        "school.toml: school.urn: missing required key",
        "school.toml: slack.dsl_channel: missing required key",
    ]


def test_unknown_role_ladder_kind_and_template_field_are_caught_at_load() -> None:
    data = load("beecroft")
    data["staff"]["U0BEEC001"]["roles"] = ["office", "caretaker"]
    data["policy"]["ladder"] = [{"kind": "send_pigeon", "on_day": 2}]
    data["templates"] = {"first_contact": "Hello {parent_name}"}
    found = problems(data)
    assert any("staff.U0BEEC001.roles: unknown role 'caretaker'" in p for p in found)
    assert any("policy.ladder[0].kind: unknown step kind 'send_pigeon'" in p for p in found)
    assert any("templates.first_contact: unknown field {parent_name}" in p for p in found)


def test_dsl_channel_must_not_be_the_office_channel() -> None:
    data = load("beecroft")
    data["slack"]["dsl_channel"] = data["slack"]["office_channel"]
    assert any("safeguarding" in p for p in problems(data))


def test_thresholds_default_when_absent() -> None:
    data = load("beecroft")
    del data["policy"]
    policy = parse_settings(data, "b").policy
    assert (policy.no_reply_minutes, policy.mass_absence_share, policy.la_unexplained_days) == (
        45,
        0.15,
        10,
    )


def test_retention_defaults_and_a_school_s_own_periods() -> None:
    assert parse_settings(load("beecroft"), "b").retention.message_bodies_days == 90
    data = load("beecroft")
    data["retention"] = {"message_bodies_days": 30, "slack_text_days": 7}
    retention = parse_settings(data, "b").retention
    assert (retention.message_bodies_days, retention.leaver_contacts_days) == (30, 30)
    assert retention.slack_text_days == 7
    data["retention"] = {"message_bodies_days": 0, "bodies": 3}
    with pytest.raises(SettingsError) as caught:
        parse_settings(data, "b.toml")
    assert len(caught.value.problems) == 2
    assert any("retention.message_bodies_days" in p for p in caught.value.problems)
    assert any("retention.bodies" in p for p in caught.value.problems)


def test_each_session_ends_by_default_and_as_the_school_sets() -> None:
    crofton = parse_settings(load("crofton"), "c").sessions
    assert (str(crofton["AM"].ends), str(crofton["PM"].ends)) == ("12:00:00", "15:30:00")
    hallmoor = parse_settings(load("hallmoor"), "h").sessions
    assert str(hallmoor["AM"].ends) == "12:00:00"  # before its 12:55 PM close
    assert hallmoor["AM"].late_cutoff == hallmoor["AM"].register_closes  # no late_until: U
    data = load("crofton")
    data["sessions"]["AM"]["ends"] = "12:30"
    data["sessions"]["PM"]["ends"] = "15:15"
    custom = parse_settings(data, "c").sessions
    assert (str(custom["AM"].ends), str(custom["PM"].ends)) == ("12:30:00", "15:15:00")
    data["sessions"]["AM"]["ends"] = "08:30"
    data["sessions"]["PM"]["ends"] = "13:30"
    assert problems(data) == [
        "school.toml: sessions.AM.ends: must be after register_closes and late_until"
    ]
    data["sessions"]["AM"]["ends"] = "13:30"
    assert problems(data) == [
        "school.toml: sessions.AM.ends: must not be after sessions.PM.register_closes"
    ]
