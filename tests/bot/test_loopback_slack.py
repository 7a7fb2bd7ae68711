"""The loopback Slack answers slack_sdk/slack_bolt as Slack does, and signs like Slack."""

from __future__ import annotations

import json
import time
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from slack_bolt import Ack, App, BoltRequest, Respond
from slack_bolt.adapter.fastapi import SlackRequestHandler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import Clock, SignatureVerifier

from bot.slack.loopback_slack import LoopbackSlack, sign

CHANNEL = "C0ATTEND1"
BLOCKS = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Sam* absent"}}]


@pytest.fixture
def fake() -> Iterator[LoopbackSlack]:
    with LoopbackSlack(signing_secret="s3cret") as server:
        yield server


@pytest.fixture
def client(fake: LoopbackSlack) -> WebClient:
    return WebClient(token=fake.bot_token, base_url=fake.url)


class FixedClock(Clock):
    def __init__(self, now: float) -> None:
        self.value = now

    def now(self) -> float:
        return self.value


def test_auth_test_and_bad_tokens(fake: LoopbackSlack, client: WebClient) -> None:
    info = client.auth_test()
    assert (info["team_id"], info["user_id"], info["bot_id"]) == (
        fake.team_id,
        fake.bot_user_id,
        fake.bot_id,
    )
    for token, error in (("xoxb-wrong", "invalid_auth"), (None, "not_authed")):
        with pytest.raises(SlackApiError) as failure:
            WebClient(token=token, base_url=fake.url).chat_postMessage(channel=CHANNEL, text="x")
        assert failure.value.response["error"] == error
    with pytest.raises(SlackApiError) as unknown:
        client.api_call("chat.scheduleMessage", json={"channel": CHANNEL})
    assert unknown.value.response["error"] == "unknown_method"


def test_post_and_update_keep_the_latest_version(fake: LoopbackSlack, client: WebClient) -> None:
    first = client.chat_postMessage(channel=CHANNEL, text="Sam absent", blocks=BLOCKS)
    second = client.chat_postMessage(channel=CHANNEL, text="reply", thread_ts=first["ts"])
    assert float(second["ts"]) > float(first["ts"]) and first["message"]["blocks"] == BLOCKS
    client.chat_update(channel=CHANNEL, ts=first["ts"], text="Sam: parent replied", blocks=[])
    [top, reply] = fake.posts(CHANNEL)
    assert (top.text, top.blocks, top.updates, reply.thread_ts) == (
        "Sam: parent replied",
        [],
        1,
        first["ts"],
    )
    assert [u.params["ts"] for u in fake.updates()] == [first["ts"]]
    with pytest.raises(SlackApiError) as missing:
        client.chat_update(channel=CHANNEL, ts="1.000001", text="x")
    assert missing.value.response["error"] == "message_not_found"


def test_form_bodies_and_other_methods(fake: LoopbackSlack, client: WebClient) -> None:
    client.api_call("chat.postMessage", params={"channel": CHANNEL, "blocks": json.dumps(BLOCKS)})
    assert fake.posts()[0].blocks == BLOCKS
    assert fake.calls[-1].params["blocks"] == BLOCKS
    dm = client.conversations_open(users="U0HEAD001")["channel"]["id"]
    client.chat_postMessage(channel="U0HEAD001", text="direct")  # a user id lands in the DM
    assert [m.text for m in fake.posts(dm)] == ["direct"]
    assert client.chat_postEphemeral(channel=CHANNEL, user="U0HEAD001", text="only you")[
        "message_ts"
    ]
    fake.add_user("U0HEAD001", "Pat Head")
    assert client.users_info(user="U0HEAD001")["user"]["real_name"] == "Pat Head"
    assert client.users_info(user="U0OTHER01")["user"]["real_name"]


