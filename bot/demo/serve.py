"""`firstcall demo --serve`: the product kept running on localhost with the loopback fakes,
so a person can play the parent (`firstcall sandbox reply`) and the office
(`firstcall sandbox slash`). The clock starts just before the register closes and runs on."""

from __future__ import annotations

import json
import os
import tempfile
import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from sqlalchemy import select

from bot.clock import ManualClock
from bot.demo.roster import build_school, write_roster
from bot.demo.stack import loopback_stack
from bot.demo.timeline import Timeline
from bot.jobs import tick
from bot.slack.loopback_slack import signed_headers
from messaging.loopback_twilio import sign
from storage.db import make_engine, session_factory, transaction, upgrade
from storage.models import Contact, Pupil, PupilContact
from storage.register import import_marks
from storage.roster import import_roster
from storage.schools import load_school, read_settings_file

STATE = Path(
    os.environ.get(
        "FIRSTCALL_DEMO_STATE", Path(tempfile.gettempdir()) / "firstcall-demo-serve.json"
    )
)


def serve_demo(
    school_file: Path, day: Any, *, port: int, seed: int, db_url: str | None, console: Console
) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="firstcall-serve-"))
    url = db_url or f"sqlite:///{workdir / 'firstcall.db'}"
    upgrade(url)
    settings, text = read_settings_file(school_file)
    closes = datetime.combine(day, settings.sessions["AM"].register_closes, tzinfo=settings.tz)
    factory = session_factory(make_engine(url))
    with transaction(factory) as session:
        school = load_school(session, settings, text, now=closes - timedelta(hours=1))
        write_roster(build_school(60, seed=seed), workdir / "pupils.csv", workdir / "contacts.csv")
        import_roster(session, school, workdir / "pupils.csv", workdir / "contacts.csv", now=closes)
        pupils = list(session.scalars(select(Pupil).order_by(Pupil.id)))
        absent = pupils[:4]
        marks = workdir / "marks.csv"
        marks.write_text(
            "upn,date,session,code,minutes_late,note\n"
            + "".join(f"{p.upn},{day},AM,{'N' if p in absent else '/'},,\n" for p in pupils)
        )
        import_marks(session, marks, now=closes - timedelta(minutes=1))
        examples = [
            (
                p.first_name,
                session.scalar(
                    select(Contact.phone)
                    .join(PupilContact)
                    .where(PupilContact.pupil_id == p.id, Contact.can_sms.is_(True))
                    .order_by(PupilContact.priority)
                ),
            )
            for p in absent
        ]
    factory.kw["bind"].dispose()
    clock = ManualClock(closes - timedelta(minutes=1), running=True)
    with loopback_stack(url, closes, port=port, clock=clock) as stack:
        STATE.write_text(
            json.dumps(
                {
                    "base_url": stack.base_url,
                    "twilio_auth_token": stack.twilio.auth_token,
                    "twilio_account_sid": stack.twilio.account_sid,
                    "to": stack.twilio.phone_number,
                    "slack_signing_secret": stack.slack.signing_secret,
                    "team_id": stack.slack.team_id,
                    "office_channel": settings.office_channel,
                }
            )
        )
        timeline = Timeline(console, stack)
        office = next(iter(settings.staff))
        console.rule(f"[bold]FirstCall is running for {settings.name} at {stack.base_url}")
        console.print(
            f"School time starts at {clock():%H:%M on %a %d %b} and runs on; the AM register "
            f"closes at {closes:%H:%M} and {len(absent)} pupils are absent.\n"
            "Play a parent (in another terminal):"
        )
        for name, phone in examples:
            console.print(
                f'  .venv/bin/firstcall sandbox reply {phone} "{name} has a temperature, back tomorrow"'
            )
        console.print(
            "Play the office:\n"
            f'  .venv/bin/firstcall sandbox slash {office} "/absence"\n'
            f'  .venv/bin/firstcall sandbox slash {office} "/absence approve {examples[0][0]}"\n'
            "Ctrl-C stops it."
        )
        stop = threading.Event()
        try:
            while not stop.wait(2.0):
                tick(stack.runtime, clock())
                timeline.drain(clock())
        except KeyboardInterrupt:
            console.print("stopped")
        finally:
            STATE.unlink(missing_ok=True)


class SandboxError(RuntimeError):
    pass


def _state() -> dict[str, Any]:
    try:
        return json.loads(STATE.read_text())
    except FileNotFoundError:
        raise SandboxError("no demo is running: start one with `firstcall demo --serve`") from None


def _post(url: str, **kwargs: Any) -> httpx.Response:
    try:
        return httpx.post(url, timeout=30, **kwargs)
    except httpx.HTTPError as exc:
        raise SandboxError(
            f"the demo is not answering at {url} ({type(exc).__name__}); "
            "start one with `firstcall demo --serve`"
        ) from None


def sandbox_reply(phone: str, body: str) -> str:
    """Text the running demo as a parent: signed exactly as Twilio signs it."""
    state = _state()
    url = f"{state['base_url']}/twilio/sms"
    sid = "SM" + os.urandom(16).hex()
    params = {
        "MessageSid": sid,
        "SmsSid": sid,
        "AccountSid": state["twilio_account_sid"],
        "From": phone,
        "To": state["to"],
        "Body": body,
        "NumMedia": "0",
        "NumSegments": "1",
        "ApiVersion": "2010-04-01",
    }
    response = _post(
        url,
        data=params,
        headers={"X-Twilio-Signature": sign(url, params, state["twilio_auth_token"])},
    )
    return f"{response.status_code}: {response.text.strip() or 'accepted'}"


def sandbox_slash(user_id: str, command_line: str) -> str:
    """Run a slash command in the running demo as a Slack user: signed as Slack signs it."""
    import time
    from urllib.parse import urlencode

    state = _state()
    command, _, text = command_line.strip().partition(" ")
    if not command.startswith("/"):
        raise SandboxError('give the command with its slash, e.g. "/absence approve Jayden"')
    body = urlencode(
        {
            "team_id": state["team_id"],
            "channel_id": state["office_channel"],
            "user_id": user_id,
            "command": command,
            "text": text,
            "response_url": f"{state['base_url']}/unused",
            "trigger_id": "1.2.3",
        }
    )
    headers = signed_headers(body, int(time.time()), state["slack_signing_secret"])
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    response = _post(f"{state['base_url']}/slack/events", content=body, headers=headers)
    try:
        return str(response.json().get("text", response.text))
    except ValueError:
        return response.text or str(response.status_code)
