"""The register is the truth all day: every mark that arrives after its session's sweep (a
register import, `/absence arrived`, any MIS connector) reaches the cases through
`marks_arrived`, in the transaction that wrote it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.workflow.cases import open_cases_for
from bot.workflow.school import SchoolContext, context_for
from bot.workflow.sweep import register_shows, sweep_late
from storage.models import Pupil, RegisterMark, RegisterSweep, School

MarkKey = tuple[int, date, str]  # pupil, day, session


@dataclass
class MarksApplied:
    ended: int = 0  # cases closed: the pupil is in school
    explained: int = 0  # cases the register now gives a reason for
    new_cases: int = 0  # absences found by a late sweep
    texts: int = 0

    def lines(self) -> list[str]:
        if not (self.ended or self.explained or self.new_cases):
            return []
        return [
            f"cases: {self.ended} ended (in school), {self.explained} explained by the register, "
            f"{self.new_cases} new from late registers ({self.texts} texts)"
        ]


@dataclass
class _Session:
    sweep: RegisterSweep
    pupil_ids: set[int] = field(default_factory=set)


def marks_arrived(session: Session, keys: Iterable[MarkKey], now: datetime) -> MarksApplied:
    """Apply marks written after their session was swept: in school ends the case (queued
    texts and open tasks cancelled, the card says when they arrived); a reason explains it;
    an absence in a late register is swept now (texts, up to the session's end). Absences
    in a session not yet swept wait for its sweep, which reads them."""
    applied = MarksApplied()
    wanted = list(dict.fromkeys(keys))
    if not wanted:
        return applied
    pupils = {
        p.id: p
        for p in session.scalars(
            select(Pupil).where(Pupil.id.in_({pupil_id for pupil_id, _, _ in wanted}))
        )
    }
    by_school: dict[int, dict[tuple[date, str], set[int]]] = defaultdict(lambda: defaultdict(set))
    for pupil_id, day, label in wanted:
        if pupil_id in pupils:
            by_school[pupils[pupil_id].school_id][(day, label)].add(pupil_id)
    for school_id, sessions in by_school.items():
        ctx = context_for(session.get_one(School, school_id))
        for (day, label), pupil_ids in sorted(sessions.items()):
            _apply_session(session, ctx, day, label, pupil_ids, now, applied)
    return applied


def _apply_session(
    session: Session,
    ctx: SchoolContext,
    day: date,
    label: str,
    pupil_ids: set[int],
    now: datetime,
    applied: MarksApplied,
) -> None:
    sweep = session.scalar(
        select(RegisterSweep).where(
            RegisterSweep.school_id == ctx.id,
            RegisterSweep.date == day,
            RegisterSweep.session == label,
        )
    )
    marks = {
        m.pupil_id: m
        for m in session.scalars(
            select(RegisterMark).where(
                RegisterMark.pupil_id.in_(pupil_ids),
                RegisterMark.date == day,
                RegisterMark.session == label,
            )
        )
    }
    for pupil_id, case in open_cases_for(session, pupil_ids).items():
        mark = marks.get(pupil_id)
        if mark is None or mark.code in (None, "N") or case.last_absent_on > day:
            continue
        before = case.status
        register_shows(session, ctx, case, mark, now)
        if case.status == "closed":
            applied.ended += 1
        elif case.status != before:
            applied.explained += 1
    if sweep is None:
        return  # the close's sweep will read the rest
    result = sweep_late(session, ctx, sweep, pupil_ids, now)
    applied.new_cases += len(result.new_cases)
    applied.texts += result.texts
