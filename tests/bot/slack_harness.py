"""The staff Slack app under test: built with `build_app` against a loopback Slack, driven by
requests signed as Slack signs them, through `App.dispatch` (Bolt's signature check, routing
and acks all run for real). A school day at Crofton with a few absences to act on."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from datetime import time as clock_time
from typing import Any
from zoneinfo import ZoneInfo

from slack_bolt import App, BoltRequest, BoltResponse
from slack_sdk import WebClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import ManualClock
from bot.slack.app import build_app
from bot.slack.loopback_slack import LoopbackSlack
from bot.workflow.school import context_for
from bot.workflow.sweep import register_closed
from storage.db import transaction
from storage.marks import Actor, set_mark
from storage.models import AbsenceCase, AuditLog, School, Staff
from tests.factories import make_contact, make_pupil, make_school

LONDON = ZoneInfo("Europe/London")
DAY = date(2026, 3, 10)  # a Tuesday in term
OFFICE, HEAD, DSL = "U0CROFT01", "U0CROFT02", "U0CROFT03"  # Sam Hall, Mrs Lindley, Priya Shah
OFFICE_CH, DSL_CH, LEAVE_CH = "C0CROFTOFF", "C0CROFTDSL", "C0CROFTHT"
MIS = Actor("MIS import", "test", "import")
PARENT = Actor("Sarah Smith", "parent (text)", "parent")
NAMED = {"Jayden": "Smith", "Mia": "Jones", "Zara": "Khan", "Leo": "Brown"}


def at(hhmm: str, day: date = DAY) -> datetime:
    hours, minutes = map(int, hhmm.split(":"))
    return datetime.combine(day, clock_time(hours, minutes), tzinfo=LONDON)


@dataclass
class Harness:
    app: App
    slack: LoopbackSlack
    factory: sessionmaker[Session]
    clock: ManualClock

    def dispatch(self, body: bytes, headers: dict[str, str]) -> BoltResponse:
        return self.app.dispatch(BoltRequest(body=body.decode(), headers=headers))

    def slash(self, command: str, text: str, user: str = OFFICE, channel: str = OFFICE_CH) -> str:
        """The reply the asker sees (the body of the command's ack)."""
        response = self.dispatch(
            *self.slack.slash_command_request(
                command, text, user, channel, timestamp=int(time.time())
            )
        )
        assert response.status == 200, response.body
        reply = json.loads(response.body)
        assert reply["response_type"] == "ephemeral"
        return reply["text"]

    def click(
        self, action_id: str, value: object, user: str = OFFICE, channel: str = OFFICE_CH
    ) -> BoltResponse:
        response = self.dispatch(
            *self.slack.block_action_request(
                action_id,
                str(value),
                user,
                channel_id=channel,
                message_ts="1700000000.000100",
                timestamp=int(time.time()),
            )
        )
        assert response.status == 200, response.body
        return response

    def told(self) -> list[str]:
        """What the app said to clickers through response URLs: ephemeral, card untouched."""
        said = []
        for post in self.slack.responses:
            assert post.payload["response_type"] == "ephemeral"
            assert post.payload["replace_original"] is False
            said.append(post.payload["text"])
        return said

    def submit(
        self, view: dict[str, Any], values: dict[str, Any], user: str = OFFICE
    ) -> dict[str, Any]:
        response = self.dispatch(
            *self.slack.view_submission_request(view, values, user, timestamp=int(time.time()))
        )
        assert response.status == 200, response.body
        return json.loads(response.body) if response.body else {}


@contextmanager
def running_app(factory: sessionmaker[Session]) -> Iterator[Harness]:
    """The app on a loopback Slack; each test module makes it a fixture."""
    clock = ManualClock(at("09:30"))
    with LoopbackSlack() as slack:
        app = build_app(
            factory,
            client=WebClient(token=slack.bot_token, base_url=slack.url),
            signing_secret=slack.signing_secret,
            clock=clock,
        )
        yield Harness(app, slack, factory, clock)


@dataclass
class Crofton:
    school_id: int
    pupils: dict[str, int]
    upns: dict[str, str]


def crofton(factory: sessionmaker[Session], absent: tuple[str, ...] = ("Jayden", "Mia")) -> Crofton:
    """Crofton, 1A: four named pupils and 20 classmates; `absent` are N when the AM register
    closes at 08:40 and the sweep has opened their cases."""
    with transaction(factory) as s:
        school = make_school(s)
        pupils = {
            first: make_pupil(s, school, first, last_name=last) for first, last in NAMED.items()
        }
        everyone = [
            *pupils.values(),
            *(make_pupil(s, school, f"Pupil{i}", last_name="Present") for i in range(20)),
        ]
        for pupil in pupils.values():
            make_contact(s, school, pupil)
        for pupil in everyone:
            set_mark(
                s,
                pupil_id=pupil.id,
                day=DAY,
                session_label="AM",
                code="N" if pupil.first_name in absent else "/",
                actor=MIS,
                reason="register",
                now=at("08:39"),
            )
        result = register_closed(s, context_for(school), DAY, "AM", at("08:40"))
        assert result.status == "done" and len(result.new_cases) == len(absent)
        return Crofton(
            school.id, {k: p.id for k, p in pupils.items()}, {k: p.upn for k, p in pupils.items()}
        )


def explain(
    factory: sessionmaker[Session], pupil_id: int, code: str, reason: str = "illness"
) -> int:
    """The parent replied: a reason and a provisional code, the mark provisional. The case id."""
    with transaction(factory) as s:
        case = s.scalar(select(AbsenceCase).where(AbsenceCase.pupil_id == pupil_id))
        case.status, case.reason, case.provisional_code = "explained", reason, code
        set_mark(
            s,
            pupil_id=pupil_id,
            day=DAY,
            session_label="AM",
            code=code,
            actor=PARENT,
            reason="parent's reply",
            now=at("08:55"),
            confirmed=False,
        )
        return case.id


def case_id(factory: sessionmaker[Session], pupil_id: int) -> int:
    with factory() as s:
        return s.scalar(select(AbsenceCase.id).where(AbsenceCase.pupil_id == pupil_id))


def refusals(factory: sessionmaker[Session]) -> list[AuditLog]:
    with factory() as s:
        return list(
            s.scalars(select(AuditLog).where(AuditLog.outcome == "refused").order_by(AuditLog.id))
        )


def set_roles(factory: sessionmaker[Session], user_id: str, roles: list[str]) -> None:
    """Staff roles as the settings would load them (a member who is, say, DSL only)."""
    with transaction(factory) as s:
        staff = s.scalar(
            select(Staff).join(School).where(Staff.slack_user_id == user_id, School.urn == "141234")
        )
        staff.roles = roles
