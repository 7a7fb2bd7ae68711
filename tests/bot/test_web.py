"""Every route answers 2xx or 4xx to any input, stores nothing it was not signed for, and a
failing database is a 503 whose log line holds no phone number and no parent's words."""

from __future__ import annotations

import hmac
import io
import json
import logging
import re
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from bot import logs
from bot.clock import ManualClock
from bot.runtime import Runtime, SlackSettings
from bot.slack.loopback_slack import LoopbackSlack, signed_headers
from bot.web import create_app
from messaging.config import TwilioSettings
from messaging.edge import SLACK_BODY_LIMIT, TWILIO_BODY_LIMIT
from messaging.loopback_twilio import sign
from storage.db import make_engine, session_factory
from storage.models import AuditLog, Message, OutboxItem, QuarantinedText
from tests.factories import NOW, make_contact, make_pupil, make_school

PUBLIC = "https://firstcall.example.org"
TOKEN = "twilio-auth-token-for-tests"
FORM = "application/x-www-form-urlencoded"
FUZZ = settings(
    max_examples=150,
    derandomize=True,  # the same examples on every run: CI never flakes on a new one
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
ROUTES = ("/twilio/sms", "/twilio/status", "/slack/events")


@dataclass
class App:
    client: TestClient
    factory: sessionmaker[Session]
    slack: LoopbackSlack

    def twilio(self, route: str, fields: dict[str, str], **headers: str) -> Any:
        body = urllib.parse.urlencode(fields)
        signature = sign(f"{PUBLIC}{route}", fields, TOKEN)
        return self.client.post(
            route,
            content=body,
            headers={"Content-Type": FORM, "X-Twilio-Signature": signature, **headers},
        )

    def slack_signed(self, body: bytes, content_type: str = FORM) -> Any:
        """Signed as Slack signs; bytes that are not UTF-8 (which Slack never sends, so its
        SDK cannot sign them) get the same HMAC over the raw bytes."""
        stamp = int(time.time())
        try:
            headers = signed_headers(body, stamp, self.slack.signing_secret)
        except UnicodeDecodeError:
            mac = hmac.new(
                self.slack.signing_secret.encode(), b"v0:%d:%b" % (stamp, body), "sha256"
            )
            headers = {
                "X-Slack-Request-Timestamp": str(stamp),
                "X-Slack-Signature": f"v0={mac.hexdigest()}",
            }
        return self.client.post(
            "/slack/events", content=body, headers={**headers, "Content-Type": content_type}
        )

    def stored(self) -> dict[str, int]:
        with self.factory() as s:
            return {
                model.__name__: s.scalar(select(func.count()).select_from(model))
                for model in (Message, OutboxItem, AuditLog, QuarantinedText)
            }


@contextmanager
def running(engine: Engine) -> Iterator[App]:
    with LoopbackSlack() as slack:
        runtime = Runtime(
            factory=session_factory(engine),
            clock=ManualClock(NOW),
            twilio=TwilioSettings(
                account_sid="AC" + "0" * 32,
                auth_token=TOKEN,
                from_number="+447911000001",
                messaging_service_sid=None,
                api_url="http://127.0.0.1:9",
                public_base_url=PUBLIC,
            ),
            slack=SlackSettings(slack.bot_token, slack.signing_secret, slack.url),
        )
        with TestClient(create_app(runtime)) as client:
            yield App(client, runtime.factory, slack)


@pytest.fixture
def app(engine: Engine) -> Iterator[App]:
    with running(engine) as running_app:
        yield running_app


def parent(app: App) -> str:
    with app.factory() as s, s.begin():
        school = make_school(s)
        return make_contact(s, school, make_pupil(s, school, "Amira")).phone


header_text = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=60)
content_types = st.sampled_from(
    [FORM, "multipart/form-data; boundary=xyz", "application/json", "text/plain", ""]
)


@FUZZ
@given(
    route=st.sampled_from(ROUTES),
    body=st.binary(max_size=3000) | st.text(max_size=1000).map(str.encode),
    content_type=content_types,
    signature=header_text,
)
def test_unsigned_requests_get_a_4xx_and_store_nothing(
    app: App, route: str, body: bytes, content_type: str, signature: str
) -> None:
    headers = {"Content-Type": content_type, "X-Twilio-Signature": signature}
    headers |= {"X-Slack-Signature": signature, "X-Slack-Request-Timestamp": str(int(time.time()))}
    answer = app.client.post(route, content=body, headers=headers)
    assert 400 <= answer.status_code < 500
    assert set(app.stored().values()) == {0}


