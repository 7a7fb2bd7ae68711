"""The demo's timeline: time, who, what, read from what actually reached the loopback
Twilio and Slack and from the database."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from rich.console import Console
from rich.markup import escape
from sqlalchemy import select

from bot.demo.stack import Stack
from bot.workflow.school import context_for
from storage.models import Message, School


def masked(phone: str) -> str:
    return phone[:5] + " *** " + phone[-3:]


class Timeline:
    def __init__(self, console: Console, stack: Stack, *, speed: float = 0.0) -> None:
        self.console, self.stack, self.speed = console, stack, speed
        self._texts = 0
        self._calls = 0
        with stack.runtime.factory() as session:
            settings = context_for(session.scalars(select(School)).one()).settings
        self.tz = settings.tz
        self.channels = {
            settings.office_channel: "#office",
            settings.dsl_channel: "#dsl",
            settings.leave_channel: "#head",
        }

    def _line(self, when: datetime, who: str, what: str, style: str = "") -> None:
        stamp = when.astimezone(self.tz).strftime("%H:%M")
        self.console.print(
            f"[dim]{stamp}[/dim]  [bold]{escape(who):<18}[/bold] "
            + (f"[{style}]{escape(what)}[/{style}]" if style else escape(what))
        )

    def heading(self, text: str) -> None:
        self.console.rule(text)

    def say(self, when: datetime, who: str, what: str) -> None:
        self._line(when, who, what)

    def staff(self, when: datetime, who: str, what: str) -> None:
        self._line(when, who, what, "cyan")

    def reply(self, when: datetime, phone: str, text: str, sid: str) -> None:
        self._line(when, f"parent {masked(phone)}", f'"{text}"', "green")
        with self.stack.runtime.factory() as session:
            message = session.scalar(select(Message).where(Message.sid == sid))
        parse = (message.parse if message else None) or {}
        if parse:
            flags = (
                " [SAFEGUARDING: " + ", ".join(parse.get("indicators", [])) + "]"
                if parse.get("safeguarding")
                else ""
            )
            review = " (needs review)" if parse.get("needs_review") else ""
            self._line(
                when,
                "  parsed",
                f"{parse.get('intent')} · {parse.get('reason') or '-'} · code "
                f"{parse.get('code') or '-'}{review}{flags}",
                "red" if flags else "magenta",
            )
        elif message is not None:
            self._line(
                when, "  keyword", f"{text.strip().upper()}: handled as Twilio does", "magenta"
            )

    def drain(self, now: datetime) -> None:
        """Print what reached Twilio and Slack since the last call."""
        sent = self.stack.twilio.sent[self._texts :]
        self._texts += len(sent)
        for message in sent:
            self._line(now, "FirstCall → parent", f"{masked(message.to)}: {message.body}", "yellow")
        calls = self.stack.slack.calls[self._calls :]
        self._calls += len(calls)
        for call in calls:
            if call.method not in ("chat.postMessage", "chat.update"):
                continue
            channel = self.channels.get(
                str(call.params.get("channel")), str(call.params.get("channel"))
            )
            verb = "posted" if call.method == "chat.postMessage" else "updated"
            text = str(call.params.get("text", ""))
            self._line(now, f"Slack {channel}", f"{verb}: {text[:110]}", "blue")

    def pace(self, simulated: timedelta) -> None:
        if self.speed > 0:
            time.sleep(simulated.total_seconds() / self.speed)
