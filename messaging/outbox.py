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
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from messaging.delivery import Deliverer, DeliveryCancelled, TransportError
from messaging.optout import record_opt_out
from messaging.sms_deliverer import Outbound, SmsDeliverer
from messaging.transport import SentText
from rules.settings import SettingsError
from rules.texts import segments
from storage.db import upsert
from storage.models import Contact, OutboxItem, OutboxStatus, School
from storage.schools import settings_for

log = logging.getLogger(__name__)

# A claimed row whose dispatcher has not finished by then is presumed crashed and re-claimed
# (as "maybe sent"). Far longer than any one delivery: the Twilio timeout is seconds.
LEASE = timedelta(minutes=5)
BATCH = 64
MAX_ATTEMPTS = 10
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(minutes=15)
# Twilio codes that say something lasting about the number itself.
OPTED_OUT_CODE = 21610
INVALID_NUMBER_CODES = frozenset({21211, 21614})
NOT_MOBILE_CODE = 21614

PermanentFailureHook = Callable[[Session, OutboxItem, TransportError], None]


# -- enqueueing --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outgoing:
    """A row to put in the outbox: what `enqueue` and `enqueue_all` take."""

    key: str
    channel: str
    payload: dict[str, Any]
    school_id: int | None

    def values(self, now: datetime) -> dict[str, Any]:
        return {
            "key": self.key,
            "channel": self.channel,
            "school_id": self.school_id,
            "payload": self.payload,
            "status": OutboxStatus.PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "result": {},
            "created_at": now,
        }


def sms(
    *,
    key: str,
    school_id: int,
    contact_id: int | None,
    to: str,
    body: str,
    kind: str,
    case_ids: Sequence[int] = (),
) -> Outgoing:
    return Outgoing(
        key,
        "sms",
        {
            "to": to,
            "body": body,
            "contact_id": contact_id,
            "kind": kind,
            "case_ids": list(case_ids),
            "segments": segments(body),
        },
        school_id,
    )


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
    statement = (
        upsert(session, OutboxItem)
        .values(Outgoing(key, channel, payload, school_id).values(now))
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(OutboxItem)
    )
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
        chunk = unique[start : start + 500]
        statement = (
            upsert(session, OutboxItem)
            .values([row.values(now) for row in chunk])
            .on_conflict_do_nothing(index_elements=["key"])
        )
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
    row = sms(
        key=key,
        school_id=school_id,
        contact_id=contact_id,
        to=to,
        body=body,
        kind=kind,
        case_ids=case_ids,
    )
    return enqueue(
        session,
        key=row.key,
        channel=row.channel,
        payload=row.payload,
        school_id=row.school_id,
        now=now,
    )


# -- dispatching -------------------------------------------------------------------------------


@dataclass
class DispatchReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    cancelled: int = 0
    # The texts' share of the counts above (None when texts were not dispatched): whether
    # Twilio is taking texts, whatever Slack is doing.
    texts: DispatchReport | None = field(default=None, compare=False, repr=False)

    def add(self, outcome: str | None) -> None:
        if outcome is not None:
            setattr(self, outcome, getattr(self, outcome) + 1)

    def merge(self, other: DispatchReport) -> None:
        self.sent += other.sent
        self.retried += other.retried
        self.failed += other.failed
        self.cancelled += other.cancelled

    def __str__(self) -> str:
        return (
            f"{self.sent} sent, {self.retried} to retry, {self.failed} failed, "
            f"{self.cancelled} cancelled"
        )


def dispatch_due(
    factory: sessionmaker[Session],
    deliverers: Mapping[str, Deliverer | SmsDeliverer],
    *,
    now: datetime,
    max_in_flight: int = 16,
    on_permanent_failure: PermanentFailureHook | None = None,
    max_attempts: int = MAX_ATTEMPTS,
) -> DispatchReport:
    """Deliver every outbox row due at ``now``, until none is left.

    Lanes run side by side, so a staff alert never waits behind a morning's texts and a text
    never waits behind Slack: SMS rows go out concurrently (up to ``max_in_flight`` at once);
    every other channel strictly one at a time in id order, since Slack card edits must apply
    in order. An `SmsDeliverer` works in batches: a few statements to check a batch before
    sending and one transaction to record it after. Safe to run in several processes at once
    (rows are claimed by a conditional UPDATE, with SKIP LOCKED on PostgreSQL) and twice.
    """
    sms = deliverers.get("sms")
    if sms is not None and not isinstance(sms, SmsDeliverer):
        raise TypeError("the sms channel is delivered by an SmsDeliverer")
    others: dict[str, Deliverer] = {
        channel: deliverer
        for channel, deliverer in deliverers.items()
        if channel != "sms" and not isinstance(deliverer, SmsDeliverer)
    }
    report = DispatchReport()
    run = _Run(factory, now, on_permanent_failure, max_attempts)
    with (
        ThreadPoolExecutor(
            max_workers=max(1, max_in_flight), thread_name_prefix="outbox-send"
        ) as sends,
        ThreadPoolExecutor(max_workers=SMS_LANES + 1, thread_name_prefix="outbox-lane") as lanes,
    ):
        texting: list[Future[DispatchReport]] = []
        if sms is not None:
            # Two batches in hand at once: one sending while the other is checked or recorded.
            texting = [
                lanes.submit(_batched_lane, run, sms, sends, max_in_flight)
                for _ in range(SMS_LANES)
            ]
            report.texts = DispatchReport()
        posting = lanes.submit(_serial_lane, run, others, list(others)) if others else None
        for lane in texting:
            done = lane.result()
            report.merge(done)
            if report.texts is not None:
                report.texts.merge(done)
        if posting is not None:
            report.merge(posting.result())
    return report


