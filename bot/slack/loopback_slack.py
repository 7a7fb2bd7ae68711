"""Loopback Slack: a small HTTP server that speaks the Slack Web API methods FirstCall uses.

slack_sdk and slack_bolt are never patched. Tests and the demo point them here instead::

    with LoopbackSlack() as fake:
        client = WebClient(token=fake.bot_token, base_url=fake.url)
        app = App(client=client, signing_secret=fake.signing_secret)  # App calls auth.test

It answers Web API calls (JSON or form bodies, Bearer token) with Slack's ``{"ok": ...}``
shapes, records posts/updates and what Bolt's ``respond()`` sends to response URLs, injects
429s and server errors, and builds slash-command and button requests signed the way Slack
signs them, so the app's own signature check runs for real.
"""

from __future__ import annotations

import contextlib
import hmac
import itertools
import json
import re
import secrets
import threading
import time
import urllib.parse
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from email.message import Message as HeaderMap
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

from slack_sdk.signature import SignatureVerifier

__all__ = [
    "LoopbackSlack",
    "ResponseUrlPost",
    "SlackCall",
    "SlackMessage",
    "sign",
    "signed_headers",
]

_METHOD = re.compile(r"^/(?:api/)?(?P<method>[a-zA-Z]+(?:\.[a-zA-Z]+)+)$")
_RESPONSE_URL = re.compile(r"^/response_url/(?P<id>[^/]+)$")
_JSON_FIELDS = ("blocks", "attachments", "metadata")  # sent as JSON strings inside form bodies


def sign(body: bytes | str, timestamp: int, secret: str) -> str:
    """X-Slack-Signature: ``v0=`` + hex HMAC-SHA256 of ``v0:{timestamp}:{body}``."""
    signature = SignatureVerifier(secret).generate_signature(timestamp=str(timestamp), body=body)
    assert signature is not None  # only None when timestamp is None
    return signature


def signed_headers(body: bytes | str, timestamp: int, secret: str) -> dict[str, str]:
    """The headers Slack sends with a form-encoded request to the app."""
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": str(timestamp),
        "X-Slack-Signature": sign(body, timestamp, secret),
    }


@dataclass(frozen=True)
class SlackCall:
    """One Web API request: its method, decoded parameters, and what the fake answered."""

    method: str
    params: dict[str, Any]
    status: int
    error: str | None  # None when the answer was ok


@dataclass
class SlackMessage:
    """A message as it currently stands in a channel (chat.update replaces text/blocks)."""

    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]] | None
    thread_ts: str | None
    updates: int = 0
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ResponseUrlPost:
    """What a listener's ``respond()`` sent to a response URL."""

    id: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class _Fault:
    status: int
    error: str
    retry_after: int | None
    method: str | None


_LOST = -1  # status for "did the work, then the connection dropped before the answer"


class _ApiError(Exception):
    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


class _Server(ThreadingHTTPServer):
    # socketserver's default backlog of 5 refuses connections when sixteen texts go at once;
    # the real API does not.
    request_queue_size = 128
    daemon_threads = True
    fake: LoopbackSlack


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
        status, body, headers = self.server.fake._handle(self.path, self.headers, raw)
        if status == _LOST:
            self.close_connection = True  # the call happened; its answer never arrives
            return
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean


