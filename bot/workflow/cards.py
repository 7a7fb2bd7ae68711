"""Slack cards are named (`case:12`, `dsl:12`, `leave:3`...) and rendered when they go out,
from the database as it is then: the workflow only says "this card changed" and the outbox
makes one post, then edits of that same message."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row
from sqlalchemy.orm import Session

from messaging.outbox import Outgoing, enqueue, enqueue_all
from storage.db import upsert
from storage.models import SlackCard


def refresh_card(
    session: Session, *, key: str, channel: str, school_id: int, now: datetime
) -> None:
    """Post the card, or edit it if it is already in Slack, with its current content."""
    refresh_cards(session, [(key, channel)], school_id=school_id, now=now)


def refresh_cards(
    session: Session, cards: Sequence[tuple[str, str]], *, school_id: int, now: datetime
) -> None:
    """`refresh_card` for many (key, channel) at once: a sweep's cards in two statements."""
    wanted = dict(cards)
    if not wanted:
        return
    # Create each card at version 1 or bump its version: one statement, whatever the mix.
    rows = [
        {"key": key, "channel": channel, "version": 1, "updated_at": now}
        for key, channel in wanted.items()
    ]
    versions: list[Row[str, int]] = []
    for start in range(0, len(rows), 500):
        statement = upsert(session, SlackCard).values(rows[start : start + 500])
        statement = statement.on_conflict_do_update(
            index_elements=["key"],
            set_={"version": SlackCard.version + 1, "updated_at": now},
        ).returning(SlackCard.key, SlackCard.version)
        with session.no_autoflush:
            versions += session.execute(statement).all()
    enqueue_all(
        session,
        [
            Outgoing(
                f"slack:{key}:v{version}",
                "slack",
                {"op": "card", "card": key, "version": version},
                school_id,
            )
            for key, version in versions
        ],
        now=now,
    )


def post_notice(
    session: Session,
    *,
    key: str,
    channel: str,
    school_id: int,
    notice: str,
    now: datetime,
    **facts: Any,
) -> None:
    """A one-off message (a notice, not a card that changes), sent once per key. The workflow
    says which notice and its facts; bot/slack/render.py words it when it goes out."""
    enqueue(
        session,
        key=f"slack:{key}",
        channel="slack",
        payload={"op": "notice", "channel": channel, "notice": notice, "facts": facts},
        school_id=school_id,
        now=now,
    )
