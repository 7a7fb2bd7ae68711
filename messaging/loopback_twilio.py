"""Loopback Twilio: a small HTTP server that speaks the parts of Twilio's REST API FirstCall uses.

The real ``twilio`` client is never patched. Tests and the demo point it here instead::

    with LoopbackTwilio() as fake:
        client = Client(fake.account_sid, fake.auth_token)
        client.api.base_url = fake.url  # and unset TWILIO_REGION / TWILIO_EDGE
        client.messages.create(to="+447700900001", from_=fake.phone_number, body="Hi")

It answers ``Messages.json`` create/list/fetch with Twilio's JSON shapes and error bodies, records
what was sent, injects faults (HTTP errors, 429s, slow answers, per-number refusals) and plays
the phone side: inbound texts and status callbacks are POSTed to the app, form-encoded and
signed with ``X-Twilio-Signature`` exactly as Twilio signs them.
"""

from __future__ import annotations

import base64
import hmac
import json
import re
import secrets
import threading
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.message import Message as HeaderMap
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

from twilio.request_validator import RequestValidator

from messaging.config import TwilioSettings
from rules.texts import segments as count_segments

__all__ = ["LoopbackTwilio", "SentMessage", "WebhookDelivery", "count_segments", "sign"]

API_VERSION = "2010-04-01"
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_ROUTE = re.compile(
    r"^/2010-04-01/Accounts/(?P<account>[^/]+)/Messages(?:/(?P<sid>[^/.]+))?\.json$"
)
_DATE_FILTERS = ("DateSent", "DateSent<", "DateSent>")

# The texts Twilio puts in "message" for the codes this fake can produce.
_ERROR_TEXT = {
    20001: "Invalid parameter",
    20003: "Authenticate",
    20004: "Method not allowed",
    20404: "The requested resource was not found",
    20429: "Too Many Requests",
    21211: "Invalid 'To' Phone Number",
    21602: "Message body is required.",
    21603: "A 'From' phone number is required.",
    21604: "A 'To' phone number is required.",
    21610: "Attempt to send to unsubscribed recipient",
    21614: "'To' number is not a valid mobile number",
    21617: "The concatenated message body exceeds the 1600 character limit.",
}


def sign(url: str, params: Mapping[str, str], auth_token: str) -> str:
    """X-Twilio-Signature for a POST of ``params`` to ``url`` (the URL Twilio was set up with)."""
    return RequestValidator(auth_token).compute_signature(url, dict(params))


@dataclass(frozen=True)
class SentMessage:
    """An outbound message Twilio accepted (the 201 path, or an accepted-then-timed-out one)."""

    sid: str
    to: str
    from_: str | None
    messaging_service_sid: str | None
    body: str
    status_callback: str | None
    received_at: datetime


@dataclass(frozen=True)
class WebhookDelivery:
    """One POST this fake made to the app, and how the app answered."""

    url: str
    signed_url: str
    params: dict[str, str]
    signature: str
    status: int
    body: str


@dataclass
class _Message:
    seq: int
    sid: str
    direction: str
    to: str
    from_: str | None
    body: str
    messaging_service_sid: str | None
    status: str
    date_created: datetime
    date_updated: datetime
    date_sent: datetime | None
    status_callback: str | None = None
    error_code: int | None = None


@dataclass(frozen=True)
class _Fault:
    status: int | None = None  # None: a slow answer (timeout injection)
    code: int | None = None
    retry_after: int | None = None
    delay: float = 0.0
    accepted: bool = False
    lose_answer: bool = False  # close the connection instead of answering


@dataclass(frozen=True)
class _Reply:
    status: int
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    drop: bool = False  # close the connection without answering


def _rfc2822(moment: datetime | None) -> str | None:
    # Always UTC "+0000": the SDK parses with email.utils.parsedate, which ignores the offset.
    return None if moment is None else format_datetime(moment.astimezone(UTC))


def _parse_when(value: str) -> date | datetime:
    """A DateSent filter: YYYY-MM-DD (whole days) or ISO 8601 (to the second, UTC if naive)."""
    text = value.strip()
    if len(text) == 10:
        return date.fromisoformat(text)
    moment = datetime.fromisoformat(text)
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def _on_or_after(sent: datetime, bound: date | datetime) -> bool:
    return sent >= bound if isinstance(bound, datetime) else sent.date() >= bound


