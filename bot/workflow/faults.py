"""Faults the office must hear about: a text Twilio holds that FirstCall could not store, a
school whose sweep or ladder failed (the other schools went on)."""

from __future__ import annotations

import logging
import secrets
import tomllib
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.logs import where
from bot.workflow.cards import post_notice
from bot.workflow.school import context_for
from storage.db import transaction
from storage.models import AuditLog, OutboxItem, School

log = logging.getLogger(__name__)


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


def school_failed(
    factory: sessionmaker[Session], school_id: int, what: str, exc: BaseException, now: datetime
) -> None:
    """Record one school's failed sweep or ladder run (the audit log, by error ID and place,
    never the exception's text) and tell its office once a day per kind of failure."""
    error_id = secrets.token_hex(4)
    place = where(exc.__traceback__, 6) or "?"
    log.error(
        "school %s: %s failed: error %s: %s at %s",
        school_id,
        what,
        error_id,
        type(exc).__name__,
        place,
    )
    try:
        with transaction(factory) as session:
            school = session.get(School, school_id)
            if school is None:
                return
            channel, day = _office_channel(school), now.date().isoformat()
            key = f"school-failed:{school_id}:{what}:{day}"
            if session.scalar(select(OutboxItem.id).where(OutboxItem.key == f"slack:{key}")):
                return  # recorded and told already today
            session.add(
                AuditLog(
                    school_id=school_id,
                    at=now,
                    actor="FirstCall",
                    action=what,
                    outcome="failed",
                    detail={"error_id": error_id, "error": type(exc).__name__, "where": place},
                )
            )
            if channel is None:
                return
            post_notice(
                session,
                key=key,
                channel=channel,
                school_id=school_id,
                now=now,
                notice="school_failed",
                what=what,
                error_id=error_id,
            )
    except Exception as again:  # noqa: BLE001 - the log line above is the record of last resort
        log.error(
            "school %s: could not record error %s (%s)", school_id, error_id, type(again).__name__
        )


def _office_channel(school: School) -> str | None:
    """The office channel from the settings, or (if they no longer load) read straight from
    the stored file, so a school whose settings broke still hears about it."""
    try:
        return context_for(school).settings.office_channel
    except Exception:  # noqa: BLE001 - settings that fail to validate: read the raw table
        try:
            channel = tomllib.loads(school.settings_toml).get("slack", {}).get("office_channel")
        except (tomllib.TOMLDecodeError, AttributeError):
            return None
        return channel if isinstance(channel, str) and channel else None
