"""What staff look up: today's open cases at a school, and one pupil's year so far. Reads
only; nothing here changes the register."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.workflow.school import SchoolContext
from rules.attendance import Attendance, attendance
from storage.models import OPEN_CASE_STATUSES, AbsenceCase, Pupil, RegisterMark


def open_cases_today(
    session: Session, ctx: SchoolContext, now: datetime
) -> list[tuple[AbsenceCase, Pupil]]:
    """Open cases of pupils absent today, by class and name."""
    rows = session.execute(
        select(AbsenceCase, Pupil)
        .join(Pupil, Pupil.id == AbsenceCase.pupil_id)
        .where(
            AbsenceCase.school_id == ctx.id,
            AbsenceCase.status.in_(OPEN_CASE_STATUSES),
            AbsenceCase.last_absent_on == ctx.today(now),
        )
        .order_by(Pupil.class_name, Pupil.last_name, Pupil.first_name, AbsenceCase.id)
    )
    return [(case, pupil) for case, pupil in rows]


def academic_year_start(day: date) -> date:
    """1 August: the school year in England runs August to July."""
    return date(day.year if day.month >= 8 else day.year - 1, 8, 1)


@dataclass(frozen=True)
class PupilYear:
    pupil: Pupil
    attendance: Attendance
    band: str
    open_cases: list[AbsenceCase]
    recent: list[RegisterMark]  # newest first


def pupil_year(
    session: Session, ctx: SchoolContext, pupil: Pupil, now: datetime, *, recent: int = 10
) -> PupilYear:
    """Attendance this school year up to today (future pre-marks for approved leave do not
    count yet), the band under the school's thresholds, open cases and the latest marks."""
    today = ctx.today(now)
    marks = list(
        session.scalars(
            select(RegisterMark)
            .where(
                RegisterMark.pupil_id == pupil.id,
                RegisterMark.date >= academic_year_start(today),
                RegisterMark.date <= today,
            )
            .order_by(RegisterMark.date.desc(), RegisterMark.session.desc())
        )
    )
    stats = attendance(m.code for m in marks)
    policy = ctx.settings.policy
    cases = list(
        session.scalars(
            select(AbsenceCase)
            .where(AbsenceCase.pupil_id == pupil.id, AbsenceCase.status.in_(OPEN_CASE_STATUSES))
            .order_by(AbsenceCase.id)
        )
    )
    return PupilYear(
        pupil,
        stats,
        stats.band(policy.persistent_absence_below, policy.severe_absence_below),
        cases,
        [m for m in marks if m.code is not None][:recent],
    )