field_text = st.text(max_size=300)
twilio_fields = st.fixed_dictionaries(
    {},
    optional={
        "MessageSid": field_text | st.just("SM" + "a" * 32),
        "From": field_text | st.sampled_from(["whatsapp:+447700900123", "+447700900123"]),
        "To": field_text,
        "Body": st.text(max_size=2000),
        "MessageStatus": field_text | st.sampled_from(["delivered", "failed"]),
        "ErrorCode": field_text,
        "NumMedia": field_text,
    },
)


@FUZZ
@given(route=st.sampled_from(ROUTES[:2]), fields=twilio_fields)
def test_signed_twilio_webhooks_with_any_fields_get_2xx_or_4xx(
    app: App, route: str, fields: dict[str, str]
) -> None:
    answer = app.twilio(route, fields)
    assert answer.status_code in (200, 400), answer.text
    with app.factory() as s:
        bodies = s.scalars(select(Message.body)).all()
    assert all("\x00" not in b for b in bodies)


json_leaf = st.none() | st.booleans() | st.integers() | st.text(max_size=40)
json_value = st.recursive(
    json_leaf,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3)
    ),
    max_leaves=8,
)
interaction = st.fixed_dictionaries(
    {"type": st.sampled_from(["view_submission", "block_actions", "view_closed", "shortcut"])},
    optional={
        "view": st.fixed_dictionaries(
            {"type": st.sampled_from(["modal", "home"]) | json_leaf},
            optional={
                "callback_id": st.just("case_change") | json_leaf,
                "private_metadata": json_value.map(json.dumps) | json_leaf,
                "state": json_value,
            },
        ),
        "user": st.fixed_dictionaries({}, optional={"id": json_leaf}),
        "actions": st.lists(
            st.fixed_dictionaries(
                {"action_id": st.sampled_from(["case_confirm", "task_claim", "case_change"])},
                optional={"value": json_leaf},
            ),
            max_size=2,
        ),
        "channel": json_value,
        "trigger_id": json_leaf,
    },
)
slack_bodies = st.one_of(
    interaction.map(lambda d: urllib.parse.urlencode({"payload": json.dumps(d)}).encode()),
    st.binary(max_size=2000),
    st.text(max_size=500).map(lambda t: urllib.parse.urlencode({"payload": t}).encode()),
    st.dictionaries(st.sampled_from(["type", "view", "user", "actions", "team"]), st.text()).map(
        lambda d: urllib.parse.urlencode({"payload": json.dumps(d)}).encode()
    ),
    st.dictionaries(st.sampled_from(["command", "text", "user_id", "channel_id"]), st.text()).map(
        lambda d: urllib.parse.urlencode(d).encode()
    ),
)


@FUZZ
@given(body=slack_bodies, content_type=st.sampled_from([FORM, "application/json"]))
def test_signed_slack_requests_with_any_body_get_2xx_or_4xx(
    app: App, body: bytes, content_type: str
) -> None:
    assert app.slack_signed(body, content_type).status_code < 500