def test_rate_limit_and_server_errors(fake: LoopbackSlack, client: WebClient) -> None:
    fake.rate_limit_next(1, retry_after=7)
    with pytest.raises(SlackApiError) as limited:
        client.chat_postMessage(channel=CHANNEL, text="x")
    assert limited.value.response.status_code == 429
    assert limited.value.response.headers["Retry-After"] == "7"
    assert limited.value.response["error"] == "ratelimited"
    fake.fail_next(1, status=500)
    with pytest.raises(SlackApiError) as broken:
        client.chat_postMessage(channel=CHANNEL, text="x")
    assert broken.value.response.status_code == 500
    fake.fail_next(1, status=200, error="channel_not_found", method="chat.postMessage")
    client.auth_test()  # faults aimed at one method leave others alone
    with pytest.raises(SlackApiError):
        client.chat_postMessage(channel=CHANNEL, text="x")
    assert fake.posts() == []
    client.chat_postMessage(channel=CHANNEL, text="x")
    assert len(fake.posts()) == 1
    assert [c.status for c in fake.calls] == [429, 500, 200, 200, 200]


def test_signature_validates_with_the_sdk_verifier(fake: LoopbackSlack) -> None:
    body, headers = fake.slash_command_request(
        "/absence", "Sam sick", "U0TEACH01", CHANNEL, timestamp=1_700_000_000
    )
    verifier = SignatureVerifier("s3cret", clock=FixedClock(1_700_000_100))
    assert verifier.is_valid_request(body, headers)
    assert headers["X-Slack-Signature"] == sign(body.decode(), 1_700_000_000, "s3cret")
    assert not SignatureVerifier("s3cret", clock=FixedClock(1_700_000_400)).is_valid_request(
        body, headers
    )
    form = {k: v[0] for k, v in urllib.parse.parse_qs(body.decode()).items()}
    assert form["response_url"].startswith(fake.root + "/response_url/")
    assert (form["command"], form["text"], form["user_id"]) == ("/absence", "Sam sick", "U0TEACH01")


def bolt_app(fake: LoopbackSlack, client: WebClient) -> App:
    app = App(client=client, signing_secret=fake.signing_secret, process_before_response=True)

    @app.command("/absence")
    def absence(ack: Ack, respond: Respond, command: dict[str, Any]) -> None:
        ack()
        respond(f"Noted: {command['text']}")

    @app.action("confirm")
    def confirm(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        action = body["actions"][0]
        client.chat_update(
            channel=body["channel"]["id"],
            ts=body["container"]["message_ts"],
            text=f"{action['value']} by {body['user']['id']}",
        )

    return app


def test_bolt_runs_signed_commands_and_buttons(fake: LoopbackSlack, client: WebClient) -> None:
    app = bolt_app(fake, client)  # App() calls auth.test against the fake
    body, headers = fake.slash_command_request(
        "/absence", "Sam sick", "U0TEACH01", CHANNEL, timestamp=int(time.time())
    )
    assert app.dispatch(BoltRequest(body=body.decode(), headers=headers)).status == 200
    [response] = fake.responses
    assert response.payload["text"] == "Noted: Sam sick"

    ts = client.chat_postMessage(channel=CHANNEL, text="Sam absent?", blocks=BLOCKS)["ts"]
    body, headers = fake.block_action_request(
        "confirm",
        "confirmed",
        "U0TEACH01",
        channel_id=CHANNEL,
        message_ts=ts,
        timestamp=int(time.time()),
    )
    assert app.dispatch(BoltRequest(body=body.decode(), headers=headers)).status == 200
    assert fake.posts(CHANNEL)[0].text == "confirmed by U0TEACH01"

    headers["X-Slack-Signature"] = "v0=" + "0" * 64
    assert app.dispatch(BoltRequest(body=body.decode(), headers=headers)).status == 401


def test_signed_request_over_http_through_fastapi(fake: LoopbackSlack, client: WebClient) -> None:
    handler = SlackRequestHandler(bolt_app(fake, client))
    api = FastAPI()

    @api.post("/slack/events")
    async def events(request: Request) -> Any:
        return await handler.handle(request)

    body, headers = fake.slash_command_request(
        "/absence", "Ali late", "U0TEACH01", CHANNEL, timestamp=int(time.time())
    )
    assert TestClient(api).post("/slack/events", content=body, headers=headers).status_code == 200
    assert fake.responses[-1].payload["text"] == "Noted: Ali late"
