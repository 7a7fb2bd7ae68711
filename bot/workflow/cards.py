"""Slack cards are named (`case:12`, `dsl:12`, `leave:3`...) and rendered when they go out,
from the database as it is then: the workflow only says "this card changed" and the outbox
makes one post, then edits of that same message."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from messaging.outbox import enqueue
from storage.models import SlackCard


def refresh_card(session: Session, *, key: str, channel: str, school_id: int, now: datetime) -> None:
    """Post the card, or edit it if it is already in Slack, with its current content."""
    card = session.scalar(select(SlackCard).where(SlackCard.key == key))
    if card is None:
        card = SlackCard(key=key, channel=channel, version=0, updated_at=now)
        session.add(card)
    card.version += 1
    card.updated_at = now
    session.flush()
    enqueue(session, key=f"slack:{key}:v{card.version}", channel="slack",
            payload={"op": "card", "card": key, "version": card.version}, school_id=school_id, now=now)


def post_notice(session: Session, *, key: str, channel: str, school_id: int, text: str,
                now: datetime, blocks: list[dict[str, Any]] | None = None) -> None:
    """A one-off message (a notice, not a card that changes), sent once per key."""
    enqueue(session, key=f"slack:{key}", channel="slack",
            payload={"op": "notice", "channel": channel, "text": text, "blocks": blocks or []},
            school_id=school_id, now=now)
