"""Slack through the outbox: cards are posted once and then edited; notices are posted once.
Slack's errors are sorted into temporary (retry, honouring Retry-After) and permanent in one
function, so a Slack outage delays alerts but loses none.

A post is idempotent across a lost connection: each carries its outbox key in Slack's message
metadata, and an attempt after one whose outcome is unknown (the connection dropped, the
database went away before the answer was recorded, a dispatcher died) first looks in the
channel's recent history for that key and adopts the message it finds."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.slack.render import redacted, render_card, render_notice
from messaging.delivery import TransportError
from storage.models import OutboxItem, SlackCard

METADATA_EVENT = "firstcall_post"
# How far before an uncertain attempt to look back in a channel's history (clock difference).
FIND_MARGIN = timedelta(minutes=10)

# Errors that another try will not fix: configuration, not weather.
PERMANENT = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "invalid_auth",
        "account_inactive",
        "token_revoked",
        "no_permission",
        "missing_scope",
        "invalid_blocks",
        "msg_too_long",
        "cant_update_message",
        "not_authed",
    }
)


def slack_error(exc: Exception) -> TransportError:
    if isinstance(exc, SlackApiError):
        response = exc.response
        error = str(response.get("error", "")) if response is not None else ""
        status = getattr(response, "status_code", 0)
        if status == 429:
            retry = response.headers.get("Retry-After") or response.headers.get("retry-after")
            return TransportError(
                f"slack rate limited ({error})",
                permanent=False,
                code=429,
                retry_after=float(retry) if retry else None,
            )
        if status >= 500:
            return TransportError(f"slack {status} ({error})", permanent=False, code=status)
        return TransportError(f"slack error {error}", permanent=error in PERMANENT, code=status)
    # The request may have reached Slack (a dropped connection, a read timeout): ambiguous.
    return TransportError(
        f"slack unreachable ({type(exc).__name__})", permanent=False, ambiguous=True
    )


def _uncertain_since(items: list[OutboxItem]) -> datetime | None:
    """The earliest moment an attempt of these rows may have posted without our knowing."""
    marks = [
        datetime.fromisoformat(i.result["uncertain_since"])
        for i in items
        if (i.result or {}).get("uncertain_since")
    ]
    return min(marks, default=None)


class SlackDeliverer:
    def __init__(self, client: WebClient) -> None:
        self.client = client

    def deliver(self, session: Session, item: OutboxItem) -> dict[str, Any]:
        payload = item.payload
        try:
            if payload.get("op") == "card":
                return self._card(session, item)
            if payload.get("op") == "redact":
                text, blocks = redacted()
                self.client.chat_update(
                    channel=payload["channel"], ts=payload["ts"], text=text, blocks=blocks
                )
                return {"ts": payload["ts"], "redacted": True}
            # Rows queued before notices were worded at send time carry their text.
            text = (
                render_notice(payload["notice"], payload.get("facts") or {})
                if "notice" in payload
                else payload["text"]
            )
            return self._post(
                _uncertain_since([item]), item.key, channel=payload["channel"], text=text
            )
        except (SlackApiError, SlackClientError, OSError) as exc:
            raise slack_error(exc) from exc

    def _post(self, uncertain: datetime | None, key: str, **message: Any) -> dict[str, Any]:
        """chat.postMessage, once: after an attempt whose outcome is unknown (`uncertain`,
        when it began), the message it posted is found by its key and adopted instead."""
        if uncertain is not None:
            found = self._find_posted(message["channel"], key, uncertain - FIND_MARGIN)
            if found is not None:
                return {"ts": found, "channel": message["channel"], "adopted": True}
        response = self.client.chat_postMessage(
            **message, metadata={"event_type": METADATA_EVENT, "event_payload": {"key": key}}
        )
        return {"ts": response["ts"], "channel": response["channel"]}

    def _find_posted(self, channel: str, key: str, since: datetime) -> str | None:
        """The ts of a message in `channel` since `since` carrying `key`, or None."""
        response = self.client.conversations_history(
            channel=channel, oldest=f"{since.timestamp():.6f}", include_all_metadata=True, limit=200
        )
        for message in response.get("messages") or []:
            metadata = message.get("metadata") or {}
            if (
                metadata.get("event_type") == METADATA_EVENT
                and (metadata.get("event_payload") or {}).get("key") == key
            ):
                return message.get("ts")
        return None

    def _card(self, session: Session, item: OutboxItem) -> dict[str, Any]:
        payload = item.payload
        card = session.scalar(
            select(SlackCard).where(SlackCard.key == payload["card"]).with_for_update()
        )
        if card is None:
            return {"skipped": "no such card"}
        if card.version > payload.get("version", card.version):
            # A newer version is queued and will show the latest state: one edit, not two.
            return {"skipped": "superseded", "version": card.version}
        rendered = redacted() if card.redacted_at else render_card(session, card.key)
        if rendered is None:
            return {"skipped": "gone"}
        text, blocks = rendered
        if card.ts is None:
            # Every version of a card has its own outbox row: the card's key is what it is
            # found by, whichever version's attempt posted it.
            # Any version's attempt may have posted it (an earlier one since superseded).
            attempts = session.scalars(
                select(OutboxItem).where(OutboxItem.key.like(f"slack:{card.key}:v%"))
            )
            posted = self._post(
                _uncertain_since([item, *attempts]),
                f"card:{card.key}",
                channel=card.channel,
                text=text,
                blocks=blocks,
            )
            card.ts, card.channel = posted["ts"], posted["channel"]
            return {**posted, "posted": True}
        self.client.chat_update(channel=card.channel, ts=card.ts, text=text, blocks=blocks)
        return {"ts": card.ts, "updated": True}
