"""Schools and their settings: load a TOML file into the database, read it back."""

from __future__ import annotations

import tomllib
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from rules.settings import SchoolSettings, SettingsError, parse_settings
from storage.models import School, Staff


def read_settings_file(path: str | Path) -> tuple[SchoolSettings, str]:
    """Parse and validate a settings file; SettingsError names the file on every line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SettingsError([f"{path}: file not found"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError([f"{path}: cannot read ({exc})"]) from None
    return settings_from_text(text, str(path)), text


def settings_from_text(text: str, source: str) -> SchoolSettings:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError([f"{source}: not valid TOML ({exc})"]) from None
    return parse_settings(data, source)


@lru_cache(maxsize=64)
def _cached_settings(text: str, source: str) -> SchoolSettings:
    return settings_from_text(text, source)


def settings_for(school: School) -> SchoolSettings:
    return _cached_settings(school.settings_toml, f"school {school.urn}")


def load_school(session: Session, settings: SchoolSettings, text: str, *, now: datetime) -> School:
    """Create or update the school and its staff from validated settings. Staff no longer
    in the file keep their history but lose their roles."""
    school = session.scalar(select(School).where(School.urn == settings.urn))
    if school is None:
        school = School(
            urn=settings.urn,
            name=settings.name,
            settings_toml=text,
            loaded_at=now,
            timezone=settings.timezone,
        )
        session.add(school)
        session.flush()
    else:
        school.name, school.timezone = settings.name, settings.timezone
        school.settings_toml, school.loaded_at = text, now
    existing = {
        s.slack_user_id: s
        for s in session.scalars(select(Staff).where(Staff.school_id == school.id))
    }
    for user_id, member in settings.staff.items():
        row = existing.pop(user_id, None)
        if row is None:
            row = Staff(school_id=school.id, slack_user_id=user_id)
            session.add(row)
        row.name, row.position, row.roles, row.active = (
            member.name,
            member.position,
            sorted(member.roles),
            True,
        )
    for gone in existing.values():
        gone.roles, gone.active = [], False
    return school


def all_schools(session: Session) -> list[School]:
    return list(session.scalars(select(School).order_by(School.urn)))


class UnknownSchool(LookupError):
    pass


def find_school(session: Session, urn: str | None) -> School:
    """The school by URN, or the only school when none is given."""
    if urn:
        school = session.scalar(select(School).where(School.urn == urn))
        if school is None:
            raise UnknownSchool(
                f"no school with URN {urn}; load its settings with `firstcall school load`"
            )
        return school
    schools = all_schools(session)
    if not schools:
        raise UnknownSchool("no school loaded yet; run `firstcall school load FILE.toml` first")
    if len(schools) > 1:
        raise UnknownSchool(
            "several schools are loaded; say which with --school URN ("
            + ", ".join(s.urn for s in schools)
            + ")"
        )
    return schools[0]
