"""Issue 12, item 8 (Slack): a replayed slash command acts once, a name near several pupils
asks which, and the audit log has every view and decision; through the real Bolt app with
requests signed as Slack signs them."""

from __future__ import annotations

import json
import time

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from storage.db import transaction
from storage.models import AuditLog, LeaveRequest, Pupil, School
from tests.bot.slack_harness import OFFICE, OFFICE_CH, Harness, case_id, crofton, explain
from tests.factories import make_pupil


def test_a_replayed_slash_command_acts_once(
    harness: Harness, factory: sessionmaker[Session]
) -> None:
    crofton(factory)
    body, headers = harness.slack.slash_command_request(
        "/leave",
        "request Jayden Smith 04/05/2026 08/05/2026 family wedding",
        OFFICE,
        OFFICE_CH,
        timestamp=int(time.time()),
    )
    replies = []
    for _ in range(5):  # Slack's retries, or someone replaying the signed request
        response = harness.dispatch(body, headers)
        assert response.status == 200
        replies.append(json.loads(response.body)["text"])
    assert len(set(replies)) == 1 and replies[0].startswith("Leave request #")
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(LeaveRequest)) == 1
        assert (
            s.scalar(
                select(func.count())
                .select_from(AuditLog)
                .where(AuditLog.action == "/leave request", AuditLog.outcome == "done")
            )
            == 1
        )
    # The same words typed again are a new command (a new trigger): a second request.
    assert harness.slash(
        "/leave", "request Jayden Smith 04/05/2026 08/05/2026 family wedding"
    ).startswith("Leave request #")
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(LeaveRequest)) == 2


def test_a_name_near_two_pupils_gets_the_list_to_choose_from(
    harness: Harness, factory: sessionmaker[Session]
) -> None:
    crofton(factory)
    with transaction(factory) as s:
        school = s.scalar(select(School))
        make_pupil(s, school, "Mia", last_name="Ali")
        make_pupil(s, school, "Maya", last_name="Ali")
    reply = harness.slash("/pupil", "Maia Ali")
    assert reply.startswith("More than one pupil matches")
    assert "Mia Ali" in reply and "Maya Ali" in reply
    # Spelt right, or plainly nearest, it is that pupil.
    assert "More than one" not in harness.slash("/pupil", "maya ali")
    assert "More than one" not in harness.slash("/pupil", "jaden smith")


def test_the_audit_log_records_every_view_and_decision(
    harness: Harness, factory: sessionmaker[Session]
) -> None:
    school = crofton(factory)
    explain(factory, school.pupils["Jayden"], "I")
    harness.slash("/pupil", "Jayden Smith")
    harness.slash("/absence", "")
    harness.slash("/absence", "approve Jayden Smith")
    mia_case = case_id(factory, school.pupils["Mia"])
    explain(factory, school.pupils["Mia"], "M", reason="medical")
    harness.click("case_confirm", mia_case)
    with factory() as s:
        rows = s.scalars(select(AuditLog).order_by(AuditLog.id)).all()
        jayden = s.get(Pupil, school.pupils["Jayden"])
        assert [(r.actor, r.action, r.outcome) for r in rows] == [
            (OFFICE, "/pupil", "done"),
            (OFFICE, "/absence", "done"),
            (OFFICE, "/absence approve", "done"),
            (OFFICE, "button case_confirm", "done"),
        ]
        assert rows[0].detail["pupils"] == [jayden.id]
        assert rows[2].detail["pupils"] == [jayden.id]
        assert rows[3].detail["absence_cases"] == [mia_case]
        assert all(r.at is not None and r.detail["staff_id"] for r in rows)
        assert "Jayden" not in str([r.detail for r in rows])
