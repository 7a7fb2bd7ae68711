"""Issue 12, items 1 to 3 and 7: the roster import is the whole truth about who is on roll
and who may be texted, driven as an operator drives it (`roster import`, `register import`,
`tick`) with what reached the loopback Twilio and Slack read back."""

from __future__ import annotations

from sqlalchemy import select

from bot.demo.stack import Stack
from storage.models import AbsenceCase, CaseEvent, Pupil, PupilContact, StaffTask
from tests.bot.conftest import DAY1, at
from tests.bot.operator import (
    AMIRA,
    CLASSMATES,
    CONTACTS_HEADER,
    DAY2,
    DYLAN,
    MIA,
    OFFICE_CH,
    OLLIE,
    PUPILS_HEADER,
    Operator,
)

AMIRA_MUM, DYLAN_DAD, SHARED = "+447993050001", "+447993050002", "+447993050003"


def test_a_leaver_goes_off_roll_and_is_never_texted_about_again(
    stack: Stack, operator: Operator
) -> None:
    contacts = [(AMIRA, "Sarah Khan", AMIRA_MUM), (DYLAN, "Tom Jones", DYLAN_DAD)]
    assert operator.roster([AMIRA, DYLAN], contacts)[0] == 0, operator.out
    operator.register(DAY1, absent=[AMIRA, DYLAN])
    stack.tick(at(DAY1, "08:40"))
    assert len(operator.texts_to(DYLAN_DAD)) == 1

    # Dylan has left: the MIS export no longer lists him. The dry run says so, changes nothing.
    code, out = operator.roster([AMIRA], contacts[:1], "--dry-run")
    assert code == 0
    assert "1 pupil(s) on roll are not in the pupils file and would go off roll" in out
    assert "(1 with an open absence, whose case closes)" in out
    with stack.runtime.factory() as s:
        assert s.scalar(select(Pupil.on_roll).where(Pupil.upn == DYLAN.upn)) is True

    stack.clock.set(at(DAY1, "08:50"))
    code, out = operator.roster([AMIRA], contacts[:1])
    assert code == 0 and "1 pupil(s) on roll are not in the pupils file and went off roll" in out
    with stack.runtime.factory() as s:
        dylan = s.scalar(select(Pupil).where(Pupil.upn == DYLAN.upn))
        case = s.scalar(select(AbsenceCase).where(AbsenceCase.pupil_id == dylan.id))
        assert not dylan.on_roll and case.status == "closed" and case.next_due_at is None
        assert s.scalar(
            select(CaseEvent.kind).where(CaseEvent.case_id == case.id, CaseEvent.kind == "off_roll")
        )
        assert s.scalars(select(PupilContact).where(PupilContact.pupil_id == dylan.id)).all() == []
    stack.tick(at(DAY1, "08:51"))
    card = next(m for m in stack.slack.posts(OFFICE_CH) if m.text.startswith("Dylan J."))
    assert "Off roll" in str(card.blocks) and card.updates >= 1

    # The ladder goes on for Amira only; next morning Dylan is in nobody's sweep.
    stack.tick(at(DAY1, "11:00"))
    operator.register(DAY2, absent=[AMIRA])
    stack.tick(at(DAY2, "08:40"))
    assert len(operator.texts_to(DYLAN_DAD)) == 1
    assert len(operator.texts_to(AMIRA_MUM)) >= 2

    # Back in the file, back on roll.
    assert operator.roster([AMIRA, DYLAN], contacts)[0] == 0
    with stack.runtime.factory() as s:
        assert s.scalar(select(Pupil.on_roll).where(Pupil.upn == DYLAN.upn)) is True


def test_partial_file_takes_nobody_off_roll(stack: Stack, operator: Operator) -> None:
    contacts = [(AMIRA, "Sarah Khan", AMIRA_MUM), (DYLAN, "Tom Jones", DYLAN_DAD)]
    assert operator.roster([AMIRA, DYLAN], contacts)[0] == 0
    pupils = operator.write("some.csv", PUPILS_HEADER, [f"{AMIRA.upn},Amira,Khan,1,1A,,false"])
    rows = operator.write(
        "some-contacts.csv",
        CONTACTS_HEADER,
        [f"{AMIRA.upn},Sarah Khan,Mother,{AMIRA_MUM},1,true,false,en"],
    )
    code, out = operator.run("roster", "import", str(pupils), str(rows), "--partial")
    assert code == 0 and "off roll" not in out
    with stack.runtime.factory() as s:
        assert all(s.scalars(select(Pupil.on_roll)))
        assert len(s.scalars(select(PupilContact)).all()) == 2 + len(CLASSMATES)


