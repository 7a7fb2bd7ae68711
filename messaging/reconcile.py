"""Replies the webhook missed. Twilio does not retry a failed inbound webhook, so a job lists
recent inbound texts from Twilio's API and ingests any we do not have, through the same path
as the webhook; it also re-runs the bot's callback for stored texts it failed on.
Safe to run at any time and twice: MessageSid de-duplicates everything."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from messaging.config import TwilioSettings
from messaging.inbound import OptChangeHook, ReplyHook, handle_stored, ingest
from messaging.transport import InboundText, SmsTransport, TransportError
from storage.db import transaction
from storage.models import JobState, Message

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


def reconcile(
    factory: sessionmaker[Session],
    transport: SmsTransport,
    settings: TwilioSettings,
    *,
    now: datetime,
    on_reply: ReplyHook,
    on_opt_change: OptChangeHook | None = None,
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

    recovered, complete = 0, True
    for text in listed:
        if not _ours(text, settings):
            continue  # another number on the same Twilio account
        try:
            with transaction(factory) as session:
                ingested = ingest(
                    session, sid=text.sid, from_=text.from_, to=text.to, body=text.body, now=now
                )
        except Exception as exc:  # noqa: BLE001 - keep the cursor back so the next run retries
            log.error("reconciliation: could not store %s (%s)", text.sid, type(exc).__name__)
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
