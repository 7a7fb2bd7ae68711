"""Issue 12, items 5 to 8: deliverability that recovers, MIS-sized columns, replies to
strangers within reason; through the signed webhooks, the CLI and `tick` on the loopback
stack, on SQLite and PostgreSQL."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from bot.demo.stack import Stack
from bot.jobs import SWEEP_LOCK_ID, dispatch, tick
from bot.locks import database_lock
from storage.models import AuditLog, Contact, Message, OutboxItem, Pupil, School, StaffTask
from tests.bot.conftest import DAY1, at
from tests.bot.operator import (
    AMIRA,
    DAY2,
    DYLAN,
    OFFICE_CH,
    PUPILS_HEADER,
    Child,
    Operator,
)
from tests.factories import EXAMPLES

AMIRA_MUM, DYLAN_DAD = "+447993060001", "+447993060002"
FAMILIES = [(AMIRA, "Sarah Khan", AMIRA_MUM), (DYLAN, "Tom Jones", DYLAN_DAD)]


def _sid(stack: Stack, phone: str) -> str:
    return [m.sid for m in stack.twilio.sent if m.to == phone][-1]


def _undeliverable(stack: Stack, phone: str) -> str | None:
    with stack.runtime.factory() as s:
        return s.scalar(select(Contact.undeliverable).where(Contact.phone == phone))


def test_a_late_or_replayed_undelivered_status_does_not_bar_a_working_number(
    stack: Stack, operator: Operator
) -> None:
    assert operator.roster([AMIRA, DYLAN], FAMILIES)[0] == 0, operator.out
    operator.register(DAY1, absent=[AMIRA])
    stack.tick(at(DAY1, "08:40"))
    first = _sid(stack, AMIRA_MUM)
    stack.clock.set(at(DAY1, "08:41"))
    assert stack.twilio.send_status(first, "delivered") == 200
    # Hours later a failure for that same text is replayed (or arrives late): older news
    # than the delivery, so the number stays good.
    stack.clock.set(at(DAY1, "15:00"))
    assert stack.twilio.send_status(first, "undelivered", 30006) == 200
    assert _undeliverable(stack, AMIRA_MUM) is None

    operator.register(DAY2, absent=[AMIRA])
    stack.tick(at(DAY2, "08:40"))
    second = _sid(stack, AMIRA_MUM)
    assert second != first  # the family got the next day's text

    # A newer text that fails does mark the number, and a replayed delivery of the older
    # text cannot clear it.
    stack.clock.set(at(DAY2, "08:41"))
    assert stack.twilio.send_status(second, "undelivered", 30006) == 200
    assert _undeliverable(stack, AMIRA_MUM) == "Twilio error 30006"
    assert stack.twilio.send_status(first, "delivered") == 200
    assert _undeliverable(stack, AMIRA_MUM) == "Twilio error 30006"


def test_reimporting_the_roster_clears_undeliverable(stack: Stack, operator: Operator) -> None:
    assert operator.roster([AMIRA, DYLAN], FAMILIES)[0] == 0, operator.out
    operator.register(DAY1, absent=[DYLAN])
    stack.tick(at(DAY1, "08:40"))
    stack.clock.set(at(DAY1, "08:45"))
    assert stack.twilio.send_status(_sid(stack, DYLAN_DAD), "undelivered", 30005) == 200
    assert _undeliverable(stack, DYLAN_DAD) == "Twilio error 30005"

    # The office checks the number with the family and the MIS export lists it again.
    stack.clock.set(at(DAY1, "16:00"))
    assert operator.roster([AMIRA, DYLAN], FAMILIES)[0] == 0
    assert _undeliverable(stack, DYLAN_DAD) is None
    before = len([m for m in stack.twilio.sent if m.to == DYLAN_DAD])
    operator.register(DAY2, absent=[DYLAN])
    stack.tick(at(DAY2, "08:40"))
    assert len([m for m in stack.twilio.sent if m.to == DYLAN_DAD]) == before + 1


def test_mis_sized_class_names_and_relationships_import_on_every_database(
    stack: Stack, operator: Operator
) -> None:
    kingfisher = Child("Amira", "Khan", 1, class_name="Year 3 Kingfishers 3K")
    code, out = operator.roster(
        [kingfisher], [(kingfisher, "Sarah Khan-Rahman", AMIRA_MUM)], "--partial"
    )
    assert code == 0, out
    with stack.runtime.factory() as s:
        assert s.scalar(select(Pupil.class_name).where(Pupil.upn == AMIRA.upn)) == (
            "Year 3 Kingfishers 3K"
        )

    too_long = "Year 3 " + "K" * 120
    pupils = operator.write(
        "long.csv", PUPILS_HEADER, [f"{AMIRA.upn},Amira,Khan,3,{too_long},,false"]
    )
    contacts = operator.write(
        "long-contacts.csv",
        "upn,name,relationship,phone,priority,parental_responsibility,no_contact,language",
        [f"{AMIRA.upn},Sarah Khan,{'Grandmother ' * 10},{AMIRA_MUM},1,true,false,en"],
    )
    code, out = operator.run("roster", "import", str(pupils), str(contacts), "--partial")
    assert code == 2
    assert f"{pupils}:2: class is 127 characters long; at most 100 fit" in out
    assert f"{contacts}:2: relationship is 119 characters long; at most 100 fit" in out
    assert "Traceback" not in out and "Amira" not in out
    with stack.runtime.factory() as s:
        assert s.scalar(select(Pupil.class_name).where(Pupil.upn == AMIRA.upn)) == (
            "Year 3 Kingfishers 3K"
        )


def test_a_stranger_gets_one_reply_a_day_however_often_they_text(stack: Stack) -> None:
    operator_free = "+447993069999"
    stack.clock.set(at(DAY1, "09:00"))
    replies = []
    for i in range(60):
        stack.clock.set(at(DAY1, "09:00") + timedelta(seconds=i))
        stack.parent_texts(operator_free, f"hello? {i}")
        replies.append("<Message>" in stack.twilio.deliveries[-1].body)
    assert replies == [True] + [False] * 59
    with stack.runtime.factory() as s:
        stored = s.scalars(select(Message).where(Message.from_phone == operator_free)).all()
        assert len(stored) == 60  # every text is kept; only the replies are limited
    stack.clock.set(at(DAY1, "09:00") + timedelta(days=1, minutes=1))
    stack.parent_texts(operator_free, "hello again")
    assert "<Message>" in stack.twilio.deliveries[-1].body


CROFTON, BEECROFT = "141234", "107890"
BEN = Child("Ben", "Turner", 201)


def test_one_schools_failure_is_reported_to_it_and_the_other_schools_go_on(
    stack: Stack, operator: Operator
) -> None:
    assert operator.run("school", "load", str(EXAMPLES / "beecroft.toml"))[0] == 0
    assert operator.roster([AMIRA], FAMILIES[:1], "--school", CROFTON)[0] == 0, operator.out
    ben_mum = "+447993060201"
    assert operator.roster([BEN], [(BEN, "Jo Turner", ben_mum)], "--school", BEECROFT)[0] == 0
    operator.register(DAY1, [AMIRA], (), "--school", CROFTON)
    operator.register(DAY1, [BEN], (), "--school", BEECROFT)
    # Crofton's settings as an older FirstCall accepted them: a template that cannot be
    # filled in (now refused at `school load`, and on reading them back).
    with stack.runtime.factory() as s, s.begin():
        crofton = s.scalar(select(School).where(School.urn == CROFTON))
        crofton.settings_toml += '\n[templates]\nfirst_contact = "{school:d}: {children}"\n'

    report = stack.tick(at(DAY1, "08:40"))
    assert (BEECROFT, "2026-03-10", "AM", "done") in report.swept
    assert [urn for urn, _ in report.failed] == [CROFTON]
    assert len(operator.texts_to(ben_mum)) == 1
    notices = [m.text for m in stack.slack.posts(OFFICE_CH)]
    assert len(notices) == 1 and "failed for this school" in notices[0]
    assert stack.slack.posts("C0BEECOFF") == [] or all(
        "failed" not in m.text for m in stack.slack.posts("C0BEECOFF")
    )
    with stack.runtime.factory() as s:
        failures = s.scalars(select(AuditLog).where(AuditLog.outcome == "failed")).all()
        assert [(f.school_id, f.actor) for f in failures] == [(crofton.id, "FirstCall")]
        assert "Amira" not in str(failures[0].detail)

    # Every minute it tries again; the office is told once. Run from cron, the tick's exit
    # status says a school failed.
    code, out = operator.run("tick", "--at", at(DAY1, "08:41").isoformat())
    assert code == 1 and f"school {CROFTON}: the settings failed" in out, out
    assert len(stack.slack.posts(OFFICE_CH)) == 1


def test_a_template_that_cannot_be_filled_in_is_refused_at_load(
    operator: Operator, tmp_path: Path
) -> None:
    for template in ("{school:d}", "{children!x}", "{date:%Y}", "{school_phone[0]}"):
        bad = tmp_path / "bad.toml"
        bad.write_text(
            (EXAMPLES / "crofton.toml").read_text()
            + f'\n[templates]\nfirst_contact = "{template} was not in school"\n'
        )
        code, out = operator.run("school", "load", str(bad))
        assert code == 2, template
        first = out.splitlines()[0]
        assert first.startswith(f"{bad}: templates.first_contact: "), first
        assert "Traceback" not in out


def test_overlapping_ticks_wait_or_leave_the_sweep_cleanly(
    stack: Stack, operator: Operator
) -> None:
    assert operator.roster([AMIRA, DYLAN], FAMILIES)[0] == 0, operator.out
    operator.register(DAY1, absent=[AMIRA])
    stack.clock.set(at(DAY1, "08:40"))
    engine = stack.runtime.factory.kw["bind"]
    with database_lock(engine, SWEEP_LOCK_ID, "sweep", wait=0) as held:
        assert held
        code, out = operator.run("tick", "--at", at(DAY1, "08:40").isoformat(), "--wait", "0")
    assert code == 0, out
    assert "another tick or worker is sweeping" in out and "Traceback" not in out
    assert operator.texts_to(AMIRA_MUM) == []

    # Two at once: one sweeps, the other waits for it and finds nothing left to do.
    with ThreadPoolExecutor(2) as pool:
        futures = [pool.submit(tick, stack.runtime, at(DAY1, "08:40"), wait=60) for _ in range(2)]
        reports = [f.result() for f in futures]
    assert sorted(len(r.swept) for r in reports) == [0, 1]
    assert not any(r.busy or r.failed for r in reports)
    assert len(operator.texts_to(AMIRA_MUM)) == 1


def test_a_long_twilio_outage_loses_no_text_and_the_office_is_told_once(
    stack: Stack, operator: Operator
) -> None:
    absent = [Child(f"Absent{i}", f"Family{i}", 300 + i) for i in range(10)]
    present = [Child(f"Here{i}", "Present", 400 + i) for i in range(50)]
    phones = {c.upn: f"+4479930{c.serial:05d}" for c in absent + present}
    rows = [(c, f"Parent of {c.first}", phones[c.upn]) for c in absent + present]
    assert operator.roster(absent + present, rows)[0] == 0, operator.out
    operator.register(DAY1, absent=absent, present=present)

    stack.twilio.fail_next(100_000, status=503)  # Twilio is down from 08:40 for 90 minutes
    start = at(DAY1, "08:40")
    for minutes in range(0, 91):  # the worker: texts every minute, everything every ten
        if minutes % 10 == 0:
            stack.tick(start + timedelta(minutes=minutes))
        else:
            dispatch(stack.runtime, start + timedelta(minutes=minutes), channels=("sms",))
    assert stack.twilio.sent == []
    office = [m.text for m in stack.slack.posts(OFFICE_CH)]
    held_up = [t for t in office if "Texts to parents are not going out" in t]
    assert len(held_up) == 1 and "since 08:40" in held_up[0]
    with stack.runtime.factory() as s:
        calls = s.scalars(select(StaffTask).where(StaffTask.key.like("%:call:text-not-sent"))).all()
        assert len(calls) == len(absent)

    stack.twilio.clear_faults()  # 10:15: Twilio is back
    for minutes in range(100, 140, 10):
        stack.tick(start + timedelta(minutes=minutes))
    first_texts = [m for m in stack.twilio.sent if "was not in school" in m.body]
    assert sorted(m.to for m in first_texts) == sorted(phones[c.upn] for c in absent)
    with stack.runtime.factory() as s:
        assert s.scalars(select(OutboxItem).where(OutboxItem.status == "failed")).all() == []
    office = [m.text for m in stack.slack.posts(OFFICE_CH)]
    assert sum("Texts to parents are not going out" in t for t in office) == 1
    assert sum("going out again" in t for t in office) == 1
