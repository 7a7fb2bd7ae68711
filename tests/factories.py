"""Factories: a school, its staff, pupils and contacts, with as little typing as a test needs."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.orm import Session

from bot.demo.roster import make_upn
from storage.models import Contact, Pupil, PupilContact, School
from storage.schools import load_school, read_settings_file

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
NOW = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)
_serial = itertools.count(1)
_phone = itertools.count(100000)


def make_school(session: Session, name: str = "crofton", *, now: datetime = NOW) -> School:
    settings, text = read_settings_file(EXAMPLES / f"{name}.toml")
    school = load_school(session, settings, text, now=now)
    session.flush()
    return school


def make_pupil(
    session: Session,
    school: School,
    first_name: str = "Jayden",
    *,
    class_name: str = "1A",
    vulnerable: list[str] | None = None,
    last_name: str = "Smith",
    la_transport: bool = False,
) -> Pupil:
    pupil = Pupil(
        school_id=school.id,
        upn=make_upn(3000, next(_serial)),
        first_name=first_name,
        last_name=last_name,
        year_group=class_name[:-1] or "1",
        class_name=class_name,
        vulnerable=vulnerable or [],
        la_transport=la_transport,
    )
    session.add(pupil)
    session.flush()
    return pupil


def make_contact(
    session: Session,
    school: School,
    *pupils: Pupil,
    priority: int = 1,
    phone: str | None = None,
    name: str = "Sarah Smith",
    can_sms: bool = True,
    no_contact: bool = False,
    language: str = "en",
) -> Contact:
    contact = Contact(
        school_id=school.id,
        phone=phone or f"+447911{next(_phone):06d}",
        name=name,
        language=language,
        phone_type="mobile" if can_sms else "fixed_line",
        can_sms=can_sms,
    )
    session.add(contact)
    session.flush()
    for pupil in pupils:
        session.add(
            PupilContact(
                pupil_id=pupil.id,
                contact_id=contact.id,
                relationship_="Mother",
                contact_name=name,
                priority=priority,
                parental_responsibility=not no_contact,
                no_contact=no_contact,
            )
        )
    session.flush()
    return contact
