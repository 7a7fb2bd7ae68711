"""The gateway under test for real: the twilio SDK against the loopback Twilio, and the web
routes served by uvicorn on a loopback port so the fake can POST signed webhooks to them."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import ManualClock
from bot.demo.stack import free_port
from messaging.config import TwilioSettings
from messaging.inbound import twilio_router
from messaging.loopback_twilio import LoopbackTwilio
from messaging.transport import TwilioTransport
from storage.models import Contact, Message
from tests.factories import NOW

SCHOOL_NUMBER = "+447911000001"
PUBLIC = "https://firstcall.example.org"  # what Twilio signs; the app is reached on loopback


@dataclass
class Calls:
    """What the bot's callbacks were given; `fail` makes on_reply raise."""

    replies: list[tuple[int, str, list[int]]] = field(default_factory=list)
    opt_changes: list[tuple[str, list[int], bool]] = field(default_factory=list)
    statuses: list[tuple[str, str]] = field(default_factory=list)
    fail: bool = False

    def on_reply(self, session: Session, message: Message, contacts: Any, now: datetime) -> None:
        if self.fail:
            # Half its work done, then a fault: none of it may be kept.
            message.parse = {"half": "done"}
            session.flush()
            raise RuntimeError("the bot fell over")
        self.replies.append((message.id, message.body, [c.id for c in contacts]))

    def on_opt_change(
        self,
        session: Session,
        phone: str,
        contacts: list[Contact],
        *,
        opted_out: bool,
        now: datetime,
    ) -> None:
        self.opt_changes.append((phone, [c.id for c in contacts], opted_out))

    def on_status(self, session: Session, message: Message, now: datetime) -> None:
        self.statuses.append((message.sid or "", message.status))


@pytest.fixture(autouse=True)
def _no_region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TWILIO_REGION", raising=False)
    monkeypatch.delenv("TWILIO_EDGE", raising=False)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture
def fake(clock: ManualClock) -> Iterator[LoopbackTwilio]:
    with LoopbackTwilio(phone_number=SCHOOL_NUMBER, clock=clock) as server:
        yield server


@pytest.fixture
def settings(fake: LoopbackTwilio) -> TwilioSettings:
    return fake.settings(PUBLIC)


@pytest.fixture
def transport(settings: TwilioSettings) -> TwilioTransport:
    # The production timeout: an ordinary answer on a busy machine must never time out, so
    # tests lose an answer with `lose_answer_next`, not with a short timeout.
    return TwilioTransport(settings)


@pytest.fixture
def calls() -> Calls:
    return Calls()


@dataclass
class Web:
    url: str  # where the app listens (loopback)

    def sms(self) -> str:
        return f"{self.url}/twilio/sms"

    def status(self) -> str:
        return f"{self.url}/twilio/status"


def serve(app: FastAPI) -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, name="gateway-web", daemon=True)
    thread.start()
    while not server.started:  # start-up, not timing: wait for the socket to listen
        if not thread.is_alive():
            raise RuntimeError("the web app did not start")
        time.sleep(0.005)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def web(
    factory: sessionmaker[Session], settings: TwilioSettings, clock: ManualClock, calls: Calls
) -> Iterator[Web]:
    app = FastAPI()
    app.include_router(
        twilio_router(
            factory,
            settings,
            clock=clock,
            on_reply=calls.on_reply,
            on_opt_change=calls.on_opt_change,
            on_status=calls.on_status,
        )
    )
    for url in serve(app):
        yield Web(url)
