"""The one way to change the register: every change writes its amendment record in the same
transaction (School Attendance (Pupil Registration) (England) Regulations 2024: original
entry, amended entry, reason, date and time, name and position of who made it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from rules.codes import normalise
from storage.models import MarkAmendment, RegisterMark


@dataclass(frozen=True, slots=True)
class Actor:
    """Who makes a change, as the register must record it."""

    name: str
    position: str
    source: str  # import, parent, staff, system, leave


class AppendOnlyError(RuntimeError):
    pass


@event.listens_for(MarkAmendment, "before_update")
@event.listens_for(MarkAmendment, "before_delete")
def _refuse_change(_mapper: Any, _connection: Any, target: MarkAmendment) -> None:
    raise AppendOnlyError("mark amendments are append-only")


def get_mark(session: Session, pupil_id: int, day: date, session_label: str) -> RegisterMark | None:
    return session.scalar(
        select(RegisterMark).where(
            RegisterMark.pupil_id == pupil_id,
            RegisterMark.date == day,
            RegisterMark.session == session_label,
        )
    )


_UNSET: Any = object()


def set_mark(
    session: Session,
    *,
    pupil_id: int,
    day: date,
    session_label: str,
    code: str | None,
    actor: Actor,
    reason: str,
    now: datetime,
    confirmed: bool = True,
    minutes_late: int | None = None,
    note: str = "",
    existing: RegisterMark | None = _UNSET,
) -> RegisterMark | None:
    """Create or change one mark. Returns the mark if anything changed, else None.

    A new mark is the original entry; a change to an existing one (its code or whether it is
    confirmed) adds a MarkAmendment. `existing` lets bulk callers pass the mark they already
    loaded (or None for "known absent") instead of a query per row.
    """
    code = normalise(code) if code else None
    mark = get_mark(session, pupil_id, day, session_label) if existing is _UNSET else existing
    if mark is None:
        mark = RegisterMark(
            pupil_id=pupil_id,
            date=day,
            session=session_label,
            code=code,
            minutes_late=minutes_late,
            note=note,
            source=actor.source,
            confirmed=confirmed,
            updated_at=now,
        )
        session.add(mark)
        return mark
    code_changed = mark.code != code or mark.confirmed != confirmed
    detail_changed = mark.minutes_late != minutes_late or (note and mark.note != note)
    if not code_changed and not detail_changed:
        return None
    if code_changed:
        if mark.id is None:
            session.flush([mark])
        session.add(
            MarkAmendment(
                mark_id=mark.id,
                pupil_id=pupil_id,
                date=day,
                session=session_label,
                original_code=mark.code,
                original_confirmed=mark.confirmed,
                amended_code=code,
                amended_confirmed=confirmed,
                reason=reason,
                amended_at=now,
                amended_by_name=actor.name,
                amended_by_position=actor.position,
                source=actor.source,
            )
        )
    mark.code = code
    mark.confirmed = confirmed
    mark.minutes_late = minutes_late
    if note:
        mark.note = note
    mark.source = actor.source
    mark.updated_at = now
    return mark


def amendments_for(session: Session, pupil_id: int) -> list[MarkAmendment]:
    return list(
        session.scalars(
            select(MarkAmendment)
            .where(MarkAmendment.pupil_id == pupil_id)
            .order_by(MarkAmendment.id)
        )
    )