SMS_LANES = 2


@dataclass(frozen=True)
class _Run:
    """What every lane of one dispatch run shares."""

    factory: sessionmaker[Session]
    now: datetime
    hook: PermanentFailureHook | None
    max_attempts: int


def _batched_lane(
    run: _Run, deliverer: SmsDeliverer, sends: ThreadPoolExecutor, width: int
) -> DispatchReport:
    report = DispatchReport()
    batch = max(width * 2, 8)
    more = True
    while more:
        claimed, more = _claim(run.factory, ["sms"], run.now, limit=batch)
        for outcome in _sms_batch(run, deliverer, [item_id for item_id, _ in claimed], sends):
            report.add(outcome)
    return report


def _sms_batch(
    run: _Run, deliverer: SmsDeliverer, ids: list[int], sends: ThreadPoolExecutor
) -> list[str | None]:
    """Check, send and record one claimed batch. If checking or recording fails (the database
    went away), the rows stay claimed; when the lease runs out they are claimed again as
    "maybe sent", and Twilio is asked before anything is sent twice."""
    if not ids:
        return []
    try:
        with run.factory() as session:
            items = list(session.scalars(select(OutboxItem).where(OutboxItem.id.in_(ids))))
            plans = deliverer.plan(session, [i for i in items if i.status == OutboxStatus.SENDING])
    except Exception as exc:  # noqa: BLE001 - the lease brings the rows back
        log.error(
            "outbox: %s while checking a batch of %s; left to its lease",
            type(exc).__name__,
            len(ids),
        )
        return []
    sending = {
        sends.submit(deliverer.transmit, plan): item_id
        for item_id, plan in plans.items()
        if isinstance(plan, Outbound)
    }
    outcomes: dict[int, tuple[SentText, bool] | Exception] = {}
    for future, item_id in sending.items():
        try:
            outcomes[item_id] = future.result()
        except Exception as exc:  # noqa: BLE001 - each is recorded on its row below
            outcomes[item_id] = exc
    try:
        with run.factory() as session, session.begin():
            rows = session.scalars(
                select(OutboxItem)
                .where(OutboxItem.id.in_(list(plans)))
                .order_by(OutboxItem.id)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
            return [
                _outcome(session, run, deliverer, item, plans[item.id], outcomes.get(item.id))
                for item in rows
            ]
    except Exception as exc:  # noqa: BLE001 - the lease brings the rows back, as "maybe sent"
        log.error(
            "outbox: %s while recording a batch of %s; left to its lease",
            type(exc).__name__,
            len(ids),
        )
        return []


def _outcome(
    session: Session,
    run: _Run,
    deliverer: SmsDeliverer,
    item: OutboxItem,
    plan: Outbound | DeliveryCancelled,
    outcome: tuple[SentText, bool] | Exception | None,
) -> str | None:
    if item.status != OutboxStatus.SENDING:
        return None  # taken over meanwhile; nothing of ours to record
    if isinstance(plan, DeliveryCancelled):
        return _cancelled(session, run, item, plan)
    if isinstance(outcome, TransportError):
        return _failed(session, item, outcome, run.now, run.hook, run.max_attempts)
    if isinstance(outcome, Exception):
        return _failed(
            session, item, _internal(item.id, outcome), run.now, run.hook, run.max_attempts
        )
    if outcome is None:
        # Every planned text is submitted above, so only a bug here leaves one without.
        raise RuntimeError(f"outbox {item.id}: a planned text has no send outcome")
    sent, adopted = outcome
    return _sent(item, deliverer.record(session, item, sent, adopted, run.now), run.now)


def _serial_lane(
    run: _Run, deliverers: Mapping[str, Deliverer], channels: list[str]
) -> DispatchReport:
    report = DispatchReport()
    more = True
    while more:
        claimed, more = _claim(run.factory, channels, run.now, limit=BATCH)
        for item_id, channel in claimed:  # in id order, one at a time
            report.add(_attempt(run, deliverers[channel], item_id))
    return report


def _claim(
    factory: sessionmaker[Session], channels: list[str], now: datetime, *, limit: int
) -> tuple[list[tuple[int, str]], bool]:
    """Mark a batch of due rows as ours (status sending, a lease) and commit. Returns the
    rows taken and whether more may be due.

    The claim is a conditional UPDATE that takes only rows still due when it runs, so two
    dispatchers can never both hold a row: PostgreSQL's SKIP LOCKED keeps them off each other's
    rows, and on SQLite (which has no SKIP LOCKED) the second UPDATE, serialised behind the
    first, finds those rows no longer due.

    More may be due only if the batch looked at was full. A batch we took less of, or none
    of, because another dispatcher took its rows, says nothing about the rows after it: the
    lane that stopped on such a short batch left rows due at `now` for the next run.
    """
    is_due = or_(
        and_(OutboxItem.status == OutboxStatus.PENDING, OutboxItem.next_attempt_at <= now),
        and_(OutboxItem.status == OutboxStatus.SENDING, OutboxItem.claimed_until < now),
    )
    with factory() as session, session.begin():
        due = (
            select(OutboxItem.id, OutboxItem.channel, OutboxItem.status, OutboxItem.claimed_until)
            .where(OutboxItem.channel.in_(channels), is_due)
            .order_by(OutboxItem.id)
            .limit(limit)
        )
        if session.get_bind().dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True)
        candidates = session.execute(due).all()
        more = len(candidates) == limit
        if not candidates:
            return [], more
        taken = set(
            session.scalars(
                update(OutboxItem)
                .where(OutboxItem.id.in_([row.id for row in candidates]), is_due)
                .values(
                    status=OutboxStatus.SENDING,
                    attempts=OutboxItem.attempts + 1,
                    claimed_until=now + LEASE,
                )
                .returning(OutboxItem.id)
                .execution_options(synchronize_session=False)
            )
        )
        for row in candidates:
            if row.id in taken and row.status == OutboxStatus.SENDING:
                # Its dispatcher died mid-delivery: the text may have gone. Look before sending.
                item = session.get(OutboxItem, row.id)
                if item is not None:
                    _mark_uncertain(item, (row.claimed_until or now) - LEASE)
                log.warning("outbox %s: re-claimed after an expired lease", row.id)
        return [(row.id, row.channel) for row in candidates if row.id in taken], more


