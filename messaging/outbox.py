"""The outbox: every text and Slack call is a row first and a network call second.

The workflow enqueues in its own transaction (idempotent on `key`); `dispatch_due` claims due
rows, delivers them and records the outcome, retrying temporary failures with back-off and
giving up on permanent ones. A text is never sent twice: a retry after an answer that may
have been lost (a timeout, a crashed dispatcher) first asks Twilio whether it has the text.
Logs carry outbox ids and message sids only, never numbers or bodies: this is children's data.
"""

from __future__ import annotations

import logging
import random
import traceback
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from messaging.optout import is_opted_out, record_opt_out
from messaging.templates import segments
from messaging.transport import SmsTransport, TransportError
from storage.db import upsert
from storage.models import AbsenceCase, Contact, Message, OutboxItem, PupilContact

log = logging.getLogger(__name__)

# A claimed row whose dispatcher has not finished by then is presumed crashed and re-claimed
# (as "maybe sent"). Far longer than any one delivery: the Twilio timeout is seconds.
LEASE = timedelta(minutes=5)
BATCH = 64
MAX_ATTEMPTS = 10
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(minutes=15)
# How far before an uncertain attempt to look for the text in Twilio's list: covers a clock
# difference between us and Twilio, and DateSent's whole seconds.
FIND_MARGIN = timedelta(minutes=10)
# Twilio codes that say something lasting about the number itself.
OPTED_OUT_CODE = 21610
INVALID_NUMBER_CODES = frozenset({21211, 21614})
NOT_MOBILE_CODE = 21614

PermanentFailureHook = Callable[[Session, OutboxItem, TransportError], None]


class DeliveryCancelled(Exception):
    """Raised by a deliverer when the item must not go out at all (never retried)."""


class Deliverer(Protocol):
    def deliver(self, session: Session, item: OutboxItem) -> dict[str, Any]:
        """Send the item; return what to keep as its result. Raises TransportError (or
        DeliveryCancelled). Runs inside the transaction that records the outcome, and may
        read the attempt's time from `attempt_time(session)`."""
        ...


def attempt_time(session: Session) -> datetime:
    """The `now` of the dispatch run delivering in this session (deliverers have no other
    clock: the protocol is `deliver(session, item)`)."""
    try:
        return session.info["now"]
    except KeyError:
        raise RuntimeError("deliver() called outside dispatch_due: no attempt time") from None


# -- enqueueing --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outgoing:
    """A row to put in the outbox: what `enqueue` and `enqueue_all` take."""

    key: str
    channel: str
    payload: dict[str, Any]
    school_id: int | None

    def values(self, now: datetime) -> dict[str, Any]:
        return {"key": self.key, "channel": self.channel, "school_id": self.school_id,
                "payload": self.payload, "status": "pending", "attempts": 0,
                "next_attempt_at": now, "result": {}, "created_at": now}


def sms(*, key: str, school_id: int, contact_id: int | None, to: str, body: str, kind: str,
        case_ids: Sequence[int] = ()) -> Outgoing:
    return Outgoing(key, "sms", {"to": to, "body": body, "contact_id": contact_id, "kind": kind,
                                 "case_ids": list(case_ids), "segments": segments(body)}, school_id)


def enqueue(
    session: Session,
    *,
    key: str,
    channel: str,
    payload: dict[str, Any],
    school_id: int | None,
    now: datetime,
) -> OutboxItem:
    """The outbox row for ``key``, created if new, in the caller's transaction.

    Idempotent: the same key returns the existing row, and a concurrent insert of the same
    key is absorbed by ON CONFLICT DO NOTHING, so the caller's transaction carries on. Pending
    objects are not flushed for it (the row depends on none).
    """
    statement = (upsert(session, OutboxItem)
                 .values(Outgoing(key, channel, payload, school_id).values(now))
                 .on_conflict_do_nothing(index_elements=["key"])
                 .returning(OutboxItem))
    with session.no_autoflush:
        item = session.scalars(statement).one_or_none()
        if item is None:
            item = session.scalars(select(OutboxItem).where(OutboxItem.key == key)).one()
    return item


def enqueue_all(session: Session, rows: Sequence[Outgoing], *, now: datetime) -> None:
    """Many rows in one statement (a register-close sweep queues thousands), each idempotent
    on its key exactly as `enqueue` is."""
    unique = list({row.key: row for row in rows}.values())
    for start in range(0, len(unique), 500):
        chunk = unique[start:start + 500]
        statement = (upsert(session, OutboxItem)
                     .values([row.values(now) for row in chunk])
                     .on_conflict_do_nothing(index_elements=["key"]))
        with session.no_autoflush:
            session.execute(statement)


