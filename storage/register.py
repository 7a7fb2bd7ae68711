"""Register marks in from the MIS's CSV, confirmed codes out for re-import into the MIS."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import IO

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from rules.calendar import NotADate, parse_date
from rules.codes import N_CODE, UnknownCode, normalise
from rules.settings import SESSIONS
from storage.csvfile import CsvWriter, ImportFailed, ImportReport, RowError, read_rows
from storage.marks import Actor, set_mark
from storage.models import Pupil, RegisterMark, School
from storage.roster import check_upn
from storage.schools import settings_for

MARK_COLUMNS = ("upn", "date", "session", "code", "minutes_late", "note")


@dataclass
class MarksImport(ImportReport):
    # (pupil, day, session) of every mark created or changed, for the cases to follow.
    changed: list[tuple[int, date, str]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class MarkRow:
    line: int
    pupil_id: int
    day: date
    session: str
    code: str | None
    minutes_late: int | None
    note: str


def import_marks(
    session: Session,
    path: Path,
    *,
    now: datetime,
    school_urn: str | None = None,
    dry_run: bool = False,
) -> MarksImport:
    """Check every row, then write the marks; a change to an existing mark is recorded as an
    amendment by the MIS import. The report lists the marks changed: the caller hands them
    to the cases (bot.workflow.marks.marks_arrived) in the same transaction."""
    problems: list[str] = []
    schools = {s.id: s for s in session.scalars(select(School))}
    scope = [s for s in schools.values() if school_urn in (None, s.urn)]
    if school_urn and not scope:
        raise ImportFailed([f"{path}:0: no school with URN {school_urn}"])
    pupils: dict[str, list[Pupil]] = {}
    for pupil in session.scalars(select(Pupil).where(Pupil.school_id.in_([s.id for s in scope]))):
        pupils.setdefault(pupil.upn, []).append(pupil)
    calendars = {sid: settings_for(s).calendar for sid, s in schools.items()}

    rows: list[MarkRow] = []
    seen: dict[tuple[int, date, str], int] = {}
    for line, raw in read_rows(path, MARK_COLUMNS, problems):
        try:
            upn = check_upn(raw["upn"])
            matches = pupils.get(upn, [])
            if not matches:
                raise RowError(f"upn {upn} is not on roll")
            if len(matches) > 1:
                raise RowError(f"upn {upn} is on roll at several schools; give --school URN")
            pupil = matches[0]
            try:
                day = parse_date(raw["date"])
            except NotADate as problem:
                raise RowError(f"date {raw['date']!r} {problem}") from None
            why_closed = calendars[pupil.school_id].closure_reason(day)
            if why_closed:
                raise RowError(f"{day.isoformat()} is not a school day ({why_closed})")
            label = raw["session"].upper()
            if label not in SESSIONS:
                raise RowError(f"session must be AM or PM, got {raw['session']!r}")
            try:
                code = normalise(raw["code"]) if raw["code"] else None
            except UnknownCode:
                raise RowError(f"code {raw['code']!r} is not an attendance code") from None
            minutes = None
            if raw["minutes_late"]:
                try:
                    minutes = int(raw["minutes_late"])
                except ValueError:
                    raise RowError(
                        f"minutes_late must be a whole number, got {raw['minutes_late']!r}"
                    ) from None
                if minutes < 0:
                    raise RowError("minutes_late must not be negative")
        except RowError as exc:
            problems.append(f"{path}:{line}: {exc}")
            continue
        key = (pupil.id, day, label)
        if key in seen:
            problems.append(
                f"{path}:{line}: {upn} {day.isoformat()} {label} is already on line {seen[key]}"
            )
            continue
        seen[key] = line
        rows.append(MarkRow(line, pupil.id, day, label, code, minutes, raw["note"]))
    if problems:
        raise ImportFailed(problems)

    existing = _existing_marks(session, seen)
    actor = Actor(name="MIS import", position=f"register import from {path.name}", source="import")
    report = MarksImport(rows=len(rows), dry_run=dry_run)
    for row in rows:
        mark = existing.get((row.pupil_id, row.day, row.session))
        changed = set_mark(
            session,
            pupil_id=row.pupil_id,
            day=row.day,
            session_label=row.session,
            code=row.code,
            actor=actor,
            reason=row.note or f"register import ({path.name}, line {row.line})",
            now=now,
            minutes_late=row.minutes_late,
            note=row.note,
            existing=mark,
        )
        if changed is None:
            report.unchanged += 1
            continue
        report.changed.append((row.pupil_id, row.day, row.session))
        if mark is None:
            report.created += 1
        else:
            report.updated += 1
    return report


def _existing_marks(
    session: Session, keys: Iterable[tuple[int, date, str]]
) -> dict[tuple[int, date, str], RegisterMark]:
    found: dict[tuple[int, date, str], RegisterMark] = {}
    batch = list(keys)
    for start in range(0, len(batch), 500):
        chunk = batch[start : start + 500]
        for mark in session.scalars(
            select(RegisterMark).where(
                tuple_(RegisterMark.pupil_id, RegisterMark.date, RegisterMark.session).in_(chunk)
            )
        ):
            found[(mark.pupil_id, mark.date, mark.session)] = mark
    return found


def export_marks(
    session: Session, out: IO[str], *, start: date, end: date, school_urn: str | None = None
) -> int:
    """Write marks from `start` to `end` in the import format. A provisional code (a
    parent's reason not yet confirmed by staff) is exported as N: nothing is final until a
    person confirms it."""
    query = (
        select(Pupil.upn, RegisterMark)
        .join(Pupil, Pupil.id == RegisterMark.pupil_id)
        .where(RegisterMark.date >= start, RegisterMark.date <= end, RegisterMark.code.is_not(None))
        .order_by(RegisterMark.date, RegisterMark.session, Pupil.upn)
    )
    if school_urn:
        query = query.join(School, School.id == Pupil.school_id).where(School.urn == school_urn)
    writer = CsvWriter(out)
    writer.writerow(MARK_COLUMNS)
    count = 0
    for upn, mark in session.execute(query):
        code = mark.code if mark.confirmed else N_CODE
        writer.writerow(
            [
                upn,
                mark.date.isoformat(),
                mark.session,
                code,
                "" if mark.minutes_late is None else mark.minutes_late,
                mark.note,
            ]
        )
        count += 1
    return count