def adopt_orphans(factory: sessionmaker[Session], now: datetime) -> int:
    """A new leader's first act. Only the leader dispatches, so every row still claimed
    belongs to a dispatcher that is gone: make each due now as "maybe sent" rather than wait
    out its lease. Its next attempt asks Twilio (or Slack) whether it already went, and
    adopts it if so, before sending anything. Returns how many rows were adopted."""
    with factory() as session, session.begin():
        orphans = list(
            session.scalars(
                select(OutboxItem)
                .where(OutboxItem.status == OutboxStatus.SENDING)
                .with_for_update()
            )
        )
        for item in orphans:
            _mark_uncertain(item, (item.claimed_until or now) - LEASE)
            item.status, item.next_attempt_at = OutboxStatus.PENDING, now
            item.claimed_until = None
            log.warning("outbox %s: claimed by a dispatcher that is gone; due now", item.id)
        return len(orphans)


def _attempt(run: _Run, deliverer: Deliverer, item_id: int) -> str | None:
    """Deliver one claimed row and record the outcome; returns a DispatchReport field name
    (None if another dispatcher took the row over meanwhile)."""
    try:
        with run.factory() as session, session.begin():
            item = session.get(OutboxItem, item_id, with_for_update=True, populate_existing=True)
            if item is None or item.status != OutboxStatus.SENDING:
                return None  # taken over meanwhile; nothing of ours to record
            try:
                result = deliverer.deliver(session, item)
            except DeliveryCancelled as cancelled:
                return _cancelled(session, run, item, cancelled)
            except TransportError as error:
                return _failed(session, item, error, run.now, run.hook, run.max_attempts)
            return _sent(item, result, run.now)
    except Exception as exc:  # noqa: BLE001 - recorded on the row below, then bounded by attempts
        internal = _internal(item_id, exc)
        with run.factory() as session, session.begin():
            item = session.get(OutboxItem, item_id, with_for_update=True, populate_existing=True)
            if item is None or item.status != OutboxStatus.SENDING:
                return None
            return _failed(session, item, internal, run.now, run.hook, run.max_attempts)


def _sent(item: OutboxItem, result: dict[str, Any], now: datetime) -> str:
    item.status, item.sent_at, item.claimed_until = OutboxStatus.SENT, now, None
    item.result = {k: v for k, v in (item.result or {}).items() if k != "uncertain_since"} | result
    log.debug("outbox %s: sent%s", item.id, f" as {result['sid']}" if "sid" in result else "")
    return "sent"


