"""Slack wording lives in bot/slack/render.py: cards use the school's own thresholds, and
notices are worded when they go out from the facts the workflow recorded."""

from __future__ import annotations

import re
import tomllib
from datetime import date, timedelta

from sqlalchemy.orm import Session

from bot.slack.render import NOTICES, render_card, render_notice
from rules.settings import parse_settings
from storage.marks import Actor, set_mark
from storage.models import LeaveRequest, School
from storage.schools import load_school
from tests.factories import EXAMPLES, NOW, make_pupil

OFFICE = Actor("Sam Hall", "Office manager", "staff")


def _school(session: Session, **policy: object) -> School:
    """Crofton, with some policy values changed in its settings file."""
    text = (EXAMPLES / "crofton.toml").read_text(encoding="utf-8")
    for key, value in policy.items():
        text = re.sub(rf"^{key} = .*$", f"{key} = {value}", text, count=1, flags=re.MULTILINE)
    school = load_school(
        session, parse_settings(tomllib.loads(text), "crofton.toml"), text, now=NOW
    )
    session.flush()
    return school


def test_the_leave_card_uses_the_schools_band_and_penalty_threshold(session: Session) -> None:
    school = _school(session, leave_penalty_warning_days=3, persistent_absence_below=95.0)
    pupil = make_pupil(session, school, "Zara")
    # 9 of 10 sessions present: 90%, "ok" by the national 90% line, persistent at this school.
    for i, day in enumerate([date(2026, 3, 2) + timedelta(days=d) for d in range(5)]):
        for label in ("AM", "PM"):
            code = "O" if (i, label) == (0, "AM") else "/"
            set_mark(
                session,
                pupil_id=pupil.id,
                day=day,
                session_label=label,
                code=code,
                actor=OFFICE,
                reason="register",
                now=NOW,
            )
    request = LeaveRequest(
        school_id=school.id,
        pupil_id=pupil.id,
        start_date=date(2026, 5, 5),
        end_date=date(2026, 5, 7),  # three school days
        reason="family wedding",
        source="staff",
        requested_by="Sam Hall (Office manager)",
        requested_at=NOW,
    )
    session.add(request)
    session.flush()
    rendered = render_card(session, f"leave:{request.id}")
    assert rendered is not None
    text = rendered[1][0]["text"]["text"]
    assert "90.0% (persistent absence)" in text
    assert ":warning: 3 or more school days: a penalty notice may follow" in text


def test_every_notice_is_worded() -> None:
    facts = {
        "late_reply_safeguarding": {"names": "Leo S.", "indicators": ["hurt"], "body": "help"},
        "late_reply": {"names": "Leo S.", "intent": "late_arrival", "reason": None},
        "opt_change": {"names": "Leo S.", "contact": "Ann Smith", "opted_out": True},
        "text_quarantined": {"sid": "SM123"},
        "school_failed": {"what": "register-close sweep", "error_id": "ab12cd34"},
        "texts_held_up": {"since": "08:40", "until": "17:00"},
        "texts_flowing": {"since": "08:40"},
    }
    assert set(facts) == set(NOTICES)
    assert render_notice("late_reply", facts["late_reply"]) == (
        ":speech_balloon: A text from a contact of Leo S. with no open absence "
        "(read as late arrival). Check it in /pupil."
    )
    assert render_notice("opt_change", facts["opt_change"]).startswith(
        ":no_bell: A contact of Leo S. (Ann Smith) replied STOP"
    )
    assert render_notice("late_reply_safeguarding", facts["late_reply_safeguarding"]).endswith(
        "with no open absence:\n>help"
    )
