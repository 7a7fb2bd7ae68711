"""The parent SMS channel: one interface, one Twilio implementation, one error mapping.

`TwilioTransport` uses the real ``twilio`` client unchanged, pointed at `TwilioSettings.api_url`
(Twilio's, or a loopback fake in tests). Everything it raises is a `TransportError` that says
whether another try could work (`permanent`), and whether Twilio may already have the text
(`ambiguous`), so the outbox decides retry, give up or look-before-resend in one place.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import requests
from requests.adapters import HTTPAdapter
from twilio.base.exceptions import TwilioException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from messaging.config import TwilioSettings
from messaging.delivery import TransportError

# Never processed by Twilio, so always safe to send again (20429: too many requests;
# 21611: the sender's queue is full).
TEMPORARY_CODES = frozenset({20429, 21611})
# The number or the text is wrong, and another try gets the same answer: 21211 invalid To,
# 21408 region not enabled, 21606 From cannot send, 21610 recipient texted STOP, 21612 route
# unavailable, 21614 not a mobile, 21617 body over 1600 characters.
PERMANENT_CODES = frozenset({21211, 21408, 21606, 21610, 21612, 21614, 21617})


@dataclass
class SentText:
    sid: str
    status: str
    segments: int | None
    # Twilio's sender (None until Twilio picks one from a Messaging Service's pool).
    from_: str | None = None


@dataclass
class InboundText:
    sid: str
    from_: str
    to: str
    body: str
    date_sent: datetime | None
    messaging_service_sid: str | None


class SmsTransport(Protocol):
    """What the gateway needs from an SMS provider. Every method raises only TransportError."""

    def send(self, to: str, body: str, *, status_callback: str) -> SentText: ...

    def find_sent(
        self, to: str, body: str, since: datetime, *, exclude: Collection[str] = ()
    ) -> SentText | None: ...

    def list_inbound(self, since: datetime) -> list[InboundText]: ...


def twilio_error(exc: BaseException, *, headers: Mapping[str, str] | None = None) -> TransportError:
    """Sort a twilio or requests exception into temporary or permanent, in one place.

    Messages carry codes, never the phone number or body (Twilio's own text for 21211
    quotes the number, and these messages reach logs and the outbox row).
    """
    if isinstance(exc, requests.ConnectTimeout):
        # The connection never opened, so the request never left: safe to send again.
        return TransportError("Twilio unreachable (connect timeout)", permanent=False)
    if isinstance(exc, requests.ConnectionError) and _refused(exc):
        return TransportError("Twilio unreachable (connection refused)", permanent=False)
    if isinstance(exc, requests.RequestException):
        # A read timeout or a dropped connection after the request went out: Twilio may have
        # created the message and only the answer was lost.
        return TransportError(
            f"no answer from Twilio ({type(exc).__name__})", permanent=False, ambiguous=True
        )
    answer = _page_response(exc)
    if answer is not None or (isinstance(exc, TwilioException) and hasattr(exc, "status")):
        # TwilioRestException (Twilio's legacy error body), TwilioServiceException (RFC 9457),
        # or a list page that failed (the SDK raises a bare TwilioException with the response).
        if answer is not None:
            status, code, headers = answer
        else:
            status = _int(getattr(exc, "status", None)) or 0
            code = _int(getattr(exc, "code", None))
        retry_after = _retry_after(headers)
        text = f"Twilio error {code} (HTTP {status})"
        if status == 429 or code in TEMPORARY_CODES:
            return TransportError(text, permanent=False, code=code, retry_after=retry_after)
        if status >= 500:
            # A 500 or a gateway timeout may come after the message was created.
            return TransportError(
                text, permanent=False, code=code, retry_after=retry_after, ambiguous=True
            )
        return TransportError(text, permanent=True, code=code)
    return TransportError(
        f"Twilio call failed ({type(exc).__name__})", permanent=False, ambiguous=True
    )


def _page_response(exc: BaseException) -> tuple[int, int | None, Mapping[str, str]] | None:
    """(HTTP status, Twilio code, headers) of a failed list page, which the SDK raises as
    ``TwilioException("Unable to fetch page", response)``."""
    if not isinstance(exc, TwilioException) or len(exc.args) < 2:
        return None
    response = exc.args[1]
    if not isinstance(response, Response):
        return None
    try:
        code = _int(json.loads(response.text).get("code"))
    except (ValueError, AttributeError):
        code = None
    return (
        response.status_code,
        code if code is not None else response.status_code,
        response.headers or {},
    )


def _refused(exc: requests.ConnectionError) -> bool:
    reason: BaseException | None = exc
    while reason is not None:
        if isinstance(reason, ConnectionRefusedError):
            return True
        reason = reason.__cause__ or reason.__context__ or _first_arg(reason)
    return False


def _first_arg(exc: BaseException) -> BaseException | None:
    # urllib3 wraps the socket error in MaxRetryError.reason rather than chaining it.
    inner = getattr(exc, "reason", None)
    if isinstance(inner, BaseException) and inner is not exc:
        return inner
    arg = exc.args[0] if exc.args else None
    return arg if isinstance(arg, BaseException) and arg is not exc else None


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Retry-After in seconds. (The HTTP-date form is not honoured: Twilio and Slack send
    seconds, and a date would need the wall clock, which only the caller reads.)"""
    if not headers:
        return None
    raw = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    if raw is None:
        return None
    try:
        return max(float(raw), 0.0)
    except ValueError:
        return None


