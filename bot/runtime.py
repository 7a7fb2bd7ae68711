"""The running application's parts, built once from the environment (or, in tests and the
demo, from loopback fakes): database, clock, Twilio transport, Slack client and Bolt app.
The web app and the worker are both made from one of these."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

from slack_bolt import App
from slack_sdk import WebClient
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import Clock, clock_from_env
from messaging.config import ConfigError, TwilioSettings
from messaging.transport import TwilioTransport
from storage.db import make_engine, session_factory

SLACK_API = "https://slack.com/api/"


@dataclass(frozen=True)
class SlackSettings:
    bot_token: str
    signing_secret: str
    api_url: str = SLACK_API

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> SlackSettings:
        for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"):
            if not environ.get(name):
                raise ConfigError(f"{name}: missing (see README, 'Going live')")
        if not environ["SLACK_BOT_TOKEN"].startswith("xox"):
            raise ConfigError("SLACK_BOT_TOKEN: not a Slack token (it starts with xoxb-)")
        url = environ.get("SLACK_API_URL") or SLACK_API
        if not url.startswith(("http://", "https://")):
            raise ConfigError(f"SLACK_API_URL: not a URL: {url!r}")
        return cls(
            environ["SLACK_BOT_TOKEN"],
            environ["SLACK_SIGNING_SECRET"],
            url if url.endswith("/") else url + "/",
        )


@dataclass
class Runtime:
    factory: sessionmaker[Session]
    clock: Clock
    twilio: TwilioSettings
    slack: SlackSettings
    twilio_timeout: float = 10.0
    _cache: dict[str, object] = field(default_factory=dict, repr=False)

    @classmethod
    def from_env(
        cls, database_url: str | None = None, environ: Mapping[str, str] = os.environ
    ) -> Runtime:
        twilio = TwilioSettings.from_env(environ)
        slack = SlackSettings.from_env(environ)
        return cls(session_factory(make_engine(database_url)), clock_from_env(), twilio, slack)

    @cached_property
    def transport(self) -> TwilioTransport:
        return TwilioTransport(self.twilio, timeout=self.twilio_timeout)

    @cached_property
    def slack_client(self) -> WebClient:
        # No retry inside the SDK: its default re-sends a chat.postMessage whose connection
        # dropped, which posts a card twice. The outbox retries, finding a lost post first.
        return WebClient(
            token=self.slack.bot_token, base_url=self.slack.api_url, timeout=10, retry_handlers=[]
        )

    @cached_property
    def bolt(self) -> App:
        from bot.slack.app import build_app

        return build_app(
            self.factory,
            client=self.slack_client,
            signing_secret=self.slack.signing_secret,
            clock=self.clock,
        )
