"""The web app: Twilio's webhooks, Slack's events, and a health check. Every route verifies
its caller at the edge (Twilio's and Slack's signatures) with no bypass."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from bot.runtime import Runtime
from bot.workflow.replies import opt_change, reply_received, status_changed
from messaging.inbound import twilio_router

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

    @app.post("/slack/events")
    async def slack_events(request: Request) -> Response:
        # Bolt's App is synchronous (database work, Slack Web API calls): run it off the event
        # loop so a slow Slack call never holds up Twilio's webhooks.
        body = await request.body()
        answer = await run_in_threadpool(bolt.dispatch, to_bolt_request(request, body))
        return to_starlette_response(answer)

    @app.get("/healthz")
    def healthz() -> JSONResponse:
        try:
            with runtime.factory() as session:
                session.execute(text("SELECT 1"))
        except SQLAlchemyError:
            log.exception("health check: database unreachable")
            return JSONResponse({"ok": False, "database": "unreachable"}, status_code=503)
        return JSONResponse({"ok": True})

    return app
