"""The loopback Twilio answers the real twilio client as Twilio does, and signs like Twilio."""

from __future__ import annotations

import threading
import urllib.parse
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from bot.clock import ManualClock
from messaging.loopback_twilio import LoopbackTwilio, count_segments, sign
from tests.messaging.conftest import SCHOOL_NUMBER as SCHOOL

PARENT = "+447700900001"


def client_for(
    fake: LoopbackTwilio, *, timeout: float | None = None, token: str | None = None
) -> Client:
    client = Client(
        fake.account_sid, token or fake.auth_token, http_client=TwilioHttpClient(timeout=timeout)
    )
    client.api.base_url = fake.url
    return client


class App:
    """A stand-in for the FirstCall web app: records the webhooks it receives."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.received: list[tuple[str, dict[str, str], dict[str, str]]] = []
        app = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                form = {
                    k: v[0]
                    for k, v in urllib.parse.parse_qs(raw.decode(), keep_blank_values=True).items()
                }
                app.received.append((self.path, form, dict(self.headers)))
                body = b"<Response/>"
                self.send_response(app.status)
                self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def app() -> Iterator[App]:
    server = App()
    yield server
    server.close()


def test_create_returns_a_message_resource_and_records_it(fake: LoopbackTwilio) -> None:
    client = client_for(fake)
    message = client.messages.create(
        to=PARENT,
        from_=SCHOOL,
        body="Is Sam absent today?",
        status_callback="https://x.test/status",
    )
    assert message.sid.startswith("SM") and len(message.sid) == 34
    assert (message.status, message.direction, message.to, message.from_) == (
        "queued",
        "outbound-api",
        PARENT,
        SCHOOL,
    )
    assert message.num_segments == "1" and message.error_code is None
    assert message.date_created == datetime(2026, 3, 10, 8, 0, tzinfo=UTC)
    [sent] = fake.sent
    assert (sent.sid, sent.to, sent.body, sent.status_callback) == (
        message.sid,
        PARENT,
        "Is Sam absent today?",
        "https://x.test/status",
    )
    assert client.messages(message.sid).fetch().body == "Is Sam absent today?"


def test_messaging_service_sid_is_accepted_instead_of_from(fake: LoopbackTwilio) -> None:
    message = client_for(fake).messages.create(
        to=PARENT, messaging_service_sid="MG" + "0" * 32, body="x"
    )
    assert message.messaging_service_sid == "MG" + "0" * 32
    assert fake.sent[0].from_ is None


def test_wrong_credentials_and_unknown_sid(fake: LoopbackTwilio) -> None:
    with pytest.raises(TwilioRestException) as bad_auth:
        client_for(fake, token="wrong").messages.create(to=PARENT, from_=SCHOOL, body="x")
    assert (bad_auth.value.status, bad_auth.value.code) == (401, 20003)
    with pytest.raises(TwilioRestException) as missing:
        client_for(fake).messages("SM" + "0" * 32).fetch()
    assert (missing.value.status, missing.value.code) == (404, 20404)


@pytest.mark.parametrize(
    ("to", "refuse", "code"),
    [("07700900001", None, 21211), (PARENT, 21610, 21610), (PARENT, 21614, 21614)],
)
def test_refused_sends_raise_with_twilio_codes(
    fake: LoopbackTwilio, to: str, refuse: int | None, code: int
) -> None:
    if refuse:
        fake.fail_number(PARENT, refuse)
    with pytest.raises(TwilioRestException) as error:
        client_for(fake).messages.create(to=to, from_=SCHOOL, body="x")
    assert (error.value.status, error.value.code) == (400, code)
    assert fake.sent == []


def test_fail_next_429_then_recovers(fake: LoopbackTwilio) -> None:
    client = client_for(fake)
    fake.fail_next(2, status=429, retry_after=3)
    for _ in range(2):
        with pytest.raises(TwilioRestException) as error:
            client.messages.create(to=PARENT, from_=SCHOOL, body="x")
        assert (error.value.status, error.value.code) == (429, 20429)
    # TwilioRestException carries no headers; read Retry-After off the wire directly.
    fake.fail_next(1, status=429, retry_after=3)
    raw = requests.post(
        f"{fake.url}/2010-04-01/Accounts/{fake.account_sid}/Messages.json",
        data={"To": PARENT, "From": SCHOOL, "Body": "x"},
        auth=(fake.account_sid, fake.auth_token),
    )
    assert (raw.status_code, raw.headers["Retry-After"], raw.json()["code"]) == (429, "3", 20429)
    assert fake.sent == []
    client.messages.create(to=PARENT, from_=SCHOOL, body="x")
    assert len(fake.sent) == 1


@pytest.mark.parametrize("accepted", [False, True])
def test_timeout_next_times_the_client_out(fake: LoopbackTwilio, accepted: bool) -> None:
    fake.timeout_next(1, seconds=0.5, accepted=accepted)
    with pytest.raises(requests.exceptions.Timeout):  # the SDK does not wrap it
        client_for(fake, timeout=0.1).messages.create(to=PARENT, from_=SCHOOL, body="x")
    assert len(fake.sent) == int(accepted)
    assert len(client_for(fake).messages.list()) == int(accepted)


@pytest.mark.parametrize("accepted", [False, True])
def test_lose_answer_next_closes_the_connection_unanswered(
    fake: LoopbackTwilio, accepted: bool
) -> None:
    fake.lose_answer_next(1, accepted=accepted)
    with pytest.raises(requests.exceptions.ConnectionError):
        client_for(fake).messages.create(to=PARENT, from_=SCHOOL, body="x")
    assert len(fake.sent) == int(accepted)
    client_for(fake).messages.create(to=PARENT, from_=SCHOOL, body="y")  # one fault only
    assert len(fake.sent) == int(accepted) + 1


def test_list_filters_by_date_sent_and_pages(fake: LoopbackTwilio, clock: ManualClock) -> None:
    client = client_for(fake)
    start = clock.now
    for minute in range(5):
        clock.now = start + timedelta(minutes=minute)
        client.messages.create(to=PARENT, from_=SCHOOL, body=f"m{minute}")
    clock.now = start + timedelta(minutes=5)
    reply_sid = fake.receive(PARENT, "Yes, sick")
    clock.now = start - timedelta(days=1)
    client.messages.create(to=PARENT, from_=SCHOOL, body="yesterday")

    recent = client.messages.list(date_sent_after=start + timedelta(minutes=2), page_size=2)
    assert [m.body for m in recent] == ["Yes, sick", "m4", "m3", "m2"]  # newest first, inclusive
    assert recent[0].sid == reply_sid and recent[0].direction == "inbound"
    pages = [path for method, path in fake.requests if method == "GET"]
    assert len(pages) == 2 and "PageToken=PA" in pages[1]

    assert len(client.messages.list(from_=PARENT)) == 1
    assert len(client.messages.list(to=PARENT, date_sent="2026-03-10")) == 5
    assert [m.body for m in client.messages.list(date_sent_before="2026-03-09")] == ["yesterday"]
    page = client.messages.page(page_size=3)
    assert page.next_page_url and page.previous_page_url is None
    second = page.next_page()
    assert [m.body for m in second] == ["m2", "m1", "m0"]
    last = second.next_page()
    assert [m.body for m in last] == ["yesterday"] and last.next_page_url is None
    assert [m.body for m in last.previous_page()] == ["m2", "m1", "m0"]


def test_receive_posts_a_signed_inbound_form(fake: LoopbackTwilio, app: App) -> None:
    public = "https://firstcall.example.org/twilio/sms"
    sid = fake.receive(PARENT, "STOP", deliver_to=app.url + "/twilio/sms", signed_url=public)
    [(path, form, headers)] = app.received
    assert path == "/twilio/sms" and fake.last_delivery_status == 200
    assert form["MessageSid"] == form["SmsSid"] == form["SmsMessageSid"] == sid
    assert (form["From"], form["To"], form["Body"], form["NumMedia"], form["NumSegments"]) == (
        PARENT,
        SCHOOL,
        "STOP",
        "0",
        "1",
    )
    assert form["AccountSid"] == fake.account_sid and form["FromCountry"] == "GB"
    validator = RequestValidator(fake.auth_token)
    assert validator.validate(public, form, headers["X-Twilio-Signature"])
    assert not validator.validate(app.url + "/twilio/sms", form, headers["X-Twilio-Signature"])
    assert fake.messages[0]["status"] == "received"


def test_send_status_posts_to_the_recorded_status_callback(fake: LoopbackTwilio, app: App) -> None:
    app.status = 500
    message = client_for(fake).messages.create(
        to=PARENT, from_=SCHOOL, body="x", status_callback=app.url + "/twilio/status"
    )
    assert fake.send_status(message.sid, "undelivered", 30003) == 500
    [(path, form, headers)] = app.received
    assert path == "/twilio/status"
    assert (form["MessageSid"], form["MessageStatus"], form["ErrorCode"]) == (
        message.sid,
        "undelivered",
        "30003",
    )
    assert RequestValidator(fake.auth_token).validate(
        app.url + "/twilio/status", form, headers["X-Twilio-Signature"]
    )
    fetched = client_for(fake).messages(message.sid).fetch()
    assert (fetched.status, fetched.error_code) == ("undelivered", 30003)


def test_sign_matches_the_sdk_validator() -> None:
    params = {"Body": "Yes", "From": PARENT, "MessageSid": "SM1"}
    signature = sign("https://a.test/sms?x=1", params, "secret")
    assert RequestValidator("secret").validate("https://a.test/sms?x=1", params, signature)


def test_count_segments() -> None:
    assert count_segments("a" * 160) == 1
    assert count_segments("a" * 161) == 2
    assert count_segments("€" * 80) == 1 and count_segments("€" * 81) == 2
    assert count_segments("🙂" * 35) == 1 and count_segments("é" + "ŵ" * 70) == 2
