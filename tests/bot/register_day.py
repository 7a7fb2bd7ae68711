"""A school driven as the MIS and the office drive it: marks arrive by `firstcall register
import` (at any time, as the MIS sends them), the clock moves by `tick`, parents text the
signed webhook and staff use the slash commands. Shared by the register-truth tests and
the multi-week scenario."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from datetime import date, datetime
from itertools import count
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.cli import main
from bot.demo.stack import Stack
from storage.models import (
    AbsenceCase,
    CaseEvent,
    OutboxItem,
    Pupil,
    RegisterMark,
    StaffTask,
)
from tests.bot.conftest import at
from tests.factories import make_contact, make_pupil, make_school


class RegisterDay:
    """One school on the loopback stack with named pupils in class 1A (each with two
    contacts), classmates who are in, and a second class 2B."""

    def __init__(
        self,
        stack: Stack,
        db_url: str,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
        *,
        school: str = "crofton",
        names: Iterable[str] = ("Leo", "Mia", "Jay"),
        classmates: int = 20,
    ) -> None:
        self.stack, self.db_url, self.tmp = stack, db_url, tmp_path
        self.monkeypatch = monkeypatch
        with stack.runtime.factory() as s, s.begin():
            row = make_school(s, school)
            self.school_id, self.urn = row.id, row.urn
            self.pupils: dict[str, Pupil] = {}
            self.phones: dict[str, tuple[str, str]] = {}
            for name in names:
                pupil = make_pupil(s, row, name, class_name="1A")
                first = make_contact(s, row, pupil, priority=1).phone
                second = make_contact(s, row, pupil, priority=2).phone
                self.pupils[name], self.phones[name] = pupil, (first, second)
            self.classmates = [
                make_pupil(s, row, f"Class{i}", class_name="1A") for i in range(classmates)
            ]
            self.class_2b = [make_pupil(s, row, f"Bee{i}", class_name="2B") for i in range(3)]
            self.bee_phones = [make_contact(s, row, pupil).phone for pupil in self.class_2b]
            s.flush()
            self.upns = {p.id: p.upn for p in [*self.pupils.values(), *self.classmates]}
            self.upns.update({p.id: p.upn for p in self.class_2b})
            self.ids = {name: p.id for name, p in self.pupils.items()}

    # -- the MIS ----------------------------------------------------------------------------

    def import_marks(
        self, when: datetime, day: date, marks: dict[str, str | None], **options: Any
    ) -> None:
        """`firstcall register import` at `when` of this school's register (see `rows`)."""
        import_rows(self.tmp, self.monkeypatch, self.db_url, when, self.rows(day, marks, **options))

    def rows(
        self,
        day: date,
        marks: dict[str, str | None],
        *,
        session: str = "AM",
        minutes_late: dict[str, int] | None = None,
        everyone: bool = True,
        class_2b: dict[int, str] | None = None,
        take_2b: bool = True,
    ) -> list[list[str]]:
        """The MIS's rows: the named pupils' codes and (with `everyone`) the rest of 1A
        present; 2B present but for the codes in `class_2b` (index -> code), or not taken
        at all with `take_2b=False`."""
        present = "/" if session == "AM" else "\\"
        rows: list[tuple[int, str | None]] = [(self.ids[n], c) for n, c in marks.items()]
        if everyone:
            rows += [(p.id, present) for p in self.classmates]
            rows += [(p.id, present) for n, p in self.pupils.items() if n not in marks]
        if take_2b and (everyone or class_2b):
            codes = class_2b or {}
            rows += [(p.id, codes.get(i, present)) for i, p in enumerate(self.class_2b)]
        late = minutes_late or {}
        names = {pid: name for name, pid in self.ids.items()}
        return [
            [
                self.upns[pid],
                day.isoformat(),
                session,
                code or "",
                str(late.get(names.get(pid, ""), "")),
                "",
            ]
            for pid, code in rows
        ]

    def export(self, start: date, end: date, capsys: pytest.CaptureFixture[str]) -> list[list[str]]:
        capsys.readouterr()
        assert (
            main(
                [
                    "--db",
                    self.db_url,
                    "register",
                    "export",
                    "--from",
                    start.isoformat(),
                    "--to",
                    end.isoformat(),
                    "--school",
                    self.urn,
                ]
            )
            == 0
        )
        return list(csv.reader(capsys.readouterr().out.splitlines()))[1:]

    # -- reading back -----------------------------------------------------------------------

    def texts_to(self, name: str, contact: int = 0) -> list[str]:
        phone = self.phones[name][contact]
        return [m.body for m in self.stack.twilio.sent if m.to == phone]

    def texts(self) -> dict[str, list[str]]:
        """Every text this school's families received, by contact ("Leo", "Leo#2", "Bee0"),
        as the kind of text it was."""
        owners = {first: name for name, (first, _) in self.phones.items()}
        owners |= {second: f"{name}#2" for name, (_, second) in self.phones.items()}
        owners |= {phone: f"Bee{i}" for i, phone in enumerate(self.bee_phones)}
        found: dict[str, list[str]] = {}
        for message in self.stack.twilio.sent:
            if message.to in owners:
                found.setdefault(owners[message.to], []).append(text_kind(message.body))
        return found

    def cases(self, name: str) -> list[AbsenceCase]:
        with self.stack.runtime.factory() as s:
            return list(
                s.scalars(
                    select(AbsenceCase)
                    .where(AbsenceCase.pupil_id == self.ids[name])
                    .order_by(AbsenceCase.id)
                )
            )

    def tasks(self, name: str, *, open_only: bool = False) -> list[str]:
        with self.stack.runtime.factory() as s:
            query = (
                select(StaffTask.kind)
                .join(AbsenceCase, AbsenceCase.id == StaffTask.case_id)
                .where(AbsenceCase.pupil_id == self.ids[name])
                .order_by(StaffTask.id)
            )
            if open_only:
                query = query.where(StaffTask.status != "done")
            return list(s.scalars(query))

    def marks(self, name: str) -> dict[tuple[str, str], tuple[str | None, bool]]:
        with self.stack.runtime.factory() as s:
            return {
                (m.date.isoformat(), m.session): (m.code, m.confirmed)
                for m in s.scalars(
                    select(RegisterMark).where(RegisterMark.pupil_id == self.ids[name])
                )
            }

    def events(self, name: str) -> list[str]:
        with self.stack.runtime.factory() as s:
            return list(
                s.scalars(
                    select(CaseEvent.kind)
                    .join(AbsenceCase, AbsenceCase.id == CaseEvent.case_id)
                    .where(AbsenceCase.pupil_id == self.ids[name])
                    .order_by(CaseEvent.id)
                )
            )

    def cancelled_texts(self) -> int:
        with self.stack.runtime.factory() as s:
            return len(
                s.scalars(select(OutboxItem.id).where(OutboxItem.status == "cancelled")).all()
            )

    def card_text(self, channel: str, needle: str) -> str:
        """The card mentioning `needle` as it stands now (after its edits)."""
        found = [
            m.text + str(m.blocks)
            for m in self.stack.slack.messages.get(channel, [])
            if needle in m.text + str(m.blocks)
        ]
        return found[-1] if found else ""


_imports = count(1)


def import_rows(
    folder: Path,
    monkeypatch: pytest.MonkeyPatch,
    db_url: str,
    when: datetime,
    rows: list[list[str]],
) -> None:
    """Write the rows as the MIS's CSV and run `firstcall register import` at `when`."""
    path = folder / f"marks-{next(_imports)}.csv"
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["upn", "date", "session", "code", "minutes_late", "note"])
        writer.writerows(rows)
    monkeypatch.setenv("FIRSTCALL_CLOCK", when.isoformat())
    assert main(["--db", db_url, "register", "import", str(path)]) == 0


def text_kind(body: str) -> str:
    for needle, kind in (
        ("was not in school", "first"),
        ("were not in school", "first"),
        ("still have no reason", "follow_up"),
        ("has your message", "ack"),
        ("medical evidence", "medical_evidence"),
        ("leave", "leave"),
    ):
        if needle in body:
            return kind
    return body


__all__ = ["RegisterDay", "at", "import_rows", "text_kind"]