def _cancelled(session: Session, run: _Run, item: OutboxItem, cancelled: DeliveryCancelled) -> str:
    item.status, item.last_error, item.claimed_until = (
        OutboxStatus.CANCELLED,
        str(cancelled),
        None,
    )
    log.info("outbox %s: cancelled (%s)", item.id, cancelled)
    _permanent_hook(
        session, item, TransportError(f"cancelled: {cancelled}", permanent=True), run.hook
    )
    return "cancelled"


def _internal(item_id: int, exc: BaseException) -> TransportError:
    """A bug or a database error after the network call: the delivery may have happened, so
    the next attempt treats it as uncertain. No exception text (it can quote data)."""
    frames = "".join(traceback.format_tb(exc.__traceback__))
    log.error("outbox %s: %s while delivering\n%s", item_id, type(exc).__name__, frames)
    return TransportError(f"internal error ({type(exc).__name__})", permanent=False, ambiguous=True)


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
    retry_at = now + backoff(item.attempts, error.retry_after)
    deadline = retry_deadline(session, item)
    if not error.permanent and (
        item.attempts < max_attempts or (deadline is not None and retry_at <= deadline)
    ):
        if error.ambiguous:
            _mark_uncertain(item, now)
        item.status = OutboxStatus.PENDING
        item.next_attempt_at = retry_at
        log.info(
            "outbox %s: attempt %s failed (%s); retry at %s",
            item.id,
            item.attempts,
            error,
            item.next_attempt_at.isoformat(),
        )
        return "retried"
    item.status = OutboxStatus.FAILED
    if not error.permanent:
        item.last_error = f"gave up after {item.attempts} attempts: {error}"
    log.warning("outbox %s: failed (%s)", item.id, item.last_error)
    if item.channel == "sms" and error.permanent:
        _learn_about_number(session, item, error, now)
    _permanent_hook(session, item, error, on_permanent_failure)
    return "failed"


def retry_deadline(session: Session, item: OutboxItem) -> datetime | None:
    """Until when a text keeps being retried: the end of the school day it was queued on (its
    school's `texts_until`), so an outage of hours loses nothing. None for anything else."""
    if item.channel != "sms" or item.school_id is None:
        return None
    school = session.get(School, item.school_id)
    try:
        settings = settings_for(school) if school is not None else None
    except SettingsError:
        return None
    if settings is None:
        return None
    day = item.created_at.astimezone(settings.tz).date()
    return datetime.combine(day, settings.policy.texts_until, tzinfo=settings.tz)


def _learn_about_number(
    session: Session, item: OutboxItem, error: TransportError, now: datetime
) -> None:
    """What a refusal says about the number lasts: never try it again until it changes."""
    payload = item.payload
    if error.code == OPTED_OUT_CODE:
        record_opt_out(session, payload["to"], keyword=f"twilio:{OPTED_OUT_CODE}", now=now)
    if error.code in INVALID_NUMBER_CODES and payload.get("contact_id"):
        contact = session.get(Contact, payload["contact_id"])
        if contact is not None:
            contact.undeliverable = f"Twilio error {error.code}"
            contact.undeliverable_at = now
            if error.code == NOT_MOBILE_CODE:
                contact.can_sms = False


def _permanent_hook(
    session: Session, item: OutboxItem, error: TransportError, hook: PermanentFailureHook | None
) -> None:
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


def cancel_queued_texts(
    session: Session, school_id: int, case_ids: Sequence[int], kinds: Sequence[str], why: str
) -> int:
    """Cancel the texts of these kinds still waiting to go (not yet claimed for sending)
    whose cases are all among `case_ids`: a text naming a sibling who is still absent goes.
    Returns how many were cancelled."""
    ended = set(case_ids)
    if not ended:
        return 0
    cancelled = 0
    # A case's texts end their key with its case ids ("sms:STEP:CONTACT:12-15"): the key
    # narrows the look in SQL, so a reply does not load every pending text of the school
    # (hundreds after a sweep or during an outage); the payload decides.
    names_a_case = or_(
        *(
            OutboxItem.key.like(pattern)
            for cid in ended
            for pattern in (f"%:{cid}", f"%:{cid}-%", f"%-{cid}", f"%-{cid}-%")
        )
    )
    for item in session.scalars(
        select(OutboxItem).where(
            OutboxItem.school_id == school_id,
            OutboxItem.channel == "sms",
            OutboxItem.status == OutboxStatus.PENDING,
            names_a_case,
        )
    ):
        ids = set(item.payload.get("case_ids") or [])
        if item.payload.get("kind") in kinds and ids and ids <= ended:
            item.status, item.last_error = OutboxStatus.CANCELLED, why
            cancelled += 1
    return cancelled
