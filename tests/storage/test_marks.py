from datetime import UTC, date, datetime

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DatabaseError

from storage.marks import Actor, AppendOnlyError, amendments_for, set_mark
from storage.models import MarkAmendment
from tests.factories import make_pupil, make_school

NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
OFFICE = Actor("Sam Hall", "Office manager", "staff")
DAY = date(2026, 3, 10)


def test_a_new_mark_is_the_original_entry_and_a_change_is_amended(session) -> None:
    school = make_school(session)
    pupil = make_pupil(session, school)
    set_mark(
        session,
        pupil_id=pupil.id,
        day=DAY,
        session_label="AM",
        code="N",
        actor=OFFICE,
        reason="register",
        now=NOW,
    )
    assert amendments_for(session, pupil.id) == []

    set_mark(
        session,
        pupil_id=pupil.id,
        day=DAY,
        session_label="AM",
        code="I",
        actor=OFFICE,
        reason="mother texted: sick",
        now=NOW,
        confirmed=False,
    )
    set_mark(
        session,
        pupil_id=pupil.id,
        day=DAY,
        session_label="AM",
        code="I",
        actor=OFFICE,
        reason="confirmed",
        now=NOW,
    )
    session.commit()
    found = [
        (
            a.original_code,
            a.original_confirmed,
            a.amended_code,
            a.amended_confirmed,
            a.reason,
            a.amended_by_name,
            a.amended_by_position,
        )
        for a in amendments_for(session, pupil.id)
    ]
    assert found == [
        ("N", True, "I", False, "mother texted: sick", "Sam Hall", "Office manager"),
        ("I", False, "I", True, "confirmed", "Sam Hall", "Office manager"),
    ]


def test_setting_the_same_code_again_changes_nothing(session) -> None:
    school = make_school(session)
    pupil = make_pupil(session, school)
    kwargs = dict(
        pupil_id=pupil.id, day=DAY, session_label="AM", code="/", actor=OFFICE, reason="r", now=NOW
    )
    assert set_mark(session, **kwargs) is not None
    assert set_mark(session, **kwargs) is None
    assert amendments_for(session, pupil.id) == []


def _one_amendment(session) -> MarkAmendment:
    school = make_school(session)
    pupil = make_pupil(session, school)
    for code in ("N", "O"):
        set_mark(
            session,
            pupil_id=pupil.id,
            day=DAY,
            session_label="AM",
            code=code,
            actor=OFFICE,
            reason="r",
            now=NOW,
        )
    session.commit()
    return session.scalar(select(MarkAmendment))


def test_the_orm_refuses_to_change_an_amendment(session) -> None:
    amendment = _one_amendment(session)
    amendment.reason = "rewritten"
    with pytest.raises(AppendOnlyError):
        session.commit()


@pytest.mark.parametrize(
    "statement",
    [
        update(MarkAmendment).values(reason="rewritten"),
        delete(MarkAmendment),
    ],
)
def test_the_database_refuses_to_change_an_amendment(session, statement) -> None:
    _one_amendment(session)
    with pytest.raises(DatabaseError, match="append-only"):
        session.execute(statement)
    session.rollback()
    assert session.scalar(text("SELECT count(*) FROM mark_amendments")) == 1
