"""TwilioTransport: the real SDK against the loopback Twilio, and the one error mapping."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
import requests
from twilio.base.exceptions import TwilioRestException

from bot.clock import ManualClock
from messaging.config import TwilioSettings
from messaging.delivery import TransportError
from messaging.loopback_twilio import LoopbackTwilio
from messaging.transport import TwilioTransport, twilio_error
from tests.messaging.conftest import SCHOOL_NUMBER

PARENT = "+447700900123"
CALLBACK = "https://firstcall.example.org/twilio/status"


def test_send_from_the_number_with_a_status_callback(
    fake: LoopbackTwilio, transport: TwilioTransport
) -> None:
    sent = transport.send(PARENT, "Is Sam absent today?", status_callback=CALLBACK)
    [record] = fake.sent
    assert (record.sid, record.to, record.from_, record.messaging_service_sid) == (
        sent.sid,
        PARENT,
        SCHOOL_NUMBER,
        None,
    )
    assert record.status_callback == CALLBACK and record.body == "Is Sam absent today?"
    assert (sent.status, sent.segments, sent.from_) == ("queued", 1, SCHOOL_NUMBER)


def test_send_through_a_messaging_service_when_set(
    fake: LoopbackTwilio, settings: TwilioSettings
) -> None:
    service = "MG" + "1" * 32
    transport = TwilioTransport(replace(settings, messaging_service_sid=service))
    transport.send(PARENT, "x", status_callback=CALLBACK)
    [record] = fake.sent
    assert (record.messaging_service_sid, record.from_) == (service, None)


def test_region_and_edge_in_the_environment_do_not_move_the_host(
    fake: LoopbackTwilio, settings: TwilioSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWILIO_REGION", "ie1")
    monkeypatch.setenv("TWILIO_EDGE", "dublin")
    TwilioTransport(settings, timeout=2).send(PARENT, "x", status_callback=CALLBACK)
    assert len(fake.sent) == 1


@pytest.mark.parametrize(
    ("status", "code", "permanent", "ambiguous"),
    [
        (429, 20429, False, False),
        (400, 21611, False, False),
        (500, 20500, False, True),
        (503, 20503, False, True),
        (400, 21211, True, False),
        (400, 21408, True, False),
        (400, 21606, True, False),
        (400, 21610, True, False),
        (400, 21612, True, False),
        (400, 21614, True, False),
        (400, 21617, True, False),
        (401, 20003, True, False),
        (404, 20404, True, False),
    ],
)
def test_twilio_errors_sorted_into_temporary_and_permanent(
    status: int, code: int, permanent: bool, ambiguous: bool
) -> None:
    error = twilio_error(TwilioRestException(status, "/Messages.json", "msg +447700900123", code))
    assert (error.permanent, error.ambiguous, error.code) == (permanent, ambiguous, code)
    assert "+44" not in str(error)  # Twilio's text can quote the number; ours never does


def test_network_errors_are_temporary_and_ambiguous_once_the_request_left() -> None:
    read = twilio_error(requests.ReadTimeout("read timed out"))
    dropped = twilio_error(requests.ConnectionError("Connection aborted"))
    connect = twilio_error(requests.ConnectTimeout("connect timed out"))
    assert (read.permanent, read.ambiguous) == (False, True)
    assert (dropped.permanent, dropped.ambiguous) == (False, True)
    assert (connect.permanent, connect.ambiguous) == (False, False)


def test_connection_refused_is_temporary_and_not_ambiguous(settings: TwilioSettings) -> None:
    from tests.messaging.conftest import free_port

    closed = TwilioTransport(replace(settings, api_url=f"http://127.0.0.1:{free_port()}"))
    with pytest.raises(TransportError) as caught:
        closed.send(PARENT, "x", status_callback=CALLBACK)
    assert (caught.value.permanent, caught.value.ambiguous) == (False, False)


def test_429_with_retry_after_through_the_real_client(
    fake: LoopbackTwilio, transport: TwilioTransport
) -> None:
    fake.fail_next(1, status=429, retry_after=7)
    with pytest.raises(TransportError) as caught:
        transport.send(PARENT, "x", status_callback=CALLBACK)
    assert (caught.value.permanent, caught.value.code, caught.value.retry_after) == (
        False,
        20429,
        7.0,
    )
    fake.fail_next(1, status=500)
    with pytest.raises(TransportError) as again:
        transport.send(PARENT, "x", status_callback=CALLBACK)
    assert again.value.retry_after is None  # not left over from the previous answer
    assert fake.sent == []


def test_permanent_refusal_through_the_real_client(
    fake: LoopbackTwilio, transport: TwilioTransport
) -> None:
    fake.fail_number(PARENT, 21610)
    with pytest.raises(TransportError) as caught:
        transport.send(PARENT, "x", status_callback=CALLBACK)
    assert (caught.value.permanent, caught.value.code) == (True, 21610)


@pytest.mark.parametrize("accepted", [False, True])
def test_timeout_is_ambiguous_and_find_sent_tells_the_cases_apart(
    fake: LoopbackTwilio,
    settings: TwilioSettings,
    transport: TwilioTransport,
    clock: ManualClock,
    accepted: bool,
) -> None:
    fake.timeout_next(1, seconds=2.0, accepted=accepted)
    with pytest.raises(TransportError) as caught:
        TwilioTransport(settings, timeout=0.3).send(
            PARENT, "Is Sam absent?", status_callback=CALLBACK
        )
    assert (caught.value.permanent, caught.value.ambiguous) == (False, True)
    found = transport.find_sent(PARENT, "Is Sam absent?", clock.now - timedelta(minutes=1))
    if accepted:
        assert found is not None and found.sid == fake.sent[0].sid
        assert (
            transport.find_sent(
                PARENT, "Is Sam absent?", clock.now - timedelta(minutes=1), exclude={found.sid}
            )
            is None
        )
    else:
        assert found is None


def test_find_sent_matches_number_body_and_time(
    fake: LoopbackTwilio, transport: TwilioTransport, clock: ManualClock
) -> None:
    early = transport.send(PARENT, "same words", status_callback=CALLBACK)
    clock.advance(hours=1)
    transport.send("+447700900999", "same words", status_callback=CALLBACK)
    transport.send(PARENT, "other words", status_callback=CALLBACK)
    fake.receive(PARENT, "same words")  # inbound, not ours
    assert transport.find_sent(PARENT, "same words", clock.now - timedelta(minutes=5)) is None
    found = transport.find_sent(PARENT, "same words", clock.now - timedelta(hours=2))
    assert found is not None and found.sid == early.sid


def test_list_inbound_pages_keeps_inbound_oldest_first(
    fake: LoopbackTwilio, transport: TwilioTransport, clock: ManualClock
) -> None:
    start = clock.now
    fake.receive(PARENT, "too old")
    clock.advance(minutes=10)
    sids = []
    for n in range(5):
        clock.advance(seconds=30)
        sids.append(fake.receive(PARENT, f"reply {n}"))
        transport.send(PARENT, f"text {n}", status_callback=CALLBACK)
    transport.page_size = 2
    listed = transport.list_inbound(start + timedelta(minutes=5))
    assert [t.sid for t in listed] == sids
    assert [t.body for t in listed][0] == "reply 0" and listed[0].to == SCHOOL_NUMBER
    assert listed[0].date_sent is not None and listed[0].from_ == PARENT
    pages = [path for method, path in fake.requests if method == "GET"]
    assert len(pages) == 5 and all("PageSize=2" in p for p in pages)


def test_wrong_credentials_are_a_permanent_transport_error(
    fake: LoopbackTwilio, settings: TwilioSettings, clock: ManualClock
) -> None:
    wrong = TwilioTransport(replace(settings, auth_token="0" * 32))
    with pytest.raises(TransportError) as caught:
        wrong.list_inbound(clock.now)
    assert (caught.value.permanent, caught.value.code) == (True, 20003)
