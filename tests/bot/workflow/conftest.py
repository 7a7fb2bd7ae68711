"""Workflow tests: the workflow functions called directly with a database session, a `now`
and factories; no servers. What they decide is read back from the database: cases, marks,
outbox rows (texts and Slack cards waiting to go), tasks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.workflow.school import SchoolContext, context_for
from bot.workflow.staff import StaffMember, identify
from bot.workflow.sweep import SweepResult, register_closed
from storage.marks import Actor, set_mark
from storage.models import AbsenceCase, Contact, Message, OutboxItem, Pupil, RegisterMark
from tests.factories import make_contact, make_pupil, make_school

LONDON = ZoneInfo("Europe/London")
DAY = date(2026, 3, 10)  # a Tuesday in Crofton's spring term; AM register closes 08:40
TEACHER = Actor("Miss Class Teacher", "Class teacher", "staff")


def at(hhmm: str, day: date = DAY) -> datetime:
    hours, minutes = map(int, hhmm.split(":"))
    return datetime.combine(day, time(hours, minutes), tzinfo=LONDON)


@dataclass
class Morning:
    """Crofton's class 1A: Jayden absent and unmarked (his mother is texted first, his father
    second); Amy and 13 classmates marked present, so the register was taken and one
    absentee is well under the share of the roll at which a sweep is held."""

    session: Session
    ctx: SchoolContext
    jayden: Pupil
    amy: Pupil
    mum: Contact
    dad: Contact
    present: list[Pupil]  # Amy and her classmates, marked present each morning

    def morning_register(self, day: date) -> None:
        """A later morning: the class is in, Jayden is not marked."""
        for pupil in self.present:
            self.mark(pupil, "/", day=day)

    def sweep(self, hhmm: str = "08:40", label: str = "AM", day: date = DAY) -> SweepResult:
        return register_closed(self.session, self.ctx, day, label, at(hhmm, day))

    def mark(self, pupil: Pupil, code: str, label: str = "AM", day: date = DAY) -> None:
        set_mark(
            self.session,
            pupil_id=pupil.id,
            day=day,
            session_label=label,
            code=code,
            actor=TEACHER,
            reason="register",
            now=at("08:30", day),
        )

    def staff(self, slack_user_id: str = "U0CROFT01") -> StaffMember:
        member = identify(self.session, slack_user_id)
        assert member is not None
        return member

    def inbound(self, contact: Contact, body: str, hhmm: str) -> Message:
        """A text as messaging stores it before handing it to the bot."""
        message = Message(
            school_id=self.ctx.id,
            direction="inbound",
            sid=f"SM{contact.id:04d}{hhmm.replace(':', '')}",
            contact_id=contact.id,
            from_phone=contact.phone,
            to_phone="+441924000000",
            body=body,
            status="received",
            created_at=at(hhmm),
            updated_at=at(hhmm),
        )
        self.session.add(message)
        self.session.flush()
        return message

    def case(self, pupil: Pupil) -> AbsenceCase:
        return self.session.scalars(
            select(AbsenceCase).where(AbsenceCase.pupil_id == pupil.id)
        ).one()

    def mark_of(self, pupil: Pupil, label: str = "AM", day: date = DAY) -> RegisterMark | None:
        return self.session.scalar(
            select(RegisterMark).where(
                RegisterMark.pupil_id == pupil.id,
                RegisterMark.date == day,
                RegisterMark.session == label,
            )
        )

    def texts(self, contact: Contact | None = None) -> list[dict]:
        """The SMS payloads waiting in the outbox (to one contact, or all), oldest first."""
        rows = self.session.scalars(
            select(OutboxItem).where(OutboxItem.channel == "sms").order_by(OutboxItem.id)
        )
        return [r.payload for r in rows if contact is None or r.payload["contact_id"] == contact.id]

    def slack(self) -> list[dict]:
        """The Slack payloads waiting in the outbox: card refreshes and notices."""
        rows = self.session.scalars(
            select(OutboxItem).where(OutboxItem.channel == "slack").order_by(OutboxItem.id)
        )
        return [r.payload for r in rows]

    def cards(self) -> set[str]:
        return {p["card"] for p in self.slack() if p["op"] == "card"}


@pytest.fixture
def morning(session: Session) -> Morning:
    school = make_school(session)
    jayden = make_pupil(session, school, "Jayden")
    amy = make_pupil(session, school, "Amy", last_name="Jones")
    mum = make_contact(session, school, jayden, priority=1, name="Sarah Smith")
    dad = make_contact(session, school, jayden, priority=2, name="Dan Smith")
    present = [amy, *(make_pupil(session, school, f"Pupil{n}") for n in range(13))]
    morning = Morning(session, context_for(school), jayden, amy, mum, dad, present)
    morning.morning_register(DAY)
    return morning