def _on_or_before(sent: datetime, bound: date | datetime) -> bool:
    return sent <= bound if isinstance(bound, datetime) else sent.date() <= bound


def _country(number: str) -> str:
    # Twilio fills FromCountry/ToCountry (and empty State/City/Zip for UK numbers).
    for prefix, iso in (("+353", "IE"), ("+44", "GB"), ("+1", "US")):
        if number.startswith(prefix):
            return iso
    return ""


class _Server(ThreadingHTTPServer):
    # socketserver's default backlog of 5 refuses connections when sixteen texts go at once;
    # the real API does not.
    request_queue_size = 128
    daemon_threads = True  # a handler stuck in an injected delay must not block shutdown
    fake: LoopbackTwilio


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.0"  # one request per connection: nothing lingers after stop()

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        reply = self.server.fake._handle(self.command, self.path, self.headers, raw)
        if reply.drop:
            self.close_connection = True
            return
        try:
            self.send_response(reply.status)
            for name, value in reply.headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client timed out and left: that is the point of a late answer

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean


class LoopbackTwilio:
    """A loopback Twilio REST API for one account. Thread-safe; start() before use."""

    def __init__(
        self,
        account_sid: str | None = None,
        auth_token: str | None = None,
        *,
        phone_number: str = "+447700900000",
        messaging_service_sid: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.account_sid = account_sid or "AC" + secrets.token_hex(16)
        self.auth_token = auth_token or secrets.token_hex(16)
        self.phone_number = phone_number  # the school's number; default "To" for inbound texts
        self.messaging_service_sid = messaging_service_sid
        self._host, self._port = host, port
        self._clock = clock or (lambda: datetime.now(UTC))
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._messages: list[_Message] = []
        self._sent: list[SentMessage] = []
        self._deliveries: list[WebhookDelivery] = []
        self._requests: list[tuple[str, str]] = []
        self._faults: deque[_Fault] = deque()
        self._refused: dict[str, int] = {}
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------

    def settings(self, public_base_url: str) -> TwilioSettings:
        """FirstCall's Twilio settings for this fake: its account, the school's number, its
        URL as the API, and `public_base_url` as the address webhooks are signed for."""
        return TwilioSettings(
            account_sid=self.account_sid,
            auth_token=self.auth_token,
            from_number=self.phone_number,
            messaging_service_sid=None,
            api_url=self.url,
            public_base_url=public_base_url,
        )

    def start(self) -> Self:
        if self._server is not None:
            raise RuntimeError("already started")
        self._stopping.clear()
        self._server = _Server((self._host, self._port), _Handler)
        self._server.fake = self
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="loopback-twilio",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._stopping.set()  # wakes handlers sleeping in an injected timeout
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        self._server = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL for ``client.api.base_url``, e.g. ``http://127.0.0.1:54321``."""
        if self._server is None:
            raise RuntimeError("not started")
        host, port = self._server.socket.getsockname()[:2]
        return f"http://{host}:{port}"

    # -- what happened ---------------------------------------------------------------------------

    @property
    def sent(self) -> list[SentMessage]:
        with self._lock:
            return list(self._sent)

    @property
    def messages(self) -> list[dict[str, Any]]:
        """Every message resource (outbound and inbound), newest first, as the list API has them."""
        with self._lock:
            return [self._resource(m) for m in self._ordered()]

    @property
    def deliveries(self) -> list[WebhookDelivery]:
        with self._lock:
            return list(self._deliveries)

    @property
    def last_delivery_status(self) -> int | None:
        with self._lock:
            return self._deliveries[-1].status if self._deliveries else None

    @property
    def requests(self) -> list[tuple[str, str]]:
        """(method, path?query) of every API request, e.g. to assert that paging happened."""
        with self._lock:
            return list(self._requests)

    # -- fault injection -------------------------------------------------------------------------

    def fail_next(
        self, n: int = 1, status: int = 500, code: int | None = None, retry_after: int | None = None
    ) -> None:
        """The next ``n`` sends get HTTP ``status`` (429 → code 20429); none is recorded as sent."""
        if code is None:
            code = 20429 if status == 429 else 20500
        with self._lock:
            fault = _Fault(status=status, code=code, retry_after=retry_after)
            self._faults.extend([fault] * n)

    def timeout_next(self, n: int = 1, seconds: float = 1.0, accepted: bool = False) -> None:
        """The next ``n`` sends answer only after ``seconds``; pair with a shorter client timeout.

        ``accepted=False``: Twilio never got the request; the connection is closed with no answer
        and nothing is recorded. ``accepted=True``: the realistic nasty case, where Twilio
        created the message but the answer was lost; it is recorded (and listed) at once and
        answered 201 too late. The app cannot tell the two apart, which is what tests should cover.
        """
        with self._lock:
            self._faults.extend(_Fault(delay=seconds, accepted=accepted) for _ in range(n))

    def lose_answer_next(self, n: int = 1, accepted: bool = False) -> None:
        """The next ``n`` sends get no answer at all: the connection closes at once.

        What a timeout does to the app (the request may or may not have reached Twilio), with
        no clock in it: a client timeout long enough for every ordinary answer, however busy
        the machine, still sees this one fail. ``accepted`` as for `timeout_next`.
        """
        with self._lock:
            self._faults.extend(_Fault(accepted=accepted, lose_answer=True) for _ in range(n))

    def fail_number(self, e164: str, code: int = 21610) -> None:
        """Every send to ``e164`` gets 400 with ``code``.

        21211: invalid number, 21610: recipient texted STOP, 21614: not a mobile.
        """
        with self._lock:
            self._refused[e164] = code

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()
            self._refused.clear()

    # -- the phone side --------------------------------------------------------------------------

    def receive(
        self,
        from_: str,
        body: str,
        to: str | None = None,
        *,
        deliver_to: str | None = None,
        signed_url: str | None = None,
        date_sent: datetime | None = None,
        extra: Mapping[str, str] | None = None,
    ) -> str:
        """A parent texts the school: record an inbound message and POST it to ``deliver_to``.

        The signature is computed over ``signed_url`` (default ``deliver_to``): the app validates
        against its PUBLIC_BASE_URL, which need not be the loopback address posted to. ``extra``
        adds fields such as ``OptOutType``. Returns the MessageSid; the app's answer is in
        ``last_delivery_status`` / ``deliveries``. With ``deliver_to=None`` the webhook is "lost":
        only the list API knows of the reply, which is what reconciliation tests need.
        """
        to = to or self.phone_number
        when = date_sent.astimezone(UTC).replace(microsecond=0) if date_sent else self._now()
        with self._lock:
            service = self.messaging_service_sid
            message = self._store("inbound", to, from_, body, service, "received", when)
        if deliver_to is not None:
            params = {
                "ToCountry": _country(to),
                "ToState": "",
                "ToCity": "",
                "ToZip": "",
                "FromCountry": _country(from_),
                "FromState": "",
                "FromCity": "",
                "FromZip": "",
                "SmsMessageSid": message.sid,
                "SmsSid": message.sid,
                "MessageSid": message.sid,
                "SmsStatus": "received",
                "NumMedia": "0",
                "NumSegments": str(count_segments(body)),
                "AccountSid": self.account_sid,
                "From": from_,
                "To": to,
                "Body": body,
                "ApiVersion": API_VERSION,
            }
            if message.messaging_service_sid:
                params["MessagingServiceSid"] = message.messaging_service_sid
            params.update(extra or {})
            self._deliver(deliver_to, signed_url or deliver_to, params)
        return message.sid

    def send_status(
        self,
        message_sid: str,
        status: str,
        error_code: int | None = None,
        *,
        deliver_to: str | None = None,
        signed_url: str | None = None,
    ) -> int:
        """Set a message's ``status`` and POST a status callback (default: its StatusCallback).

        Returns the app's HTTP status.
        """
        with self._lock:
            message = next((m for m in self._messages if m.sid == message_sid), None)
            if message is None:
                raise KeyError(message_sid)
            message.status, message.error_code = status, error_code
            message.date_updated = self._now()
            url = deliver_to or message.status_callback
            params = {
                "MessageSid": message.sid,
                "SmsSid": message.sid,
                "MessageStatus": status,
                "SmsStatus": status,
                "AccountSid": self.account_sid,
                "From": message.from_ or "",
                "To": message.to,
                "ApiVersion": API_VERSION,
            }
        if url is None:
            raise ValueError(f"{message_sid} has no StatusCallback; pass deliver_to")
        if message.messaging_service_sid:
            params["MessagingServiceSid"] = message.messaging_service_sid
        if error_code is not None:
            params["ErrorCode"] = str(error_code)
        return self._deliver(url, signed_url or url, params).status

    # -- internals -------------------------------------------------------------------------------

    def _now(self) -> datetime:
        # Twilio's timestamps have whole seconds; keeping the same makes DateSent filters honest.
        return self._clock().astimezone(UTC).replace(microsecond=0)

    def _deliver(self, url: str, signed_url: str, params: dict[str, str]) -> WebhookDelivery:
        # Called without the lock: the app may call back into this fake while handling the POST.
        signature = sign(signed_url, params, self.auth_token)
        request = urllib.request.Request(
            url,
            data=urllib.parse.urlencode(params).encode(),
            method="POST",
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Twilio-Signature": signature,
                "I-Twilio-Idempotency-Token": str(uuid.uuid4()),
                "User-Agent": "TwilioProxy/1.1",
            },
        )
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy
        try:
            with opener.open(request, timeout=15) as response:
                status, text = response.status, response.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as error:
            status, text = error.code, error.read().decode("utf-8", "replace")
        delivery = WebhookDelivery(url, signed_url, dict(params), signature, status, text)
        with self._lock:
            self._deliveries.append(delivery)
        return delivery

    def _store(
        self,
        direction: str,
        to: str,
        from_: str | None,
        body: str,
        service: str | None,
        status: str,
        when: datetime,
        callback: str | None = None,
    ) -> _Message:
        message = _Message(
            seq=len(self._messages),
            sid="SM" + secrets.token_hex(16),
            direction=direction,
            to=to,
            from_=from_,
            body=body,
            messaging_service_sid=service,
            status=status,
            date_created=when,
            date_updated=when,
            date_sent=when,
            status_callback=callback,
        )
        self._messages.append(message)
        return message

    def _ordered(self) -> list[_Message]:
        # Twilio lists newest first.
        def key(m: _Message) -> tuple[datetime, int]:
            return (m.date_sent or m.date_created, m.seq)

        return sorted(self._messages, key=key, reverse=True)

    def _resource(self, m: _Message) -> dict[str, Any]:
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{m.sid}.json"
        return {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": m.body,
            "date_created": _rfc2822(m.date_created),
            "date_updated": _rfc2822(m.date_updated),
            "date_sent": _rfc2822(m.date_sent),
            "direction": m.direction,
            "error_code": m.error_code,
            "error_message": None,
            "from": m.from_,
            "messaging_service_sid": m.messaging_service_sid,
            "num_media": "0",
            "num_segments": str(count_segments(m.body)),
            "price": None,
            "price_unit": "USD",
            "sid": m.sid,
            "status": m.status,
            "to": m.to,
            "uri": uri,
            "subresource_uris": {"media": uri.replace(".json", "/Media.json")},
        }

    def _handle(self, method: str, target: str, headers: HeaderMap, raw: bytes) -> _Reply:
        with self._lock:
            self._requests.append((method, target))
        parts = urllib.parse.urlsplit(target)
        route = _ROUTE.match(parts.path)
        if not self._authorised(headers.get("Authorization", "")):
            return _error(401, 20003)
        if route is None or route["account"] != self.account_sid:
            return _error(404, 20404)
        if method == "POST" and route["sid"] is None:
            form = urllib.parse.parse_qs(raw.decode("utf-8"), keep_blank_values=True)
            return self._create({k: v[0] for k, v in form.items()})
        if method == "GET" and route["sid"] is None:
            query = urllib.parse.parse_qs(parts.query, keep_blank_values=True)
            return self._list(parts.path, {k: v[0] for k, v in query.items()})
        if method == "GET":
            with self._lock:
                found = next((m for m in self._messages if m.sid == route["sid"]), None)
                return _json(200, self._resource(found)) if found else _error(404, 20404)
        return _error(405, 20004)

    def _authorised(self, header: str) -> bool:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return hmac.compare_digest(header.encode(), f"Basic {expected}".encode())

    def _create(self, form: dict[str, str]) -> _Reply:
        with self._lock:
            fault = self._faults.popleft() if self._faults else None
        if fault is not None and fault.status is not None:
            wait = fault.retry_after
            extra = (("Retry-After", str(wait)),) if wait is not None else ()
            return _error(fault.status, fault.code or 20500, extra)
        if fault is not None and not fault.accepted:
            self._stopping.wait(fault.delay)
            return _Reply(0, drop=True)

        to, body = form.get("To", ""), form.get("Body", "")
        sender, service = form.get("From") or None, form.get("MessagingServiceSid") or None
        if not to:
            return _error(400, 21604)
        if not (sender or service):
            return _error(400, 21603)
        if not body:
            return _error(400, 21602)
        if len(body) > 1600:
            return _error(400, 21617)
        if not _E164.match(to):
            return _error(400, 21211, message=f"The 'To' number {to} is not a valid phone number.")
        with self._lock:
            refused = self._refused.get(to)
            if refused is not None:
                return _error(400, refused)
            now = self._now()
            message = self._store(
                "outbound-api",
                to,
                sender or self.phone_number,
                body,
                service,
                "queued",
                now,
                form.get("StatusCallback") or None,
            )
            self._sent.append(
                SentMessage(
                    message.sid,
                    to,
                    sender,
                    service,
                    body,
                    message.status_callback,
                    now,
                )
            )
            reply = _json(201, self._resource(message))
        if fault is not None and fault.lose_answer:  # accepted, but the answer is lost
            return _Reply(0, drop=True)
        if fault is not None:  # accepted, but the answer arrives after the client gave up
            self._stopping.wait(fault.delay)
        return reply

    def _list(self, path: str, query: dict[str, str]) -> _Reply:
        try:
            bounds = {name: _parse_when(query[name]) for name in _DATE_FILTERS if name in query}
            page_size = min(max(int(query.get("PageSize", "50")), 1), 1000)
            page = max(int(query.get("Page", "0")), 0)
        except ValueError as exc:
            return _error(400, 20001, message=f"Invalid parameter: {exc}")

        def wanted(m: _Message) -> bool:
            if query.get("To") and m.to != query["To"]:
                return False
            if query.get("From") and m.from_ != query["From"]:
                return False
            sent = m.date_sent
            if sent is None:
                return not bounds
            # "DateSent>" / "DateSent<" are how "DateSent>=" / "DateSent<=" parse: inclusive.
            after, before = bounds.get("DateSent>"), bounds.get("DateSent<")
            on = bounds.get("DateSent")
            if after is not None and not _on_or_after(sent, after):
                return False
            if before is not None and not _on_or_before(sent, before):
                return False
            day = on.date() if isinstance(on, datetime) else on
            return day is None or sent.date() == day

        with self._lock:
            matching = [m for m in self._ordered() if wanted(m)]
            # Tokens anchor on a sid, so messages arriving between page fetches do not shift pages.
            start, token = page * page_size, query.get("PageToken", "")
            anchor = next((i for i, m in enumerate(matching) if m.sid == token[2:]), None)
            if anchor is not None:
                start = anchor + 1 if token.startswith("PA") else max(anchor - page_size, 0)
            records = matching[start : start + page_size]
            resources = [self._resource(m) for m in records]

        filters = {k: query[k] for k in ("To", "From", *_DATE_FILTERS) if k in query}

        def page_uri(number: int, page_token: str | None = None) -> str:
            params = {**filters, "PageSize": str(page_size), "Page": str(number)}
            if page_token:
                params["PageToken"] = page_token
            return f"{path}?{urllib.parse.urlencode(params)}"

        has_next = start + page_size < len(matching)
        return _json(
            200,
            {
                "messages": resources,
                "page": page,
                "page_size": page_size,
                "start": start,
                "end": start + max(len(records) - 1, 0),
                "uri": page_uri(page, query.get("PageToken")),
                "first_page_uri": page_uri(0),
                "next_page_uri": page_uri(page + 1, "PA" + records[-1].sid) if has_next else None,
                "previous_page_uri": (
                    page_uri(page - 1, "PB" + records[0].sid) if page > 0 and records else None
                ),
            },
        )


_Headers = tuple[tuple[str, str], ...]


def _json(status: int, payload: Mapping[str, Any], extra: _Headers = ()) -> _Reply:
    headers = (("Content-Type", "application/json; charset=utf-8"), *extra)
    return _Reply(status, json.dumps(payload).encode(), headers)


def _error(status: int, code: int, extra: _Headers = (), *, message: str | None = None) -> _Reply:
    # Twilio's legacy error body; the SDK turns it into TwilioRestException(.status, .code).
    payload = {
        "code": code,
        "status": status,
        "message": message or _ERROR_TEXT.get(code, "Internal Server Error"),
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
    }
    return _json(status, payload, extra)
