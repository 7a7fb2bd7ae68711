"""What the outbox needs from a channel (SMS, Slack): a deliverer that sends one row and says,
when it cannot, whether trying again could work. The transports (messaging/transport.py,
bot/slack/deliverer.py) raise `TransportError`; the outbox (messaging/outbox.py) decides
retry, give up or look-before-resend from it in one place."""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy.orm import Session

from storage.models import OutboxItem


class TransportError(Exception):
    """A send or look-up that did not work.

    ``permanent``: another try will fail the same way. ``ambiguous``: the request may have
    reached Twilio (a read timeout, a dropped connection, a 5xx), so before sending again the
    caller should look for the text (`SmsTransport.find_sent`).
    """

    def __init__(
        self,
        message: str,
        *,
        permanent: bool,
        code: int | None = None,
        retry_after: float | None = None,
        ambiguous: bool = False,
    ) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.code = code
        self.retry_after = retry_after
        self.ambiguous = ambiguous


class DeliveryCancelled(Exception):
    """Raised by a deliverer when the item must not go out at all (never retried)."""


class Deliverer(Protocol):
    def deliver(self, session: Session, item: OutboxItem) -> dict[str, Any]:
        """Send the item; return what to keep as its result. Raises TransportError (or
        DeliveryCancelled). Runs inside the transaction that records the outcome."""
        ...
