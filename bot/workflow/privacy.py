"""Retention, applied each night: each school's periods (settings `[retention]`) for the
words of texts, the contacts of pupils who left, and the text of Slack cards and notices.
Erasure's Slack side: an erased pupil's cards are redacted at once.

The job runs once per school day and night, after RETENTION_AT school time: the date of the
last run is kept in the database, so `tick` at any later instant (or a worker that was down)
runs it once, and running it again does nothing."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.workflow.cards import refresh_cards
from bot.workflow.school import SchoolContext
from messaging.outbox import enqueue
from storage.models import (
    AbsenceCase,
    DslAlert,
    JobState,
    LeaveRequest,
    OutboxItem,
    OutboxStatus,
    RegisterSweep,
    SlackCard,
    StaffTask,
)
from storage.privacy import expire_leavers, expire_message_bodies

RETENTION_AT = time(2, 30)
_LAST_RUN = "retention:{school_id}"
# Each kind of card and the row its key starts with ("chase:ALERT:STEP:CHANNEL"): every card
# names pupils, so every kind must be here for retention to find it.
_CARD_OWNERS: dict[str, type[AbsenceCase | LeaveRequest | RegisterSweep | DslAlert | StaffTask]] = {
    "case": AbsenceCase,
    "dsl": AbsenceCase,
    "leave": LeaveRequest,
    "sweep": RegisterSweep,
    "chase": DslAlert,
    "textalert": DslAlert,
    "deadlines": StaffTask,
}


@dataclass
class RetentionReport:
    message_bodies: int = 0
    contacts: int = 0
    cards: int = 0
    notices: int = 0

    def __str__(self) -> str:
        return (
            f"retention: {self.message_bodies} text bodies blanked, {self.contacts} leavers' "
            f"contacts erased, {self.cards} cards and {self.notices} notices redacted"
        )


def retention_due(session: Session, ctx: SchoolContext, now: datetime) -> bool:
    local = ctx.local(now)
    if local.time() < RETENTION_AT:
        return False
    last = session.get(JobState, _LAST_RUN.format(school_id=ctx.id))
    return last is None or last.value < local.date().isoformat()


def enforce_retention(session: Session, ctx: SchoolContext, now: datetime) -> RetentionReport:
    """Apply the school's retention periods as of `now`, and record the run."""
    periods = ctx.settings.retention
    report = RetentionReport()
    report.message_bodies = expire_message_bodies(
        session, [ctx.id], now - timedelta(days=periods.message_bodies_days)
    )
    leavers = expire_leavers(
        session, ctx.id, now - timedelta(days=periods.leaver_contacts_days), now=now
    )
    report.contacts = leavers.contacts
    before = now - timedelta(days=periods.slack_text_days)
    report.cards = redact_cards(session, _old_cards(session, ctx.id, before), ctx.id, now)
    report.notices = _redact_notices(session, ctx.id, before, now)
    name = _LAST_RUN.format(school_id=ctx.id)
    row = session.get(JobState, name)
    if row is None:
        session.add(JobState(name=name, value=ctx.today(now).isoformat(), updated_at=now))
    else:
        row.value, row.updated_at = ctx.today(now).isoformat(), now
    return report


def redact_cards(session: Session, keys: Iterable[str], school_id: int, now: datetime) -> int:
    """Mark cards redacted and queue the edit that replaces them in Slack with a stub."""
    keys = list(keys)
    if not keys:
        return 0
    cards = session.execute(
        update(SlackCard)
        .where(SlackCard.key.in_(keys), SlackCard.redacted_at.is_(None))
        .values(redacted_at=now)
        .returning(SlackCard.key, SlackCard.channel)
    ).all()
    refresh_cards(session, [(key, channel) for key, channel in cards], school_id=school_id, now=now)
    return len(cards)


def _old_cards(session: Session, school_id: int, before: datetime) -> list[str]:
    """Keys of this school's cards not touched since `before` and not yet redacted."""
    keys = session.scalars(
        select(SlackCard.key).where(SlackCard.updated_at < before, SlackCard.redacted_at.is_(None))
    ).all()
    ours = []
    for key in keys:
        kind, _, rest = key.partition(":")
        ident = rest.partition(":")[0]
        owner = _CARD_OWNERS.get(kind)
        if owner is None or not ident.isdigit():
            continue
        if session.scalar(select(owner.school_id).where(owner.id == int(ident))) == school_id:
            ours.append(key)
    return ours


def _redact_notices(session: Session, school_id: int, before: datetime, now: datetime) -> int:
    """One-off notices sent before `before`: their text leaves the database and an edit
    replaces them in Slack."""
    count = 0
    for item in session.scalars(
        select(OutboxItem).where(
            OutboxItem.channel == "slack",
            OutboxItem.school_id == school_id,
            OutboxItem.status == OutboxStatus.SENT,
            OutboxItem.sent_at < before,
        )
    ):
        payload, result = item.payload, item.result or {}
        # A notice's facts (names, a parent's words) are worded at send time; older rows
        # carry their text.
        if payload.get("op") != "notice" or not (payload.get("facts") or payload.get("text")):
            continue
        item.payload = {**payload, "facts": {}, "text": ""}
        if result.get("ts") and result.get("channel"):
            enqueue(
                session,
                key=f"slack:redact:{item.id}",
                channel="slack",
                payload={"op": "redact", "channel": result["channel"], "ts": result["ts"]},
                school_id=school_id,
                now=now,
            )
        count += 1
    return count