def test_removing_a_pupils_only_contact_unlinks_it(stack: Stack, operator: Operator) -> None:
    father = "+447993050009"
    assert operator.roster([AMIRA], [(AMIRA, "Imran Khan", father)])[0] == 0
    # A court order: the school removes the father; the export lists no contact for Amira.
    code, out = operator.roster([AMIRA], [])
    assert code == 0 and "1 contact link(s) not in the contacts file were removed" in out
    assert "pupils.csv:2: no contact in" in out
    operator.register(DAY1, absent=[AMIRA])
    stack.tick(at(DAY1, "08:40"))
    assert operator.texts_to(father) == []
    with stack.runtime.factory() as s:
        amira = s.scalar(select(Pupil).where(Pupil.upn == AMIRA.upn))
        case = s.scalar(select(AbsenceCase).where(AbsenceCase.pupil_id == amira.id))
        assert s.scalar(select(StaffTask.kind).where(StaffTask.case_id == case.id)) == "call"


def test_a_number_shared_by_two_families_is_reported_and_texted_per_family(
    stack: Stack, operator: Operator
) -> None:
    contacts = [
        (AMIRA, "Sarah Khan", SHARED),
        (DYLAN, "Mrs Patel (childminder)", SHARED),
        # One family with two surnames: the same mother for both.
        (MIA, "Sarah Smith", DYLAN_DAD),
        (OLLIE, "Sarah Smith", DYLAN_DAD),
    ]
    code, out = operator.roster([AMIRA, DYLAN, MIA, OLLIE], contacts)
    assert code == 0
    assert "contacts.csv:2,3: one number is given for children of 2 different families" in out
    assert "lines 2; lines 3" in out
    assert "contacts.csv:4,5" not in out

    operator.register(DAY1, absent=[AMIRA, DYLAN, MIA, OLLIE])
    stack.tick(at(DAY1, "08:40"))
    shared = operator.texts_to(SHARED)
    assert len(shared) == 2
    assert sum("Amira" in t for t in shared) == sum("Dylan" in t for t in shared) == 1
    assert not any("Amira" in t and "Dylan" in t for t in shared)
    family = operator.texts_to(DYLAN_DAD)
    assert len(family) == 1 and "Mia and Ollie were not in school" in family[0]

    # A reply from the shared number is answered once per family, never naming both.
    stack.clock.set(at(DAY1, "09:00"))
    stack.parent_texts(SHARED, "both poorly with a temperature, sorry")
    stack.tick(at(DAY1, "09:01"))
    answers = operator.texts_to(SHARED)[2:]
    assert len(answers) == 2
    assert not any("Amira" in t and "Dylan" in t for t in answers)
    assert sum("Amira" in t for t in answers) == sum("Dylan" in t for t in answers) == 1


def test_a_text_queued_before_the_import_is_not_sent_after_it(
    stack: Stack, operator: Operator
) -> None:
    father = "+447993050009"
    contacts = [(AMIRA, "Imran Khan", father), (DYLAN, "Tom Jones", DYLAN_DAD)]
    assert operator.roster([AMIRA, DYLAN], contacts)[0] == 0, operator.out
    operator.register(DAY1, absent=[AMIRA, DYLAN])
    stack.twilio.fail_next(2, status=503)  # Twilio is down when the register closes
    stack.tick(at(DAY1, "08:40"))
    assert stack.twilio.sent == []

    # Before the retry, the MIS export drops Dylan (left) and Amira's father (a court order).
    stack.clock.set(at(DAY1, "08:45"))
    code, out = operator.roster([AMIRA], [(AMIRA, "Sarah Khan", AMIRA_MUM)])
    assert code == 0, out
    report = stack.tick(at(DAY1, "09:00"))
    assert operator.texts_to(father) == [] and operator.texts_to(DYLAN_DAD) == []
    assert report.dispatch is not None and report.dispatch.cancelled == 2