class LoopbackSlack:
    """A loopback Slack workspace with one bot. Thread-safe; start() before use."""

    def __init__(
        self,
        *,
        bot_token: str = "xoxb-firstcall-loopback",
        signing_secret: str | None = None,
        team_id: str = "T0FIRSTCL",
        team_domain: str = "firstcall-loopback",
        bot_user_id: str = "U0FCBOT01",
        bot_id: str = "B0FCBOT01",
        api_app_id: str = "A0FCAPP01",
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.bot_token = bot_token
        self.signing_secret = signing_secret or secrets.token_hex(16)
        self.team_id, self.team_domain = team_id, team_domain
        self.bot_user_id, self.bot_id, self.api_app_id = bot_user_id, bot_id, api_app_id
        self._host, self._port, self._clock = host, port, clock
        self._lock = threading.Lock()
        self._calls: list[SlackCall] = []
        self._messages: dict[str, list[SlackMessage]] = {}
        self._responses: list[ResponseUrlPost] = []
        self._users: dict[str, dict[str, Any]] = {}
        self._views: list[dict[str, Any]] = []
        self._faults: deque[_Fault] = deque()
        self._last_ts = 0
        self._ids = itertools.count(1)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> Self:
        if self._server is not None:
            raise RuntimeError("already started")
        self._server = _Server((self._host, self._port), _Handler)
        self._server.fake = self
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="loopback-slack",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
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
    def root(self) -> str:
        if self._server is None:
            raise RuntimeError("not started")
        host, port = self._server.socket.getsockname()[:2]
        return f"http://{host}:{port}"

    @property
    def url(self) -> str:
        """``base_url`` for WebClient; ends with "/" as WebClient joins method names onto it."""
        return self.root + "/api/"

    def response_url(self, id: str) -> str:
        return f"{self.root}/response_url/{id}"

    # -- what happened ---------------------------------------------------------------------------

    @property
    def calls(self) -> list[SlackCall]:
        with self._lock:
            return list(self._calls)

    @property
    def messages(self) -> dict[str, list[SlackMessage]]:
        """channel → its messages as they stand now, oldest first (copies)."""
        with self._lock:
            return {ch: [replace(m) for m in msgs] for ch, msgs in self._messages.items()}

    @property
    def responses(self) -> list[ResponseUrlPost]:
        with self._lock:
            return list(self._responses)

    @property
    def views(self) -> list[dict[str, Any]]:
        """Modals opened with views.open, oldest first, as Slack answered them (with an id)."""
        with self._lock:
            return [dict(v) for v in self._views]

    def posts(self, channel: str | None = None) -> list[SlackMessage]:
        """Messages posted (in their latest version), oldest first, optionally for one channel."""
        with self._lock:
            found = [
                replace(m)
                for ch, msgs in self._messages.items()
                if channel in (None, ch)
                for m in msgs
            ]
        return sorted(found, key=lambda m: m.ts)

    def updates(self, channel: str | None = None) -> list[SlackCall]:
        """Successful chat.update calls, in order."""
        return self._successful("chat.update", channel)

    def ephemerals(self, channel: str | None = None) -> list[SlackCall]:
        """Successful chat.postEphemeral calls, in order."""
        return self._successful("chat.postEphemeral", channel)

    def add_user(
        self, user_id: str, real_name: str, *, name: str | None = None, email: str | None = None
    ) -> None:
        """Register a workspace member for users.info (unknown ids get a made-up profile)."""
        with self._lock:
            self._users[user_id] = self._user(user_id, real_name, name, email)

    # -- fault injection -------------------------------------------------------------------------

    def rate_limit_next(
        self, n: int = 1, retry_after: int = 1, *, method: str | None = None
    ) -> None:
        """The next ``n`` calls (of ``method``, or any but auth.test) get 429 + Retry-After.

        auth.test is spared by default because Bolt calls it behind the listener's back.
        """
        with self._lock:
            self._faults.extend(_Fault(429, "ratelimited", retry_after, method) for _ in range(n))

    def fail_next(
        self,
        n: int = 1,
        status: int = 500,
        *,
        error: str = "internal_error",
        method: str | None = None,
    ) -> None:
        """The next ``n`` calls get HTTP ``status`` with ``{"ok": false, "error": error}``.

        ``status=200`` gives Slack's usual soft failure, e.g. ``error="channel_not_found"``.
        """
        with self._lock:
            self._faults.extend(_Fault(status, error, None, method) for _ in range(n))

    def lose_answer_next(self, method: str, n: int = 1) -> None:
        """The next ``n`` calls of ``method`` take effect (a message is posted), then the
        connection drops before the answer: the caller cannot know it worked."""
        with self._lock:
            self._faults.extend(_Fault(_LOST, "", None, method) for _ in range(n))

    # -- signed inbound requests -----------------------------------------------------------------

    def slash_command_request(
        self,
        command: str,
        text: str,
        user_id: str,
        channel_id: str,
        *,
        timestamp: int,
        channel_name: str = "general",
    ) -> tuple[bytes, dict[str, str]]:
        """Body and headers of a slash command as Slack would POST it to the app."""
        form = {
            "token": "deprecated-verification-token",
            "team_id": self.team_id,
            "team_domain": self.team_domain,
            "channel_id": channel_id,
            "channel_name": channel_name,
            "user_id": user_id,
            "user_name": self._user_name(user_id),
            "command": command,
            "text": text,
            "api_app_id": self.api_app_id,
            "is_enterprise_install": "false",
            "response_url": self.response_url(f"cmd-{next(self._ids)}"),
            "trigger_id": self._trigger_id(),
        }
        body = urllib.parse.urlencode(form).encode()
        return body, signed_headers(body, timestamp, self.signing_secret)

    def block_action_request(
        self,
        action_id: str,
        value: str,
        user_id: str,
        *,
        channel_id: str,
        message_ts: str,
        block_id: str | None = None,
        timestamp: int,
        channel_name: str = "general",
    ) -> tuple[bytes, dict[str, str]]:
        """Body (``payload=<JSON>``) and headers of a button click as Slack would POST it."""
        with self._lock:  # the message as the user saw it, if the bot posted it here
            shown = self._find(_dm(channel_id), message_ts)
            text, blocks = (shown.text, shown.blocks or []) if shown else ("", [])
        name = self._user_name(user_id)
        payload = {
            "type": "block_actions",
            "user": {"id": user_id, "username": name, "name": name, "team_id": self.team_id},
            "api_app_id": self.api_app_id,
            "token": "deprecated-verification-token",
            "team": {"id": self.team_id, "domain": self.team_domain},
            "container": {
                "type": "message",
                "message_ts": message_ts,
                "channel_id": channel_id,
                "is_ephemeral": False,
            },
            "channel": {"id": channel_id, "name": channel_name},
            "message": {
                "type": "message",
                "ts": message_ts,
                "user": self.bot_user_id,
                "bot_id": self.bot_id,
                "text": text,
                "blocks": blocks,
            },
            "response_url": self.response_url(f"act-{next(self._ids)}"),
            "trigger_id": self._trigger_id(),
            "actions": [
                {
                    "action_id": action_id,
                    "block_id": block_id or secrets.token_hex(3),
                    "value": value,
                    "type": "button",
                    "action_ts": f"{self._clock():.6f}",
                    "text": {"type": "plain_text", "text": value, "emoji": True},
                }
            ],
        }
        body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
        return body, signed_headers(body, timestamp, self.signing_secret)

    def view_submission_request(
        self,
        view: dict[str, Any],
        values: dict[str, dict[str, Any]],
        user_id: str,
        *,
        timestamp: int,
    ) -> tuple[bytes, dict[str, str]]:
        """Body and headers of a modal's Submit: ``view`` as views.open answered it (see
        ``views``), ``values`` as Slack reports input state, ``{block_id: {action_id:
        {"type": ..., "value" or "selected_option": ...}}}``."""
        name = self._user_name(user_id)
        submitted = {**view, "state": {"values": values}}
        payload = {
            "type": "view_submission",
            "team": {"id": self.team_id, "domain": self.team_domain},
            "user": {"id": user_id, "username": name, "name": name, "team_id": self.team_id},
            "api_app_id": self.api_app_id,
            "token": "deprecated-verification-token",
            "trigger_id": self._trigger_id(),
            "view": submitted,
            "response_urls": [],
            "is_enterprise_install": False,
        }
        body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
        return body, signed_headers(body, timestamp, self.signing_secret)

    # -- internals -------------------------------------------------------------------------------

    def _handle(
        self, target: str, headers: HeaderMap, raw: bytes
    ) -> tuple[int, bytes, dict[str, str]]:
        parts = urllib.parse.urlsplit(target)
        params: dict[str, Any] = {k: v[0] for k, v in urllib.parse.parse_qs(parts.query).items()}
        is_json = (headers.get("Content-Type") or "").startswith("application/json")
        if raw and is_json:
            try:
                params.update(json.loads(raw))
            except (ValueError, TypeError):  # not JSON, or JSON but not an object
                return _reply(200, {"ok": False, "error": "invalid_json"})
        elif raw:
            form = urllib.parse.parse_qs(raw.decode(), keep_blank_values=True)
            params.update({k: v[0] for k, v in form.items()})

        with contextlib.suppress(_ApiError):  # a bad field is reported by _answer below
            _decode_json_fields(params)
        if found := _RESPONSE_URL.match(parts.path):
            payload = json.loads(params["payload"]) if "payload" in params else params
            with self._lock:
                self._responses.append(ResponseUrlPost(found["id"], payload))
            return 200, b"ok", {"Content-Type": "text/html"}
        found = _METHOD.match(parts.path)
        method = found["method"] if found else parts.path.strip("/")
        token = params.pop("token", None)  # legacy token-in-body; never kept in .calls
        bearer = headers.get("Authorization") or ""
        if bearer.startswith("Bearer "):
            token = bearer.removeprefix("Bearer ")

        status, extra = 200, {}
        answer: dict[str, Any]
        fault = self._take_fault(method)
        if fault is not None and fault.status == _LOST:
            self._answer(method, params, token)  # the call takes effect; its answer is lost
            with self._lock:
                self._calls.append(SlackCall(method, params, _LOST, None))
            return _LOST, b"", {}
        if fault is not None:
            # Slack refused before doing anything: no state changes.
            status, answer = fault.status, {"ok": False, "error": fault.error}
            if fault.retry_after is not None:
                extra["Retry-After"] = str(fault.retry_after)
        else:
            answer = self._answer(method, params, token)
        with self._lock:
            error = None if answer["ok"] else answer["error"]
            self._calls.append(SlackCall(method, params, status, error))
        return _reply(status, answer, extra)

    def _take_fault(self, method: str) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.method == method or (fault.method is None and method != "auth.test"):
                    self._faults.remove(fault)
                    return fault
        return None

    def _answer(self, method: str, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        handler = self._methods().get(method)
        if handler is None:
            return {"ok": False, "error": "unknown_method", "req_method": method}
        if not token:
            return {"ok": False, "error": "not_authed"}
        if not hmac.compare_digest(token.encode(), self.bot_token.encode()):
            return {"ok": False, "error": "invalid_auth"}
        try:
            _decode_json_fields(params)
            with self._lock:
                return {"ok": True, **handler(params)}
        except _ApiError as refusal:
            return {"ok": False, "error": refusal.error}

    def _methods(self) -> Mapping[str, Callable[[dict[str, Any]], dict[str, Any]]]:
        return {
            "auth.test": self._auth_test,
            "chat.postMessage": self._post_message,
            "chat.update": self._update,
            "conversations.history": self._history,
            "chat.postEphemeral": self._post_ephemeral,
            "conversations.open": self._open,
            "users.info": self._users_info,
            "views.open": self._views_open,
        }

    # Method handlers run under the lock and raise _ApiError for Slack's ok:false answers.

    def _auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": f"https://{self.team_domain}.slack.com/",
            "team": "FirstCall Loopback",
            "user": "firstcall",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _post_message(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params)
        if not (params.get("text") or params.get("blocks") or params.get("attachments")):
            raise _ApiError("no_text")
        message = SlackMessage(
            channel=channel,
            ts=self._next_ts(),
            text=params.get("text") or "",
            blocks=params.get("blocks"),
            thread_ts=params.get("thread_ts"),
            metadata=params.get("metadata") or {},
        )
        self._messages.setdefault(channel, []).append(message)
        return {"channel": channel, "ts": message.ts, "message": self._wire(message)}

    def _history(self, params: dict[str, Any]) -> dict[str, Any]:
        """Newest first, from ``oldest`` on; metadata only with include_all_metadata, as on
        Slack. No paging: the loopback holds few messages."""
        channel = self._channel(params)
        oldest = float(params.get("oldest") or 0)
        with_metadata = str(params.get("include_all_metadata", "")).lower() in ("1", "true")
        found = []
        for message in reversed(self._messages.get(channel, [])):
            if float(message.ts) < oldest:
                continue
            wire = self._wire(message)
            if with_metadata and message.metadata:
                wire["metadata"] = message.metadata
            found.append(wire)
        limit = int(params.get("limit") or 100)
        return {"messages": found[:limit], "has_more": len(found) > limit}

    def _update(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params)
        message = self._find(channel, params.get("ts"))
        if message is None:
            raise _ApiError("message_not_found")
        if "text" in params:
            message.text = params["text"] or ""
        if "blocks" in params:
            message.blocks = params["blocks"]
        message.updates += 1
        wire = self._wire(message)
        return {"channel": channel, "ts": message.ts, "text": message.text, "message": wire}

    def _post_ephemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        self._channel(params)
        if not params.get("user"):
            raise _ApiError("user_not_in_channel")
        return {"message_ts": self._next_ts()}

    def _open(self, params: dict[str, Any]) -> dict[str, Any]:
        users = [u for u in str(params.get("users") or "").split(",") if u]
        if len(users) != 1:  # group DMs are not something FirstCall opens
            raise _ApiError("users_list_not_supplied" if not users else "not_supported")
        return {"channel": {"id": _dm(users[0])}}

    def _users_info(self, params: dict[str, Any]) -> dict[str, Any]:
        user_id = params.get("user")
        if not user_id:
            raise _ApiError("user_not_found")
        # The fake has no directory: unknown ids get a plausible made-up member.
        made_up = self._user(user_id, f"User {user_id}", None, None)
        return {"user": self._users.get(user_id) or made_up}

    def _views_open(self, params: dict[str, Any]) -> dict[str, Any]:
        if not params.get("trigger_id"):
            raise _ApiError("invalid_trigger_id")
        view = params.get("view")
        if isinstance(view, str):
            try:
                view = json.loads(view)
            except json.JSONDecodeError:
                raise _ApiError("invalid_arguments") from None
        if not isinstance(view, dict) or view.get("type") != "modal" or not view.get("title"):
            raise _ApiError("invalid_arguments")
        opened = {
            **view,
            "id": f"V{next(self._ids):08d}",
            "team_id": self.team_id,
            "app_id": self.api_app_id,
            "bot_id": self.bot_id,
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "state": {"values": {}},
        }
        self._views.append(opened)
        return {"view": opened}

    def _channel(self, params: dict[str, Any]) -> str:
        channel = params.get("channel")
        if not channel:
            raise _ApiError("channel_not_found")
        return _dm(channel)  # posting to a user id lands in the DM, as on Slack

    def _wire(self, message: SlackMessage) -> dict[str, Any]:
        wire: dict[str, Any] = {
            "type": "message",
            "text": message.text,
            "ts": message.ts,
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "app_id": self.api_app_id,
            "team": self.team_id,
        }
        if message.blocks is not None:
            wire["blocks"] = message.blocks
        if message.thread_ts:
            wire["thread_ts"] = message.thread_ts
        return wire

    def _find(self, channel: str, ts: str | None) -> SlackMessage | None:
        return next((m for m in self._messages.get(channel, []) if m.ts == ts), None)

    def _next_ts(self) -> str:
        # Unique and increasing even within one microsecond, like real message timestamps.
        self._last_ts = max(int(self._clock() * 1_000_000), self._last_ts + 1)
        return f"{self._last_ts // 1_000_000}.{self._last_ts % 1_000_000:06d}"

    def _user(
        self, user_id: str, real_name: str, name: str | None, email: str | None
    ) -> dict[str, Any]:
        name = name or real_name.lower().replace(" ", ".")
        profile = {"real_name": real_name, "display_name": name, "email": email}
        return {
            "id": user_id,
            "team_id": self.team_id,
            "name": name,
            "real_name": real_name,
            "deleted": False,
            "is_bot": False,
            "tz": "Europe/London",
            "profile": profile,
        }

    def _user_name(self, user_id: str) -> str:
        with self._lock:
            known = self._users.get(user_id)
        return known["name"] if known else user_id.lower()

    def _trigger_id(self) -> str:
        return f"{next(self._ids)}.{secrets.randbelow(10**12)}.{secrets.token_hex(16)}"

    def _successful(self, method: str, channel: str | None) -> list[SlackCall]:
        with self._lock:
            return [
                c
                for c in self._calls
                if c.method == method
                and c.error is None
                and channel in (None, _dm(str(c.params.get("channel"))))
            ]


def _dm(channel: str) -> str:
    """Slack answers a post to a user id with their DM channel; here D + the rest of the id."""
    return "D" + channel[1:] if channel[:1] in ("U", "W") else channel


def _decode_json_fields(params: dict[str, Any]) -> None:
    """Form bodies carry blocks/attachments as JSON strings; JSON bodies as lists already."""
    for name in _JSON_FIELDS:
        if isinstance(params.get(name), str):
            try:
                params[name] = json.loads(params[name])
            except json.JSONDecodeError:
                raise _ApiError(f"invalid_{name}") from None


def _reply(
    status: int, answer: Mapping[str, Any], extra: Mapping[str, str] | None = None
) -> tuple[int, bytes, dict[str, str]]:
    headers = {"Content-Type": "application/json; charset=utf-8", **(extra or {})}
    return status, json.dumps(answer).encode(), headers
