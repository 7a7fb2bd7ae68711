"""`firstcall demo --days 2 --seed 1` runs the whole product and its summary agrees with
what the database holds afterwards."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.cli import main
from storage.db import make_engine
from storage.models import (
    AbsenceCase,
    LeaveRequest,
    MarkAmendment,
    Message,
    OutboxItem,
    SlackCard,
)


def test_two_days_of_the_demo(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "summary.json"
    assert (
        main(
            [
                "--db",
                db_url,
                "demo",
                "--days",
                "2",
                "--seed",
                "1",
                "--pupils",
                "200",
                "--summary-json",
                str(out),
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "Summary" in printed and "left for staff" in printed
    summary = json.loads(out.read_text())

    engine = make_engine(db_url)
    with Session(engine) as s:

        def count(model: type, *where: object) -> int:
            return s.scalar(select(func.count()).select_from(model).where(*where))

        assert summary["absences"] == s.scalar(select(func.count()).select_from(AbsenceCase)) > 0
        assert summary["replies"] == count(Message, Message.direction == "inbound") > 0
        # Every text the outbox says it sent reached the loopback Twilio, once, and is on record.
        sent_sms = count(OutboxItem, OutboxItem.channel == "sms", OutboxItem.status == "sent")
        assert summary["texts_sent"] == sent_sms == summary["texts_handed_to_twilio"]
        assert count(Message, Message.direction == "outbound") == sent_sms
        assert summary["texts_by_kind"].get("first_contact", 0) > 0
        assert (
            summary["safeguarding_alerts"]
            == count(AbsenceCase, AbsenceCase.safeguarding.is_(True))
            >= 1
        )
        left = summary["left_for_staff"]
        assert left["codes_to_confirm"] == count(AbsenceCase, AbsenceCase.status == "explained")
        assert left["unexplained"] == count(AbsenceCase, AbsenceCase.status == "open")
        assert (
            sum(summary["leave_decided"].values())
            == count(LeaveRequest, LeaveRequest.status != "pending")
            >= 1
        )
        # Staff confirmed codes from the cards: amendments by a named member of staff.
        assert (
            s.scalar(
                select(func.count())
                .select_from(MarkAmendment)
                .where(MarkAmendment.source == "staff")
            )
            > 0
        )
        # One Slack message per card: posts are cards plus one-off notices, never a card twice.
        cards = s.scalar(
            select(func.count()).select_from(SlackCard).where(SlackCard.ts.is_not(None))
        )
        assert summary["slack_posts"] >= cards > 0
    engine.dispose()
