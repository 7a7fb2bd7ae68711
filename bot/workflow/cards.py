"""Slack cards are named (`case:12`, `dsl:12`, `leave:3`...) and rendered when they go out,
from the database as it is then: the workflow only says "this card changed" and the outbox
makes one post, then edits of that same message."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from messaging.outbox import enqueue
from storage.db import upsert
from storage.models import SlackCard


def refresh_card(session: Session, *, key: str, channel: str, school_id: int, now: datetime) -> None:
    """Post the card, or edit it if it is already in Slack, with its current content."""
    # One round trip: create the card at version 1 or bump its version.
    bump = (upsert(session, SlackCard)
            .values(key=key, channel=channel, version=1, updated_at=now)
            .on_conflict_do_update(index_elements=["key"],
                                   set_={"version": SlackCard.version + 1, "updated_at": now})
            .returning(SlackCard.version))
    with session.no_autoflush:
        version = session.execute(bump).scalar_one()
    enqueue(session, key=f"slack:{key}:v{version}", channel="slack",
            payload={"op": "card", "card": key, "version": version}, school_id=school_id, now=now)


def post_notice(session: Session, *, key: str, channel: str, school_id: int, text: str,
                now: datetime, blocks: list[dict[str, Any]] | None = None) -> None:
    """A one-off message (a notice, not a card that changes), sent once per key."""
    enqueue(session, key=f"slack:{key}", channel="slack",
            payload={"op": "notice", "channel": channel, "text": text, "blocks": blocks or []},
            school_id=school_id, now=now)
