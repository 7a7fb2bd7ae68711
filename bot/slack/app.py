"""The Slack Bolt app for staff: /absence, /leave and /pupil, the cards' buttons and the
change-code modal. Built by a function, never at import time.

Bolt checks every request's signature (401 when it is wrong or stale). Each listener runs to
the end before the HTTP response goes back (`process_before_response`): the work is a few
quick database statements, well inside Slack's 3 seconds, and the slow part of anything
(posting and editing cards) is the outbox's, after commit. A slash command's reply is the
body of its ack, seen only by the person who typed it; a button acks at once and speaks to
the clicker only when something went wrong.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

from slack_bolt import Ack, App, BoltResponse, Respond
from slack_sdk import WebClient
from sqlalchemy.orm import Session, sessionmaker

from bot.slack import actions
from bot.slack.errors import unexpected
from bot.slack.slash import run_command
from messaging.edge import Refused

COMMANDS = ("/absence", "/leave", "/pupil")
log = logging.getLogger("firstcall.slack")


def build_app(
    factory: sessionmaker[Session],
    *,
    client: WebClient,
    signing_secret: str,
    clock: Callable[[], datetime],
) -> App:
    app = App(
        client=client,
        signing_secret=signing_secret,
        token_verification_enabled=False,
        process_before_response=True,
        logger=log,
    )

    def command(ack: Ack, command: dict[str, Any]) -> None:
        reply = run_command(
            factory,
            clock(),
            command=command["command"],
            text=command.get("text") or "",
            user_id=command.get("user_id") or "",
            channel_id=command.get("channel_id"),
            request_id=command.get("trigger_id") or None,
        )
        ack(text=reply, response_type="ephemeral")

    for name in COMMANDS:
        app.command(name)(command)

    for action_id, work in actions.BUTTONS.items():
        app.action(action_id)(_button(factory, clock, work))

    for action_id, prepare in actions.MODALS.items():
        app.action(action_id)(_opener(factory, clock, prepare))

    for callback_id, submit in actions.SUBMITS.items():
        app.view(callback_id)(_submitter(factory, clock, submit))

    @app.error
    def last_resort(error: Exception) -> BoltResponse:
        """Only reached if a listener itself fails; the user sees no traceback."""
        unexpected(error)
        return BoltResponse(status=200, body="")

    return app


def slack_payload(text: str, content_type: str) -> None:
    """Refuse (400) a signed body Bolt could not read: a form whose `payload` is not a JSON
    object, or a JSON body that is not one. Bolt would raise on it, not answer."""
    if content_type.partition(";")[0].strip().lower() == "application/json":
        raw: str | None = text
    else:
        raw = next((v for k, v in parse_qsl(text, keep_blank_values=True) if k == "payload"), None)
    if raw is None:
        return
    try:
        value = json.loads(raw)
    except ValueError:
        raise Refused(400, "payload is not JSON") from None
    if not isinstance(value, dict):
        raise Refused(400, "payload is not a JSON object")


def _button(
    factory: sessionmaker[Session], clock: Callable[[], datetime], work: actions.Work
) -> Callable[..., None]:
    def click(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        reply = actions.run_button(factory, clock(), body, work)
        if reply:
            _tell(respond, reply)

    return click


def _opener(
    factory: sessionmaker[Session], clock: Callable[[], datetime], prepare: actions.Prepare
) -> Callable[..., None]:
    def click(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        ack()
        view = actions.open_view(factory, clock(), body, prepare)
        if isinstance(view, str):
            _tell(respond, view)
            return
        try:
            client.views_open(trigger_id=body["trigger_id"], view=view)
        except Exception as exc:  # noqa: BLE001 - Slack refused the modal: say so, with an ID
            _tell(respond, unexpected(exc))

    return click


def _submitter(
    factory: sessionmaker[Session], clock: Callable[[], datetime], submit: actions.Submit
) -> Callable[..., None]:
    def submitted(ack: Ack, body: dict[str, Any]) -> None:
        errors = submit(factory, clock(), body)
        if errors:
            ack(response_action="errors", errors=errors)
        else:
            ack()

    return submitted


def _tell(respond: Respond, text: str) -> None:
    """Words for the clicker alone, leaving the card as it is."""
    try:
        respond(text=text, response_type="ephemeral", replace_original=False)
    except Exception as exc:  # noqa: BLE001 - the response URL failed; nothing more to do
        unexpected(exc)
