"""Faults the office must hear about: a text Twilio holds that FirstCall could not store."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from bot.workflow.cards import post_notice
from bot.workflow.school import context_for
from storage.models import School


def text_quarantined(session: Session, sid: str, school_ids: Sequence[int], now: datetime) -> None:
    """Reconciliation's hook: tell each school's office, by MessageSid only (the text may be
    a parent's words about a child; it stays in Twilio, where staff can read it)."""
    for school_id in school_ids:
        ctx = context_for(session.get(School, school_id))
        post_notice(
            session,
            key=f"quarantined:{school_id}:{sid}",
            channel=ctx.settings.office_channel,
            school_id=ctx.id,
            now=now,
            notice="text_quarantined",
            sid=sid,
        )