def test_the_requests_that_answered_500_before(app: App) -> None:
    phone = parent(app)
    sid = "SM" + "1" * 32
    answer = app.twilio("/twilio/sms", {"MessageSid": sid, "From": phone, "Body": "ill\x00 today"})
    assert answer.status_code == 200
    whatsapp = {"MessageSid": "SM" + "2" * 32, "From": f"whatsapp:{phone}", "Body": "fever"}
    assert app.twilio("/twilio/sms", whatsapp).status_code == 200
    with app.factory() as s:
        stored = s.execute(select(Message.body, Message.from_phone, Message.contact_id)).all()
    assert [(b, f, c is not None) for b, f, c in stored] == [
        ("ill today", phone, True),
        ("fever", phone, True),
    ]
    long_from = {"MessageSid": "SM" + "3" * 32, "From": "+44" + "7" * 297, "Body": "x"}
    answer = app.twilio("/twilio/sms", long_from)
    assert (answer.status_code, answer.text) == (400, "From is too long (at most 20 characters)")
    long_sid = {"MessageSid": "SM" + "4" * 498, "From": phone, "Body": "x"}
    assert app.twilio("/twilio/sms", long_sid).text.startswith("MessageSid is too long")
    for size in (1_000_000, 10_000_000):
        files = {"file": ("a.bin", b"\xff" * size, "application/octet-stream")}
        answer = app.client.post("/twilio/sms", files=files, headers={"X-Twilio-Signature": "x"})
        assert answer.status_code == 413
    assert app.slack_signed(b"\xff\xfe garbage").status_code == 400
    assert app.slack_signed(b"payload=not-json").text == "payload is not JSON"
    assert app.slack_signed(b"x" * (SLACK_BODY_LIMIT + 1)).status_code == 413
    oversized = b"a" * (TWILIO_BODY_LIMIT + 1)
    big = app.client.post("/twilio/sms", content=oversized, headers={"X-Twilio-Signature": "x"})
    assert big.status_code == 413
    # No signature at all: refused before a byte of the body is read.
    assert app.client.post("/twilio/sms", content=oversized).status_code == 403
    unsigned_slack = app.client.post("/slack/events", content=b"payload=%7B%7D")
    assert unsigned_slack.status_code == 401
    assert len(stored) == 2 == app.stored()["Message"]


def test_a_modal_with_broken_private_metadata_is_answered_beside_the_field(app: App) -> None:
    view = {
        "id": "V1",
        "type": "modal",
        "callback_id": "case_change",
        "private_metadata": "{not json",
    }
    body, _ = app.slack.view_submission_request(view, {}, "U0CROFT01", timestamp=0)
    answer = app.slack_signed(body)
    assert answer.status_code == 200
    assert "lost track of its absence" in answer.text
    shapeless = {"id": "V1", "callback_id": "case_change"}  # no "type": Bolt cannot route it
    body, _ = app.slack.view_submission_request(shapeless, {}, "U0CROFT01", timestamp=0)
    assert app.slack_signed(body).status_code == 400


@contextmanager
def captured_logs() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    stream = io.StringIO()
    logs.configure(stream)
    try:
        yield stream
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])


def test_a_locked_database_is_a_503_and_the_log_holds_no_number_or_words(
    db_url: str, on_postgres: bool
) -> None:
    # Give up on a lock after 0.2 s, not the production 30 s.
    connect = {"options": "-c lock_timeout=200"} if on_postgres else {"timeout": 0.2}
    engine = make_engine(db_url, connect_args=connect)
    words = "Amira has a fever and the secret word is marmalade"
    try:
        with running(engine) as app, captured_logs() as log:
            phone = parent(app)
            with engine.connect() as blocker:
                if on_postgres:
                    blocker.execute(text("LOCK TABLE messages IN EXCLUSIVE MODE"))
                else:
                    blocker.exec_driver_sql("BEGIN IMMEDIATE")
                fields = {"MessageSid": "SM" + "9" * 32, "From": phone, "Body": words}
                answer = app.twilio("/twilio/sms", fields)
                blocker.rollback()
    finally:
        engine.dispose()
    written = log.getvalue()
    assert answer.status_code == 503 and "OperationalError" in written
    digits = phone.lstrip("+")
    assert phone not in written and digits not in written and digits[-9:] not in written
    assert "marmalade" not in written and "fever" not in written


def test_an_exception_is_logged_by_type_and_place_never_its_message() -> None:
    with captured_logs() as log:
        try:
            raise ValueError("Key (phone)=(+447700900123) already exists: Amira has a fever")
        except ValueError:
            logging.getLogger("somewhere").exception("third party saw %s", "07700 900123")
    written = log.getvalue()
    assert "ValueError (message withheld) at test_web.py" in written
    assert "900123" not in written and "fever" not in written
    assert "third party saw [number]" in written
    # The line's own timestamp is kept: it is not a phone number.
    assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} ERROR somewhere", written)


def test_the_engine_never_puts_parameters_in_an_error(engine: Engine) -> None:
    assert engine.hide_parameters is True
