"""The web app: Twilio's webhooks, Slack's events, and a health check. Every route verifies
its caller at the edge (Twilio's and Slack's signatures) with no bypass."""

from __future__ import annotations

import logging
import secrets
import sys
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from bot import logs
from bot.logs import where
from bot.runtime import Runtime
from bot.slack.app import slack_payload
from bot.workflow.parent_texts import opt_change, reply_received, status_changed
from messaging.edge import SLACK_BODY_LIMIT, Refused, decoded, read_body
from messaging.inbound import twilio_router
from rules.replies import load as load_parser
from storage.db import database_fault

log = logging.getLogger(__name__)


def create_app(runtime: Runtime) -> FastAPI:
    app = FastAPI(title="FirstCall", docs_url=None, redoc_url=None, openapi_url=None)
    app.include_router(
        twilio_router(
            runtime.factory,
            runtime.twilio,
            clock=runtime.clock,
            on_reply=reply_received,
            on_opt_change=opt_change,
            on_status=status_changed,
        )
    )
    bolt = runtime.bolt

    @app.middleware("http")
    async def no_tracebacks(request: Request, call_next: Callable[..., Any]) -> Response:
        """A failure behind a route is logged by an error ID, its type and where it was
        raised (never its message), and answered 503 if the database is at fault."""
        try:
            return await call_next(request)
        except Exception as exc:  # noqa: BLE001 - the last line of defence for every route
            error_id = secrets.token_hex(4)
            log.error(
                "%s %s failed: error %s: %s at %s",
                request.method,
                request.url.path,
                error_id,
                type(exc).__name__,
                where(exc.__traceback__),
            )
            if database_fault(exc):
                return Response(
                    f"database unavailable (error {error_id}); try again shortly",
                    status_code=503,
                    media_type="text/plain",
                )
            return Response(f"error {error_id}", status_code=500, media_type="text/plain")

    verifier = SignatureVerifier(runtime.slack.signing_secret)

    @app.post("/slack/events")
    async def slack_events(request: Request) -> Response:
        try:
            body = await read_body(request, SLACK_BODY_LIMIT)
            # Slack signs UTF-8 text; nothing is parsed for a request it did not sign.
            words = decoded(body)
            if not verifier.is_valid_request(words, dict(request.headers)):
                raise Refused(401, "invalid signature")
            slack_payload(words, request.headers.get("content-type", ""))
        except Refused as refused:
            return refused.response()
        # Bolt's App is synchronous (database work, Slack Web API calls): run it off the event
        # loop so a slow Slack call never holds up Twilio's webhooks.
        try:
            answer = await run_in_threadpool(bolt.dispatch, to_bolt_request(request, body))
        except (LookupError, TypeError, AttributeError, ValueError) as exc:
            # Listeners' own failures are answered by the app's error handler; Bolt itself
            # failing on a signed request means a payload of a shape Slack never sends.
            log.warning(
                "slack request of an unknown shape: %s at %s",
                type(exc).__name__,
                where(exc.__traceback__, 3),
            )
            return Response("a Slack payload of an unknown shape", status_code=400)
        if answer.status >= 500:
            return Response("a Slack payload of an unknown shape", status_code=400)
        return to_starlette_response(answer)

    @app.get("/healthz")
    def healthz() -> JSONResponse:
        try:
            with runtime.factory() as session:
                session.execute(text("SELECT 1"))
        except SQLAlchemyError:
            log.error("health check: database unreachable")
            return JSONResponse({"ok": False, "database": "unreachable"}, status_code=503)
        return JSONResponse({"ok": True})

    return app


def app_from_env() -> FastAPI:
    """The web app as `firstcall serve` runs it in each worker process: settings and the
    database from the environment, and the same scrubbed logging as the parent process."""
    logs.configure(sys.stderr)
    app = create_app(Runtime.from_env())
    load_parser()  # before the first reply, not during it
    return app
