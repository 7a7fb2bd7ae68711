"""Twilio settings from the environment. A missing or malformed setting stops start-up with
one line that names it (docs/architecture.md), never a traceback at 8:40 on a Monday."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

TWILIO_API = "https://api.twilio.com"
_ACCOUNT_SID = re.compile(r"^AC[0-9a-fA-F]{32}$")
_SERVICE_SID = re.compile(r"^MG[0-9a-fA-F]{32}$")
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")


class ConfigError(ValueError):
    """A setting the process cannot start without, named in the message."""


@dataclass(frozen=True)
class TwilioSettings:
    account_sid: str
    auth_token: str
    from_number: str | None
    messaging_service_sid: str | None
    api_url: str
    # Exactly the URL Twilio calls: signatures are checked against it, never against what a
    # proxy in front of the app says the host was.
    public_base_url: str

    @property
    def sms_webhook_url(self) -> str:
        return f"{self.public_base_url}/twilio/sms"

    @property
    def status_callback_url(self) -> str:
        return f"{self.public_base_url}/twilio/status"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> TwilioSettings:
        def required(name: str) -> str:
            value = environ.get(name, "").strip()
            if not value:
                raise ConfigError(f"{name}: missing (see README, 'Going live')")
            return value

        account_sid = required("TWILIO_ACCOUNT_SID")
        if not _ACCOUNT_SID.match(account_sid):
            raise ConfigError(
                "TWILIO_ACCOUNT_SID: not an account SID (AC followed by 32 hex digits)"
            )
        auth_token = required("TWILIO_AUTH_TOKEN")
        service = environ.get("TWILIO_MESSAGING_SERVICE_SID", "").strip() or None
        sender = environ.get("TWILIO_FROM_NUMBER", "").strip() or None
        if service is None and sender is None:
            raise ConfigError(
                "TWILIO_MESSAGING_SERVICE_SID or TWILIO_FROM_NUMBER: one is needed "
                "(a UK long code, so parents can reply)"
            )
        if service is not None and not _SERVICE_SID.match(service):
            raise ConfigError("TWILIO_MESSAGING_SERVICE_SID: not a Messaging Service SID (MG...)")
        if sender is not None and not _E164.match(sender):
            raise ConfigError(
                f"TWILIO_FROM_NUMBER: must be an E.164 number like +447700900123, "
                f"got {sender!r} (alphanumeric sender IDs are one-way)"
            )
        return cls(
            account_sid=account_sid,
            auth_token=auth_token,
            from_number=sender,
            messaging_service_sid=service,
            api_url=_url("TWILIO_API_URL", environ.get("TWILIO_API_URL", "").strip() or TWILIO_API),
            public_base_url=_url("PUBLIC_BASE_URL", required("PUBLIC_BASE_URL")),
        )


def _url(name: str, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{name}: not an http(s) URL: {value!r}")
    if parts.query or parts.fragment:
        raise ConfigError(f"{name}: must not carry a query or fragment: {value!r}")
    return value.rstrip("/")
