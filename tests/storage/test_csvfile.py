"""CSV injection: no cell FirstCall writes reaches a spreadsheet as a formula, and what
FirstCall writes it reads back as it was."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from storage.csvfile import CsvWriter, neutralise, restore
from storage.marks import Actor, set_mark
from storage.models import Pupil, RegisterMark
from storage.register import export_marks, import_marks
from tests.factories import make_pupil, make_school

NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
HOSTILE = [
    '=HYPERLINK("https://evil.example","Click")',
    "=cmd|' /C calc'!A0",
    "+1+1",
    "-2+3",
    "@SUM(A1:A2)",
    "\t=1+1",
    "\r=1+1",
]


def test_every_formula_start_is_quoted_and_nothing_else_is() -> None:
    assert [neutralise(v)[0] for v in HOSTILE] == ["'"] * len(HOSTILE)
    assert neutralise("O'Neil") == "O'Neil" and neutralise(7) == "7" and neutralise(None) == ""


def test_a_cell_that_starts_with_a_quote_is_read_back_as_it_was() -> None:
    # Found by the property below: "'=" was written as it is and read back as "=".
    for value in ("'=", "'", "'Ria", "''=1"):
        assert restore(neutralise(value)) == value
    assert restore("'Ria") == "'Ria"  # a file FirstCall did not write


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_restore_undoes_neutralise(value: str) -> None:
    assert restore(neutralise(value)) == value
    assert not neutralise(value).startswith(("=", "+", "-", "@", "\t", "\r"))


def test_a_register_export_carries_no_formula_and_reimports_as_it_was(
    session, tmp_path: Path
) -> None:
    school = make_school(session)
    pupil = make_pupil(session, school, "Jayden")
    for session_label, note in (("AM", HOSTILE[0]), ("PM", HOSTILE[1])):
        set_mark(
            session,
            pupil_id=pupil.id,
            day=date(2026, 3, 10),
            session_label=session_label,
            code="/",
            actor=Actor("MIS import", "test", "import"),
            reason="register",
            now=NOW,
            confirmed=True,
            note=note,
        )
    session.commit()
    out = io.StringIO()
    export_marks(session, out, start=date(2026, 3, 10), end=date(2026, 3, 10))
    cells = [line.split(",", 5)[-1] for line in out.getvalue().splitlines()[1:]]
    assert [c.strip('"')[0] for c in cells] == ["'", "'"]
    exported = tmp_path / "marks.csv"
    exported.write_text(out.getvalue())
    report = import_marks(session, exported, now=NOW)
    assert report.unchanged == 2
    notes = session.scalars(select(RegisterMark.note).order_by(RegisterMark.session)).all()
    assert notes == [HOSTILE[0], HOSTILE[1]]
    assert session.scalar(select(Pupil.upn)) in out.getvalue()


def test_the_writer_neutralises_every_cell() -> None:
    out = io.StringIO()
    CsvWriter(out).writerow(["=1", "+44 7700", "plain", 3])
    assert out.getvalue() == "'=1,'+44 7700,plain,3\n"
