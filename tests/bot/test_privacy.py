"""Personal data out and away on the whole stack: a subject access export, erasure of a
pupil and of a contact (audited, the register kept), and the nightly retention run."""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.cli import main
from bot.demo.stack import Stack
from bot.slack.render import REDACTED
from storage.models import (
    AuditLog,
    Contact,
    MarkAmendment,
    Message,
    Pupil,
    PupilContact,
    RegisterMark,
    SlackCard,
)
from tests.bot.conftest import DAY1, at
from tests.bot.test_school_day import DSL_CH, OFFICE_CH, School

WORDS = "Amira has a fever and is staying home"


@pytest.fixture
def cli(stack: Stack, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Callable[[str], int]:
    """`firstcall --db URL LINE` at the stack's time."""

    def run(line: str) -> int:
        monkeypatch.setenv("FIRSTCALL_CLOCK", stack.clock().isoformat())
        return main(["--db", db_url, *shlex.split(line)])

    return run


def _day_with_a_reply(stack: Stack) -> School:
    school = School(stack)
    school.register(DAY1, {"Amira": "N", "Jayden": "N"})
    stack.tick(at(DAY1, "08:40"))
    stack.clock.set(at(DAY1, "08:50"))
    stack.parent_texts(school.phones["Amira"], WORDS)
    stack.tick(at(DAY1, "08:51"))
    return school


def _upn(stack: Stack, pupil_id: int) -> str:
    with stack.runtime.factory() as s:
        return s.get(Pupil, pupil_id).upn


def test_a_subject_access_export_holds_everything_and_is_audited(
    stack: Stack, cli: Callable[[str], int], capsys: pytest.CaptureFixture
) -> None:
    school = _day_with_a_reply(stack)
    upn = _upn(stack, school.pupils["Amira"])
    assert cli(f"data export --pupil {upn} --by DPO") == 0
    export = json.loads(capsys.readouterr().out)
    assert export["pupil"]["upn"] == upn and export["pupil"]["first_name"] == "Amira"
    assert [c["phone"] for c in export["contacts"]] == [school.phones["Amira"]]
    assert any(t["body"] == WORDS for t in export["texts"])
    assert export["register_marks"] and export["absences"][0]["events"]
    with stack.runtime.factory() as s:
        assert s.scalars(select(AuditLog.action).where(AuditLog.actor == "DPO")).all() == [
            "data export pupil"
        ]


def test_erasing_a_pupil_keeps_the_register_and_removes_the_rest(
    stack: Stack, cli: Callable[[str], int], capsys: pytest.CaptureFixture
) -> None:
    school = _day_with_a_reply(stack)
    amira = school.pupils["Amira"]
    with stack.runtime.factory() as s:
        marks_before = s.scalar(
            select(func.count()).select_from(RegisterMark).where(RegisterMark.pupil_id == amira)
        )
        amendments_before = s.scalar(select(func.count()).select_from(MarkAmendment))
    upn = _upn(stack, amira)
    assert cli(f"data erase --pupil {upn} --by 'Sam Hall (DPO)'") == 0
    out = capsys.readouterr().out
    assert out.startswith(f"erased pupil {upn}: 1 contacts,") and "register marks" in out
    stack.tick(at(DAY1, "08:52"))  # the redaction edits go out
    with stack.runtime.factory() as s:
        pupil = s.get(Pupil, amira)
        assert (pupil.first_name, pupil.last_name, pupil.vulnerable) == ("Erased", "pupil", [])
        assert s.scalar(select(Contact).where(Contact.phone == school.phones["Amira"])) is None
        assert (
            s.scalar(
                select(func.count()).select_from(PupilContact).where(PupilContact.pupil_id == amira)
            )
            == 0
        )
        assert WORDS not in s.scalars(select(Message.body)).all()
        assert school.phones["Amira"] not in s.scalars(select(Message.from_phone)).all()
        assert (
            s.scalar(
                select(func.count()).select_from(RegisterMark).where(RegisterMark.pupil_id == amira)
            )
            == marks_before
        )
        assert s.scalar(select(func.count()).select_from(MarkAmendment)) == amendments_before
        [audit] = s.scalars(select(AuditLog).where(AuditLog.action == "data erase pupil")).all()
        assert audit.actor == "Sam Hall (DPO)" and audit.detail["contacts"] == 1
        assert school.phones["Amira"] not in json.dumps(audit.detail)
    everything = json.dumps([(m.text, m.blocks) for m in stack.slack.posts()])
    assert "Amira" not in everything and "fever" not in everything
    assert any(m.text == REDACTED for m in stack.slack.posts(DSL_CH))
    # Jayden's card is untouched.
    assert any("Jayden" in m.text for m in stack.slack.posts(OFFICE_CH))


def test_erasing_a_contact_and_the_errors_a_person_sees(
    stack: Stack, cli: Callable[[str], int], capsys: pytest.CaptureFixture
) -> None:
    school = _day_with_a_reply(stack)
    phone = school.phones["Jayden"]
    national = "0" + phone.removeprefix("+44")
    assert cli(f"data erase --contact {national} --by DPO") == 0
    assert capsys.readouterr().out.startswith(
        "erased contact: 1 contacts, 1 links, 1 message bodies"
    )
    with stack.runtime.factory() as s:
        assert s.scalar(select(Contact).where(Contact.phone == phone)) is None
        assert phone not in s.scalars(select(Message.to_phone)).all()
    assert cli(f"data erase --contact {national} --by DPO") == 2
    assert capsys.readouterr().err.strip() == "firstcall: no contact or text has that number"
    assert cli("data erase --by DPO") == 2
    assert "give --contact PHONE or --pupil UPN" in capsys.readouterr().err
    assert cli("data export --pupil A123456789012 --by DPO") == 2
    assert capsys.readouterr().err.strip() == "firstcall: no pupil has UPN A123456789012"


def test_the_nightly_run_applies_each_retention_period(stack: Stack) -> None:
    school = _day_with_a_reply(stack)
    with stack.runtime.factory() as s, s.begin():
        leaver = s.get(Pupil, school.pupils["Leo"])
        leaver.on_roll, leaver.left_at = False, at(DAY1, "09:00")
    # Before the Slack period (30 days): nothing changes.
    report = stack.tick(at(DAY1 + timedelta(days=20), "02:31"))
    assert report.retention == [
        "141234 retention: 0 text bodies blanked, 0 leavers' contacts erased, 0 cards and 0 notices redacted"
    ]
    assert stack.tick(at(DAY1 + timedelta(days=20), "05:00")).retention == []  # once a night
    report = stack.tick(at(DAY1 + timedelta(days=31), "02:31"))
    [line] = report.retention
    assert "2 leavers' contacts erased" in line and "0 text bodies" in line
    with stack.runtime.factory() as s:
        cutoff = at(DAY1 + timedelta(days=1), "02:31")
        left = s.execute(select(SlackCard.key, SlackCard.updated_at, SlackCard.redacted_at)).all()
        # Every card untouched for 30 days is redacted; one the ladder still updates is not.
        assert all(redacted for _, updated, redacted in left if updated < cutoff)
        assert s.scalar(select(SlackCard.redacted_at).where(SlackCard.key.like("dsl:%")))
        assert s.scalar(select(Contact).where(Contact.phone == school.phones["Leo1"])) is None
        assert WORDS in s.scalars(select(Message.body)).all()
    # The DSL card is redacted; an unacknowledged alert's reminders count from their last
    # change (the chain touches them while the alert waits).
    dsl = [m for m in stack.slack.posts(DSL_CH) if "chase:" not in str(m.metadata)]
    assert dsl and all(m.text == REDACTED for m in dsl)
    notices = [m for m in stack.slack.posts(OFFICE_CH) if not m.blocks or m.text == REDACTED]
    assert notices and all(m.text == REDACTED for m in notices)
    report = stack.tick(at(DAY1 + timedelta(days=91), "02:31"))
    with stack.runtime.factory() as s:
        assert set(s.scalars(select(Message.body))) == {""}
        assert (
            s.scalar(
                select(func.count())
                .select_from(AuditLog)
                .where(AuditLog.action == "data erase leavers' contacts")
            )
            == 1
        )
