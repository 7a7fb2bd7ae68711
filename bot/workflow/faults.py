"""Faults the office must hear about: a text Twilio holds that FirstCall could not store, a
school whose sweep or ladder failed (the other schools went on), texts that cannot go out
(Twilio down: a notice, and a call task for each first-contact text held up)."""

from __future__ import annotations

import json
import logging
import secrets
import tomllib
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.logs import where
from bot.workflow.cards import post_notice
from bot.workflow.cases import refresh_case_cards
from bot.workflow.school import context_for
from bot.workflow.tasks import open_task
from messaging.outbox import DispatchReport
from rules.settings import SettingsError
from storage.db import transaction, upsert
from storage.models import (
    OPEN_CASE_STATUSES,
    AbsenceCase,
    AuditLog,
    JobState,
    OutboxItem,
    OutboxStatus,
    School,
)

log = logging.getLogger(__name__)


def text_quarantined(session: Session, sid: str, school_ids: Sequence[int], now: datetime) -> None:
    """Reconciliation's hook: tell each school's office, by MessageSid only (the text may be
    a parent's words about a child; it stays in Twilio, where staff can read it)."""
    for school_id in school_ids:
        ctx = context_for(session.get_one(School, school_id))
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


# Texts failing this long with none getting through is an outage the office must hear of, and
# a first-contact text held up this long is phoned instead (FirstCall goes on trying it).
HELD_UP = timedelta(minutes=10)
OUTAGE = "sms_outage"  # JobState: {"since": ISO time, "told": bool} while texts are failing


def texts_dispatched(factory: sessionmaker[Session], texts: DispatchReport, now: datetime) -> None:
    """After a dispatch run that sent texts: follow an outage (texts retried, none sent) and
    tell every office once when it passes ten minutes, and again when texts go again; put a
    call task in front of the office for each first-contact text held up ten minutes."""
    with transaction(factory) as session:
        state = session.get(JobState, OUTAGE, with_for_update=True)
        if texts.sent and state is not None:
            if json.loads(state.value).get("told"):
                _tell_offices(session, "texts_flowing", json.loads(state.value)["since"], now)
            session.delete(state)
            state = None
        elif texts.retried and not texts.sent and state is None:
            session.execute(
                upsert(session, JobState)
                .values(
                    name=OUTAGE,
                    value=json.dumps({"since": now.isoformat(), "told": False}),
                    updated_at=now,
                )
                .on_conflict_do_nothing(index_elements=["name"])
            )
        if state is not None:
            facts = json.loads(state.value)
            if not facts.get("told") and now - datetime.fromisoformat(facts["since"]) >= HELD_UP:
                _tell_offices(session, "texts_held_up", facts["since"], now)
                state.value, state.updated_at = json.dumps({**facts, "told": True}), now
        _call_instead_of_held_texts(session, now)


def _tell_offices(session: Session, notice: str, since: str, now: datetime) -> None:
    for school in session.scalars(select(School).order_by(School.id)):
        try:
            ctx = context_for(school)
        except SettingsError:
            continue  # its settings no longer load: the sweep reports that school's fault
        post_notice(
            session,
            key=f"{notice}:{since}:{school.id}",
            channel=ctx.settings.office_channel,
            school_id=school.id,
            now=now,
            notice=notice,
            since=f"{ctx.local(datetime.fromisoformat(since)):%H:%M}",
            until=f"{ctx.settings.policy.texts_until:%H:%M}",
        )


def _call_instead_of_held_texts(session: Session, now: datetime) -> None:
    held = session.scalars(
        select(OutboxItem).where(
            OutboxItem.channel == "sms",
            OutboxItem.status == OutboxStatus.PENDING,
            OutboxItem.attempts > 0,
            OutboxItem.created_at <= now - HELD_UP,
        )
    )
    for item in held:
        if item.payload.get("kind") == "first_contact" and not item.result.get("office_calls"):
            call_instead(session, item, now)
            item.result = {**item.result, "office_calls": True}


def call_instead(session: Session, item: OutboxItem, now: datetime) -> None:
    """A first-contact text that cannot be sent: a call task for the office on each of its
    cases still open (once per case)."""
    if item.payload.get("kind") != "first_contact" or item.school_id is None:
        return
    school = session.get(School, item.school_id)
    if school is None:
        return
    ctx = context_for(school)
    for case in session.scalars(
        select(AbsenceCase).where(
            AbsenceCase.id.in_(item.payload.get("case_ids") or []),
            AbsenceCase.status.in_(OPEN_CASE_STATUSES),
        )
    ):
        open_task(
            session,
            ctx,
            case,
            kind="call",
            role="office",
            key=f"case:{case.id}:call:text-not-sent",
            now=now,
            why="the first text could not be sent",
        )
        refresh_case_cards(session, ctx, case, now)
