"""Slack through the outbox: cards are posted once and then edited; notices are posted once.
Slack's errors are sorted into temporary (retry, honouring Retry-After) and permanent in one
function, so a Slack outage delays alerts but loses none."""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.slack.render import redacted, render_card
from messaging.transport import TransportError
from storage.models import OutboxItem, SlackCard

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
    return TransportError(f"slack unreachable ({type(exc).__name__})", permanent=False)


class SlackDeliverer:
    def __init__(self, client: WebClient) -> None:
        self.client = client

    def deliver(self, session: Session, item: OutboxItem) -> dict[str, Any]:
        payload = item.payload
        try:
            if payload.get("op") == "card":
                return self._card(session, payload)
            if payload.get("op") == "redact":
                text, blocks = redacted()
                self.client.chat_update(
                    channel=payload["channel"], ts=payload["ts"], text=text, blocks=blocks
                )
                return {"ts": payload["ts"], "redacted": True}
            response = self.client.chat_postMessage(
                channel=payload["channel"],
                text=payload["text"],
                blocks=payload.get("blocks") or None,
            )
            return {"ts": response["ts"], "channel": response["channel"]}
        except (SlackApiError, SlackClientError, OSError) as exc:
            raise slack_error(exc) from exc

    def _card(self, session: Session, payload: dict[str, Any]) -> dict[str, Any]:
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
            response = self.client.chat_postMessage(channel=card.channel, text=text, blocks=blocks)
            card.ts, card.channel = response["ts"], response["channel"]
            return {"ts": card.ts, "posted": True}
        self.client.chat_update(channel=card.channel, ts=card.ts, text=text, blocks=blocks)
        return {"ts": card.ts, "updated": True}
