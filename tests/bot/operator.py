"""The school's data manager at the command line (`school load`, `roster import`,
`register import`), on the database of a loopback stack, at the stack's time; and a few
pupils with valid UPNs and their contacts' numbers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from bot.cli import main
from bot.demo.roster import make_upn
from bot.demo.stack import Stack
from tests.factories import EXAMPLES

DAY2 = date(2026, 3, 11)
OFFICE_CH = "C0CROFTOFF"
PUPILS_HEADER = "upn,first_name,last_name,year_group,class,vulnerable,la_transport"
CONTACTS_HEADER = "upn,name,relationship,phone,priority,parental_responsibility,no_contact,language"


@dataclass(frozen=True)
class Child:
    first: str
    last: str
    serial: int
    class_name: str = "1A"

    @property
    def upn(self) -> str:
        return make_upn(3200, self.serial)


AMIRA = Child("Amira", "Khan", 1)
DYLAN = Child("Dylan", "Jones", 2)
MIA = Child("Mia", "Jones", 3)
OLLIE = Child("Ollie", "Smith", 4)
CLASSMATES = [Child(f"Pupil{i}", "Present", 100 + i) for i in range(30)]


class Operator:
    """The school's data manager at the command line, on the stack's database."""

    def __init__(
        self,
        stack: Stack,
        tmp_path: Path,
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        self.stack, self.tmp, self.capsys, self.env = stack, tmp_path, capsys, monkeypatch
        self.db = str(stack.runtime.factory.kw["bind"].url.render_as_string(hide_password=False))
        assert self.run("school", "load", str(EXAMPLES / "crofton.toml"))[0] == 0, self.out

    def run(self, *argv: str) -> tuple[int, str]:
        """The command, run at the stack's time (a rehearsal clock, as an operator sets it),
        configured for the stack's loopback Twilio and Slack."""
        runtime = self.stack.runtime
        for name, value in {
            "FIRSTCALL_CLOCK": self.stack.clock().isoformat(),
            "TWILIO_ACCOUNT_SID": runtime.twilio.account_sid,
            "TWILIO_AUTH_TOKEN": runtime.twilio.auth_token,
            "TWILIO_FROM_NUMBER": runtime.twilio.from_number or "",
            "TWILIO_API_URL": runtime.twilio.api_url,
            "PUBLIC_BASE_URL": runtime.twilio.public_base_url,
            "SLACK_BOT_TOKEN": runtime.slack.bot_token,
            "SLACK_SIGNING_SECRET": runtime.slack.signing_secret,
            "SLACK_API_URL": runtime.slack.api_url,
        }.items():
            self.env.setenv(name, value)
        code = main(["--db", self.db, *argv])
        captured = self.capsys.readouterr()
        self.out = captured.out + captured.err
        return code, self.out

    def write(self, name: str, header: str, lines: Sequence[str]) -> Path:
        path = self.tmp / name
        path.write_text("\n".join([header, *lines]) + "\n")
        return path

    def roster(
        self,
        children: Sequence[Child],
        contacts: Sequence[tuple[Child, str, str]],
        *flags: str,
    ) -> tuple[int, str]:
        """Import these pupils (and the classmates) with (child, contact name, phone) rows."""
        pupils = self.write(
            "pupils.csv",
            PUPILS_HEADER,
            [
                f"{c.upn},{c.first},{c.last},1,{c.class_name},,false"
                for c in [*children, *CLASSMATES]
            ],
        )
        rows = self.write(
            "contacts.csv",
            CONTACTS_HEADER,
            [f"{c.upn},{name},Parent,{phone},1,true,false,en" for c, name, phone in contacts]
            + [
                f"{c.upn},Parent {c.first},Mother,+447993{c.serial:06d},1,true,false,en"
                for c in CLASSMATES
            ],
        )
        return self.run("roster", "import", str(pupils), str(rows), *flags)

    def register(
        self, day: date, absent: Sequence[Child], present: Sequence[Child] = (), *flags: str
    ) -> None:
        lines = [f"{c.upn},{day},AM,N,," for c in absent]
        lines += [f"{c.upn},{day},AM,/,," for c in [*present, *CLASSMATES]]
        marks = self.write("marks.csv", "upn,date,session,code,minutes_late,note", lines)
        assert self.run("register", "import", str(marks), *flags)[0] == 0, self.out

    def texts_to(self, phone: str) -> list[str]:
        return [m.body for m in self.stack.twilio.sent if m.to == phone]
