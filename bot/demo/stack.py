"""The whole product on one machine: the web app served on loopback, the real twilio and
slack_sdk clients talking to the loopback Twilio and Slack, and a clock that stands still
until moved. The demo, `demo --serve` and the end-to-end tests all run on this."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import uvicorn

from bot.clock import ManualClock
from bot.jobs import TickReport, tick
from bot.runtime import Runtime, SlackSettings
from bot.slack.loopback_slack import LoopbackSlack
from bot.web import create_app
from messaging.loopback_twilio import LoopbackTwilio
from storage.db import make_engine, session_factory

SCHOOL_NUMBER = "+447911000001"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Stack:
    runtime: Runtime
    clock: ManualClock
    twilio: LoopbackTwilio
    slack: LoopbackSlack
    base_url: str
    http: httpx.Client

    def tick(self, now: datetime | None = None) -> TickReport:
        if now is not None:
            self.clock.set(now)
        return tick(self.runtime, self.clock())

    def parent_texts(self, phone: str, body: str, *, webhook: bool = True) -> str:
        """A parent's reply reaching Twilio; with webhook=False the webhook is lost and
        only reconciliation can find it."""
        return self.twilio.receive(
            phone,
            body,
            to=SCHOOL_NUMBER,
            deliver_to=f"{self.base_url}/twilio/sms" if webhook else None,
            date_sent=self.clock(),
        )

    def slash(self, command: str, text: str, user_id: str, channel_id: str) -> httpx.Response:
        body, headers = self.slack.slash_command_request(
            command, text, user_id, channel_id, timestamp=int(time.time())
        )
        return self.http.post("/slack/events", content=body, headers=headers)

    def click(
        self,
        action_id: str,
        value: Any,
        user_id: str,
        channel_id: str,
        message_ts: str = "1.000100",
    ) -> httpx.Response:
        body, headers = self.slack.block_action_request(
            action_id,
            str(value),
            user_id,
            channel_id=channel_id,
            message_ts=message_ts,
            timestamp=int(time.time()),
        )
        return self.http.post("/slack/events", content=body, headers=headers)


@contextmanager
def loopback_stack(
    database_url: str,
    start: datetime,
    *,
    port: int | None = None,
    twilio_timeout: float = 2.0,
    clock: ManualClock | None = None,
) -> Iterator[Stack]:
    clock = clock or ManualClock(start)
    port = port or free_port()
    base_url = f"http://127.0.0.1:{port}"
    with (
        LoopbackTwilio(phone_number=SCHOOL_NUMBER, clock=clock) as twilio,
        LoopbackSlack() as slack,
    ):
        runtime = Runtime(
            factory=session_factory(make_engine(database_url)),
            clock=clock,
            twilio=twilio.settings(base_url),
            slack=SlackSettings(slack.bot_token, slack.signing_secret, slack.url),
            twilio_timeout=twilio_timeout,
        )
        server = uvicorn.Server(
            uvicorn.Config(
                create_app(runtime),
                host="127.0.0.1",
                port=port,
                log_level="warning",
                lifespan="off",
            )
        )
        thread = threading.Thread(target=server.run, name="firstcall-web", daemon=True)
        thread.start()
        while not server.started:  # start-up, not timing: wait for the socket to listen
            if not thread.is_alive():
                raise RuntimeError(f"the web app could not start on port {port}")
            time.sleep(0.01)
        try:
            with httpx.Client(base_url=base_url, timeout=30) as http:
                yield Stack(runtime, clock, twilio, slack, base_url, http)
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            runtime.factory.kw["bind"].dispose()