def enqueue_sms(
    session: Session,
    *,
    key: str,
    school_id: int,
    contact_id: int | None,
    to: str,
    body: str,
    kind: str,
    now: datetime,
    case_ids: Sequence[int] = (),
) -> OutboxItem:
    row = sms(key=key, school_id=school_id, contact_id=contact_id, to=to, body=body, kind=kind,
              case_ids=case_ids)
    return enqueue(session, key=row.key, channel=row.channel, payload=row.payload,
                   school_id=row.school_id, now=now)


# -- the SMS deliverer -------------------------------------------------------------------------


class SmsDeliverer:
    """Sends an SMS outbox item through an `SmsTransport`, re-checking at send time that the
    contact may still be texted, and recording the outbound `Message`."""

    def __init__(self, transport: SmsTransport, public_base_url: str) -> None:
        self.transport = transport
        self.status_callback = public_base_url.rstrip("/") + "/twilio/status"

    def deliver(self, session: Session, item: OutboxItem) -> dict[str, Any]:
        now = attempt_time(session)
        payload = item.payload
        to, body = payload["to"], payload["body"]
        contact = session.get(Contact, payload["contact_id"]) if payload.get("contact_id") else None
        reason = not_textable(session, to, contact, payload.get("case_ids") or [])
        if reason is not None:
            raise DeliveryCancelled(reason)

        sent, adopted = None, False
        uncertain = item.result.get("uncertain_since") if item.result else None
        if uncertain:
            # The last attempt may have reached Twilio: adopt that text rather than send twice.
            since = datetime.fromisoformat(uncertain) - FIND_MARGIN
            known = set(session.scalars(select(Message.sid).where(
                Message.direction == "outbound", Message.to_phone == to,
                Message.created_at >= since, Message.sid.is_not(None))))
            sent = self.transport.find_sent(to, body, since, exclude=known)
            adopted = sent is not None
        if sent is None:
            sent = self.transport.send(to, body, status_callback=self.status_callback)
        session.add(Message(
            school_id=item.school_id, direction="outbound", sid=sent.sid,
            contact_id=contact.id if contact else None, from_phone=sent.from_ or "",
            to_phone=to, body=body, status=sent.status, error_code=None, outbox_id=item.id,
            handled=True, created_at=now, updated_at=now))
        result: dict[str, Any] = {"sid": sent.sid, "status": sent.status}
        if adopted:
            result["adopted"] = True
        if sent.segments is not None:
            result["segments"] = sent.segments
        return result


def not_textable(session: Session, to: str, contact: Contact | None,
                 case_ids: Sequence[int] = ()) -> str | None:
    """Why this number must not be texted now, or None. Checked at send time because a STOP,
    a landline finding or a safeguarding decision can land after the text was queued."""
    if is_opted_out(session, to):
        return "opted out"
    if contact is None:
        return None
    if not contact.can_sms:
        return "cannot receive texts (landline)"
    if contact.undeliverable:
        return "undeliverable"
    links = list(session.scalars(select(PupilContact).where(PupilContact.contact_id == contact.id)))
    if links and all(link.no_contact for link in links):
        return "no contact with any pupil"
    if case_ids:
        # A text about a child must not reach an adult barred from contact about that child,
        # even if they may be contacted about a sibling.
        pupils = set(session.scalars(select(AbsenceCase.pupil_id).where(
            AbsenceCase.id.in_(list(case_ids)))))
        if any(link.no_contact and link.pupil_id in pupils for link in links):
            return "no contact with a pupil the text is about"
    return None


# -- dispatching -------------------------------------------------------------------------------


@dataclass
class DispatchReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    cancelled: int = 0

    def add(self, outcome: str | None) -> None:
        if outcome is not None:
            setattr(self, outcome, getattr(self, outcome) + 1)

    def __str__(self) -> str:
        return (f"{self.sent} sent, {self.retried} to retry, {self.failed} failed, "
                f"{self.cancelled} cancelled")