class _HttpClient(TwilioHttpClient):
    """The SDK's own HTTP client, remembering each thread's last response headers.

    TwilioRestException carries no headers, and Retry-After lives there. A thread-local
    is right because the outbox sends from a pool of threads sharing one client.
    """

    def __init__(self, *, timeout: float, connect_timeout: float, pool_size: int) -> None:
        super().__init__(timeout=timeout)
        # requests takes (connect, read). A dropped SYN is only resent after a second or more,
        # so a short read timeout must not also cut short opening the connection.
        self.timeout = (connect_timeout, timeout)
        self._local = threading.local()
        if self.session is not None:
            # One connection per send in flight; the SDK only sizes the https pool.
            adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_size)
            self.session.mount("https://", adapter)
            self.session.mount("http://", adapter)

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        self._local.headers = None
        response = super().request(method, url, *args, **kwargs)
        self._local.headers = response.headers
        return response

    def last_headers(self) -> Mapping[str, str] | None:
        return getattr(self._local, "headers", None)


class TwilioTransport:
    """Texts through Twilio's Messages API with the real SDK."""

    # Twilio allows up to 1000 records per page; fewer pages means fewer round trips.
    page_size = 200
    # Only this many recent messages to one number are compared when looking for a text.
    find_limit = 200

    def __init__(
        self,
        settings: TwilioSettings,
        *,
        timeout: float = 10.0,
        connect_timeout: float | None = None,
        pool_size: int = 32,
    ) -> None:
        self.settings = settings
        self._http = _HttpClient(
            timeout=timeout,
            connect_timeout=connect_timeout or max(timeout, 3.05),
            pool_size=pool_size,
        )
        self._client = Client(settings.account_sid, settings.auth_token, http_client=self._http)
        # TWILIO_REGION / TWILIO_EDGE in the environment would rewrite the host of every
        # request; the API URL is explicit in our settings and must be used as given.
        self._client.region = None
        self._client.edge = None
        self._client.api.base_url = settings.api_url.rstrip("/")

    def send(self, to: str, body: str, *, status_callback: str) -> SentText:
        sender: dict[str, str] = (
            {"messaging_service_sid": self.settings.messaging_service_sid}
            if self.settings.messaging_service_sid
            else {"from_": self.settings.from_number or ""}
        )
        try:
            message = self._client.messages.create(
                to=to, body=body, status_callback=status_callback, **sender
            )
        except (TwilioException, requests.RequestException) as exc:
            raise twilio_error(exc, headers=self._http.last_headers()) from exc
        return SentText(
            sid=message.sid,
            status=message.status or "queued",
            segments=_int(message.num_segments),
            from_=message.from_ or None,
        )

    def find_sent(
        self, to: str, body: str, since: datetime, *, exclude: Collection[str] = ()
    ) -> SentText | None:
        """The message with this body sent to ``to`` on or after ``since`` (newest first),
        leaving out sids already accounted for, or None."""
        try:
            candidates = self._client.messages.list(
                to=to, date_sent_after=since, limit=self.find_limit, page_size=self.page_size
            )
        except (TwilioException, requests.RequestException) as exc:
            raise twilio_error(exc, headers=self._http.last_headers()) from exc
        for message in candidates:
            if (
                (message.direction or "").startswith("outbound")
                and message.body == body
                and message.sid not in exclude
            ):
                return SentText(
                    sid=message.sid,
                    status=message.status or "queued",
                    segments=_int(message.num_segments),
                    from_=message.from_ or None,
                )
        return None

    def list_inbound(self, since: datetime) -> list[InboundText]:
        """Every inbound text dated on or after ``since``, oldest first, across all pages.

        The SDK writes the filter's wall time with a "Z" whatever its zone, so it is given
        UTC: a London time in summer would otherwise skip the last hour's replies."""
        try:
            found = [
                InboundText(
                    sid=m.sid,
                    from_=m.from_ or "",
                    to=m.to or "",
                    body=m.body or "",
                    date_sent=m.date_sent,
                    messaging_service_sid=m.messaging_service_sid,
                )
                for m in self._client.messages.stream(
                    date_sent_after=since.astimezone(UTC), page_size=self.page_size
                )
                if m.direction == "inbound"
            ]
        except (TwilioException, requests.RequestException) as exc:
            raise twilio_error(exc, headers=self._http.last_headers()) from exc
        epoch = datetime.min.replace(tzinfo=UTC)
        return sorted(found, key=lambda t: t.date_sent or epoch)
