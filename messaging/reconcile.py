"""Replies the webhook missed. Twilio does not retry a failed inbound webhook, so a job lists
recent inbound texts from Twilio's API and ingests any we do not have, through the same path
as the webhook; it also re-runs the bot's callback for stored texts it failed on.
Safe to run at any time and twice: MessageSid de-duplicates everything.

A text that cannot be stored (a poison message) is quarantined: recorded by its MessageSid,
never its content, the office told through `on_quarantine`, and the cursor moves past it.
Only a fault of the database itself (down, locked, connection lost) holds the cursor back."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from messaging.config import TwilioSettings
from messaging.delivery import TransportError
from messaging.inbound import OptChangeHook, ReplyHook, contacts_for, handle_stored, ingest
from messaging.transport import InboundText, SmsTransport
from storage.db import database_fault, transaction
from storage.models import JobState, Message, QuarantinedText, School

log = logging.getLogger(__name__)

CURSOR = "twilio:reconcile"
# Listing overlaps the last run: de-duplication makes it harmless, and it covers a clock
# difference between us and Twilio and texts dated just before the last run finished.
OVERLAP = timedelta(minutes=10)
# With no cursor yet (first run), look back this far.
FIRST_LOOKBACK = timedelta(days=1)
# A text stored moments ago may have its webhook callback running right now: leave it be.
GRACE = timedelta(minutes=2)
# A text whose callback keeps failing is retried for this long, then left to staff.
RETRY_WINDOW = timedelta(days=2)

# Told of a quarantined text: (session, MessageSid, schools it may concern, now). It may
# only say that a text could not be stored, never what it said or who sent it.
QuarantineHook = Callable[[Session, str, Sequence[int], datetime], None]


def reconcile(
    factory: sessionmaker[Session],
    transport: SmsTransport,
    settings: TwilioSettings,
    *,
    now: datetime,
    on_reply: ReplyHook,
    on_opt_change: OptChangeHook | None = None,
    on_quarantine: QuarantineHook | None = None,
) -> int:
    """Ingest inbound texts the webhook missed; returns how many were recovered."""
    with factory() as session:
        cursor = session.get(JobState, CURSOR)
        since = (datetime.fromisoformat(cursor.value) if cursor else now - FIRST_LOOKBACK) - OVERLAP
    try:
        listed = transport.list_inbound(since)
    except TransportError as error:
        log.warning("reconciliation: cannot list Twilio messages (%s); next run catches up", error)
        return 0

    listed = [text for text in listed if _ours(text, settings)]
    with factory() as session:
        quarantined = set(
            session.scalars(
                select(QuarantinedText.sid).where(
                    QuarantinedText.sid.in_([t.sid[:64] for t in listed])
                )
            )
        )
    recovered, complete = 0, True
    for text in listed:
        if text.sid[:64] in quarantined:
            continue
        try:
            with transaction(factory) as session:
                ingested = ingest(
                    session, sid=text.sid, from_=text.from_, to=text.to, body=text.body, now=now
                )
        except Exception as exc:  # noqa: BLE001 - sorted below: the database's fault or the text's
            if database_fault(exc):
                log.error("reconciliation: could not store %s (%s)", text.sid, type(exc).__name__)
                complete = False  # keep the cursor back so the next run retries
            elif not _quarantine(factory, text, exc, now=now, on_quarantine=on_quarantine):
                complete = False
            continue
        if ingested.created:
            recovered += 1
            log.info("reconciliation: recovered %s as message %s", text.sid, ingested.message_id)
            handle_stored(
                factory,
                ingested.message_id,
                now=now,
                on_reply=on_reply,
                on_opt_change=on_opt_change,
                skip_locked=True,
            )

    with factory() as session:
        unhandled = list(
            session.scalars(
                select(Message.id)
                .where(
                    Message.direction == "inbound",
                    Message.handled.is_(False),
                    Message.created_at <= now - GRACE,
                    Message.created_at >= now - RETRY_WINDOW,
                )
                .order_by(Message.id)
            )
        )
    for message_id in unhandled:
        if handle_stored(
            factory,
            message_id,
            now=now,
            on_reply=on_reply,
            on_opt_change=on_opt_change,
            skip_locked=True,
        ):
            log.info("reconciliation: handled stored message %s", message_id)

    if complete:
        _advance(factory, now)
    return recovered


def _quarantine(
    factory: sessionmaker[Session],
    text: InboundText,
    exc: Exception,
    *,
    now: datetime,
    on_quarantine: QuarantineHook | None,
) -> bool:
    """Record a text that cannot be stored and tell the office; True once it is recorded."""
    sid = text.sid[:64]
    try:
        with transaction(factory) as session:
            schools = sorted({c.school_id for c in contacts_for(session, text.from_[:20])})
            if not schools:
                schools = list(session.scalars(select(School.id).order_by(School.id)))
            session.add(
                QuarantinedText(
                    sid=sid,
                    school_id=schools[0] if len(schools) == 1 else None,
                    error=type(exc).__name__[:100],
                    created_at=now,
                )
            )
            if on_quarantine is not None:
                on_quarantine(session, sid, schools, now)
    except Exception as failure:  # noqa: BLE001 - not recorded: the next run tries again
        log.error("reconciliation: could not quarantine %s (%s)", sid, type(failure).__name__)
        return False
    log.error(
        "reconciliation: quarantined %s, which cannot be stored (%s)", sid, type(exc).__name__
    )
    return True


def _advance(factory: sessionmaker[Session], now: datetime) -> None:
    """Move the cursor to ``now`` (never back: a late run must not rewind a newer one)."""
    with transaction(factory) as session:
        row = session.get(JobState, CURSOR, with_for_update=True)
        if row is None:
            try:
                with session.begin_nested():
                    session.add(JobState(name=CURSOR, value=now.isoformat(), updated_at=now))
                return
            except IntegrityError:  # a concurrent first run created it
                row = session.get(JobState, CURSOR, with_for_update=True, populate_existing=True)
        if row is not None and datetime.fromisoformat(row.value) < now:
            row.value, row.updated_at = now.isoformat(), now


def _ours(text: InboundText, settings: TwilioSettings) -> bool:
    if settings.messaging_service_sid and text.messaging_service_sid:
        return text.messaging_service_sid == settings.messaging_service_sid
    if settings.from_number and not settings.messaging_service_sid:
        return text.to == settings.from_number
    return True