def dispatch_due(
    factory: sessionmaker[Session],
    deliverers: Mapping[str, Deliverer],
    *,
    now: datetime,
    max_in_flight: int = 16,
    on_permanent_failure: PermanentFailureHook | None = None,
    max_attempts: int = MAX_ATTEMPTS,
) -> DispatchReport:
    """Deliver every outbox row due at ``now``, until none is left.

    Two lanes run side by side, so a staff alert never waits behind a morning's texts and a
    text never waits behind Slack: SMS rows go out concurrently (each in its own session, up
    to ``max_in_flight``); every other channel goes strictly one at a time in id order on a
    lane of its own, since Slack card edits must apply in order. Safe to run in several
    processes at once on PostgreSQL (rows are claimed with SKIP LOCKED) and to run twice.
    """
    report = DispatchReport()
    others = [channel for channel in deliverers if channel != "sms"]
    width = max(1, max_in_flight)

    def attempt(item_id: int, channel: str) -> str | None:
        return _attempt(factory, deliverers[channel], item_id, now, on_permanent_failure,
                        max_attempts)

    with ThreadPoolExecutor(max_workers=width, thread_name_prefix="outbox-sms") as texts, \
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="outbox-slack") as lane:
        sms: set[Future[str | None]] = set()
        queued: set[Future[str | None]] = set()
        # Rows due later (a retry's back-off) are the next run's: `now` does not move here.
        more = {"sms": "sms" in deliverers, "other": bool(others)}
        while True:
            claimed = False
            # Claim more while a lane has no more than a round's worth queued, so a slow send
            # holds up only its own thread, and a lease never runs out in a queue.
            if more["sms"] and len(sms) <= width:
                batch = _claim(factory, ["sms"], now, limit=BATCH)
                more["sms"] = len(batch) == BATCH  # a short batch: nothing else is due now
                for item_id, channel in batch:
                    sms.add(texts.submit(attempt, item_id, channel))
                    claimed = True
            if more["other"] and len(queued) <= BATCH:
                batch = _claim(factory, others, now, limit=BATCH)
                more["other"] = len(batch) == BATCH
                for item_id, channel in batch:
                    queued.add(lane.submit(attempt, item_id, channel))  # FIFO: id order
                    claimed = True
            if not claimed and not sms and not queued:
                break  # nothing due, nothing going: done
            if sms or queued:
                done, _ = wait(sms | queued, return_when=FIRST_COMPLETED)
                for future in done:
                    report.add(future.result())
                sms -= done
                queued -= done
    return report


def _claim(factory: sessionmaker[Session], channels: list[str], now: datetime, *, limit: int
           ) -> list[tuple[int, str]]:
    """Mark a batch of due rows as ours (status sending, a lease) and commit.

    The claim is a conditional UPDATE that takes only rows still due when it runs, so two
    dispatchers can never both hold a row: PostgreSQL's SKIP LOCKED keeps them off each other's
    rows, and on SQLite (which has no SKIP LOCKED) the second UPDATE, serialised behind the
    first, finds those rows no longer due.
    """
    is_due = or_(and_(OutboxItem.status == "pending", OutboxItem.next_attempt_at <= now),
                 and_(OutboxItem.status == "sending", OutboxItem.claimed_until < now))
    with factory() as session, session.begin():
        due = (select(OutboxItem.id, OutboxItem.channel, OutboxItem.status, OutboxItem.claimed_until)
               .where(OutboxItem.channel.in_(channels), is_due)
               .order_by(OutboxItem.id)
               .limit(limit))
        if session.get_bind().dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True)
        candidates = session.execute(due).all()
        if not candidates:
            return []
        taken = set(session.scalars(
            update(OutboxItem)
            .where(OutboxItem.id.in_([row.id for row in candidates]), is_due)
            .values(status="sending", attempts=OutboxItem.attempts + 1,
                    claimed_until=now + LEASE)
            .returning(OutboxItem.id)
            .execution_options(synchronize_session=False)))
        for row in candidates:
            if row.id in taken and row.status == "sending":
                # Its dispatcher died mid-delivery: the text may have gone. Look before sending.
                item = session.get(OutboxItem, row.id)
                if item is not None:
                    _mark_uncertain(item, (row.claimed_until or now) - LEASE)
                log.warning("outbox %s: re-claimed after an expired lease", row.id)
        return [(row.id, row.channel) for row in candidates if row.id in taken]


def _attempt(
    factory: sessionmaker[Session],
    deliverer: Deliverer,
    item_id: int,
    now: datetime,
    on_permanent_failure: PermanentFailureHook | None,
    max_attempts: int,
) -> str | None:
    """Deliver one claimed row and record the outcome; returns a DispatchReport field name
    (None if another dispatcher took the row over meanwhile)."""
    try:
        with factory() as session, session.begin():
            session.info["now"] = now
            item = session.get(OutboxItem, item_id, with_for_update=True, populate_existing=True)
            if item is None or item.status != "sending":
                return None  # taken over meanwhile; nothing of ours to record
            try:
                result = deliverer.deliver(session, item)
            except DeliveryCancelled as cancelled:
                item.status, item.last_error, item.claimed_until = "cancelled", str(cancelled), None
                log.info("outbox %s: cancelled (%s)", item.id, cancelled)
                _permanent_hook(session, item, TransportError(
                    f"cancelled: {cancelled}", permanent=True), on_permanent_failure)
                return "cancelled"
            except TransportError as error:
                return _failed(session, item, error, now, on_permanent_failure, max_attempts)
            item.status, item.sent_at, item.claimed_until = "sent", now, None
            item.result = {k: v for k, v in (item.result or {}).items()
                           if k != "uncertain_since"} | result
            log.debug("outbox %s: sent%s", item.id, f" as {result['sid']}" if "sid" in result else "")
            return "sent"
    except Exception as exc:  # noqa: BLE001 - recorded on the row below, then bounded by attempts
        # A bug or a database error after the network call: the delivery may have happened,
        # so the next attempt treats it as uncertain. No exception text (it can quote data).
        frames = "".join(traceback.format_tb(exc.__traceback__))
        log.error("outbox %s: %s while delivering\n%s", item_id, type(exc).__name__, frames)
        error = TransportError(f"internal error ({type(exc).__name__})", permanent=False,
                               ambiguous=True)
        with factory() as session, session.begin():
            session.info["now"] = now
            item = session.get(OutboxItem, item_id, with_for_update=True, populate_existing=True)
            if item is None or item.status != "sending":
                return None
            return _failed(session, item, error, now, on_permanent_failure, max_attempts)


def _failed(
    session: Session,
    item: OutboxItem,
    error: TransportError,
    now: datetime,
    on_permanent_failure: PermanentFailureHook | None,
    max_attempts: int,
) -> str:
    item.claimed_until = None
    item.last_error = str(error)
    if not error.permanent and item.attempts < max_attempts:
        if error.ambiguous:
            _mark_uncertain(item, now)
        item.status = "pending"
        item.next_attempt_at = now + backoff(item.attempts, error.retry_after)
        log.info("outbox %s: attempt %s failed (%s); retry at %s", item.id, item.attempts,
                 error, item.next_attempt_at.isoformat())
        return "retried"
    item.status = "failed"
    if not error.permanent:
        item.last_error = f"gave up after {item.attempts} attempts: {error}"
    log.warning("outbox %s: failed (%s)", item.id, item.last_error)
    if item.channel == "sms" and error.permanent:
        _learn_about_number(session, item, error, now)
    _permanent_hook(session, item, error, on_permanent_failure)
    return "failed"


def _learn_about_number(session: Session, item: OutboxItem, error: TransportError,
                        now: datetime) -> None:
    """What a refusal says about the number lasts: never try it again until it changes."""
    payload = item.payload
    if error.code == OPTED_OUT_CODE:
        record_opt_out(session, payload["to"], keyword=f"twilio:{OPTED_OUT_CODE}", now=now)
    if error.code in INVALID_NUMBER_CODES and payload.get("contact_id"):
        contact = session.get(Contact, payload["contact_id"])
        if contact is not None:
            contact.undeliverable = f"Twilio error {error.code}"
            if error.code == NOT_MOBILE_CODE:
                contact.can_sms = False


def _permanent_hook(session: Session, item: OutboxItem, error: TransportError,
                    hook: PermanentFailureHook | None) -> None:
    """The bot's reaction (escalate to the next contact), in the same transaction; if it
    fails, the item's failure is still recorded and the failure of the hook noted on it."""
    if hook is None:
        return
    try:
        with session.begin_nested():
            hook(session, item, error)
    except Exception as exc:  # noqa: BLE001 - noted on the row; the ladder's timers still run
        log.error("outbox %s: on_permanent_failure raised %s", item.id, type(exc).__name__)
        item.last_error = f"{item.last_error}; on_permanent_failure raised {type(exc).__name__}"


def _mark_uncertain(item: OutboxItem, since: datetime) -> None:
    # Keep the earliest uncertain moment: the text may have been created at any attempt since.
    result = dict(item.result or {})
    earlier = result.get("uncertain_since")
    if earlier is None or datetime.fromisoformat(earlier) > since:
        result["uncertain_since"] = since.isoformat()
    item.result = result


def backoff(attempts: int, retry_after: float | None = None) -> timedelta:
    """Delay before attempt ``attempts + 1``: Retry-After when given, else exponential with
    jitter (half to all of the step) so a burst of failures does not retry in lockstep."""
    if retry_after is not None:
        return max(timedelta(seconds=retry_after), timedelta(seconds=1))
    step = min(BACKOFF_BASE * (2 ** max(attempts - 1, 0)), BACKOFF_CAP)
    return max(step * (0.5 + random.random() / 2), timedelta(seconds=1))
