"""The webhooks, served for real and called by the loopback Twilio with signed requests."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import ManualClock
from messaging.loopback_twilio import LoopbackTwilio, sign
from messaging.optout import is_opted_out
from messaging.outbox import dispatch_due, enqueue_sms
from messaging.sms_deliverer import SmsDeliverer
from messaging.transport import TwilioTransport
from storage.models import Contact, Message, OptOut
from storage.schools import load_school, read_settings_file, settings_from_text
from tests.factories import EXAMPLES, make_contact, make_pupil, make_school
from tests.messaging.conftest import PUBLIC, Calls, Web

SMS_URL = PUBLIC + "/twilio/sms"
STATUS_URL = PUBLIC + "/twilio/status"


def text_in(fake: LoopbackTwilio, web: Web, phone: str, body: str, **kwargs: Any) -> str:
    """A parent's text, POSTed to the app and signed over the public URL."""
    return fake.receive(phone, body, deliver_to=web.sms(), signed_url=SMS_URL, **kwargs)


def family(factory: sessionmaker[Session], **contact: Any) -> Contact:
    with factory() as s, s.begin():
        school = make_school(s)
        return make_contact(s, school, make_pupil(s, school, "Amira"), **contact)


def messages(factory: sessionmaker[Session]) -> list[Message]:
    with factory() as s:
        return list(s.scalars(select(Message).order_by(Message.id)))


def twiml_text(body: str) -> str | None:
    if body == "<Response/>":
        return None
    prefix, suffix = "<Response><Message>", "</Message></Response>"
    assert body.startswith(prefix) and body.endswith(suffix), body
    return body[len(prefix) : -len(suffix)]


def test_a_reply_is_stored_then_handed_to_the_bot(
    factory: sessionmaker[Session], fake: LoopbackTwilio, web: Web, calls: Calls
) -> None:
    contact = family(factory)
    sid = text_in(fake, web, contact.phone, "She has a temperature, back tomorrow")
    [delivery] = fake.deliveries
    assert (delivery.status, delivery.body) == (200, "<Response/>")
    [message] = messages(factory)
    assert (message.sid, message.direction, message.contact_id, message.school_id) == (
        sid,
        "inbound",
        contact.id,
        contact.school_id,
    )
    assert message.handled and message.status == "received"
    assert calls.replies == [(message.id, "She has a temperature, back tomorrow", [contact.id])]


def test_a_number_on_two_schools_rolls_reaches_both(
    factory: sessionmaker[Session], fake: LoopbackTwilio, web: Web, calls: Calls
) -> None:
    with factory() as s, s.begin():
        crofton, beecroft = make_school(s), make_school(s, "beecroft")
        first = make_contact(s, crofton, make_pupil(s, crofton, "Amira"))
        second = make_contact(s, beecroft, make_pupil(s, beecroft, "Omar"), phone=first.phone)
    text_in(fake, web, first.phone, "Both off sick")
    [message] = messages(factory)
    assert message.school_id is None and message.contact_id == first.id
    assert calls.replies[0][2] == [first.id, second.id]


@pytest.mark.parametrize("forgery", ["wrong_url", "wrong_token", "tampered", "missing"])
def test_forged_or_missing_signatures_are_refused_and_nothing_stored(
    factory: sessionmaker[Session], fake: LoopbackTwilio, web: Web, calls: Calls, forgery: str
) -> None:
    contact = family(factory)
    if forgery == "wrong_url":  # signed over the loopback address, as a naive app would check
        fake.receive(contact.phone, "Sick", deliver_to=web.sms())
        status = fake.last_delivery_status
    else:
        params = {
            "MessageSid": "SM" + "a" * 32,
            "From": contact.phone,
            "To": "+447911000001",
            "Body": "Sick",
            "AccountSid": fake.account_sid,
        }
        headers = {"X-Twilio-Signature": sign(SMS_URL, params, fake.auth_token)}
        if forgery == "wrong_token":
            headers["X-Twilio-Signature"] = sign(SMS_URL, params, "0" * 32)
        if forgery == "tampered":
            params = {**params, "Body": "Back tomorrow"}
        if forgery == "missing":
            headers = {}
        status = httpx.post(web.sms(), data=params, headers=headers).status_code
    assert status == 403
    assert messages(factory) == [] and calls.replies == []


def test_every_parameter_and_the_query_string_are_signed(
    factory: sessionmaker[Session], fake: LoopbackTwilio, web: Web, calls: Calls
) -> None:
    contact = family(factory)
    fake.receive(
        contact.phone,
        "Sick",
        deliver_to=web.sms() + "?school=1",
        signed_url=SMS_URL + "?school=1",
        extra={"NewTwilioField": "x"},
    )
    assert fake.last_delivery_status == 200
    # The same request with the query dropped from what was signed fails.
    fake.receive(
        contact.phone, "Sick again", deliver_to=web.sms() + "?school=1", signed_url=SMS_URL
    )
    assert fake.last_delivery_status == 403
    assert [m.body for m in messages(factory)] == ["Sick"]


def test_a_duplicate_message_sid_is_stored_once(
    factory: sessionmaker[Session], fake: LoopbackTwilio, web: Web, calls: Calls
) -> None:
    contact = family(factory)
    text_in(fake, web, contact.phone, "Sick")
    delivery = fake.deliveries[-1]
    again = httpx.post(
        web.sms(), data=delivery.params, headers={"X-Twilio-Signature": delivery.signature}
    )
    assert (again.status_code, again.text) == (200, "<Response/>")
    assert len(messages(factory)) == 1 and len(calls.replies) == 1


def test_an_unknown_number_gets_the_generic_reply_and_no_child(
    factory: sessionmaker[Session], fake: LoopbackTwilio, web: Web, calls: Calls
) -> None:
    family(factory)  # Amira's family, at Crofton Infants
    text_in(fake, web, "+447700900555", "Is Amira in today?")
    [delivery] = fake.deliveries
    reply = twiml_text(delivery.body)
    assert reply is not None and "Crofton Infants" in reply and "01924 967606" in reply
    assert "Amira" not in reply
    [message] = messages(factory)
    assert (message.contact_id, message.school_id, message.handled) == (None, None, True)
    assert calls.replies == []


def test_an_unknown_number_with_several_schools_names_none(
    factory: sessionmaker[Session], fake: LoopbackTwilio, web: Web
) -> None:
    with factory() as s, s.begin():
        make_school(s)
        make_school(s, "beecroft")
    text_in(fake, web, "+447700900555", "hello?")
    reply = twiml_text(fake.deliveries[-1].body)
    assert reply is not None and reply.startswith("This is the absence line of the school")
    assert "Crofton" not in reply and "Beecroft" not in reply


def test_stop_start_and_help(
    factory: sessionmaker[Session], fake: LoopbackTwilio, web: Web, calls: Calls
) -> None:
    contact = family(factory)
    text_in(fake, web, contact.phone, "  stop ")
    assert twiml_text(fake.deliveries[-1].body) is None  # Twilio confirms STOP itself
    with factory() as s:
        assert is_opted_out(s, contact.phone)
        assert s.scalar(select(OptOut.keyword)) == "STOP"
    assert calls.opt_changes == [(contact.phone, [contact.id], True)]

    text_in(fake, web, contact.phone, "Start")
    assert twiml_text(fake.deliveries[-1].body) == (
        "Crofton Infants: you will receive absence texts from us again."
    )
    with factory() as s:
        assert not is_opted_out(s, contact.phone)
    assert calls.opt_changes[-1] == (contact.phone, [contact.id], False)

    text_in(fake, web, contact.phone, "HELP")
    reply = twiml_text(fake.deliveries[-1].body)
    assert reply is not None and reply.startswith("Crofton Infants absence line")
    assert "01924 967606" in reply

    text_in(fake, web, contact.phone, "Please stop texting me, she is at her dad's")
    assert twiml_text(fake.deliveries[-1].body) is None
    assert [body for _, body, _ in calls.replies] == ["Please stop texting me, she is at her dad's"]
    assert all(m.handled for m in messages(factory))
    assert len(calls.opt_changes) == 2


def test_the_reply_is_xml_and_escaped(
    factory: sessionmaker[Session], fake: LoopbackTwilio, web: Web, clock: ManualClock
) -> None:
    _, text = read_settings_file(EXAMPLES / "crofton.toml")
    text = text.replace('name = "Crofton Infants"', 'name = "St Mary & <St John>"', 1)
    with factory() as s, s.begin():
        load_school(s, settings_from_text(text, "test"), text, now=clock.now)
    params = {
        "MessageSid": "SM" + "b" * 32,
        "From": "+447700900555",
        "To": "+447911000001",
        "Body": "hi",
        "AccountSid": fake.account_sid,
    }
    answer = httpx.post(
        web.sms(),
        data=params,
        headers={"X-Twilio-Signature": sign(SMS_URL, params, fake.auth_token)},
    )
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/xml")
    assert "St Mary &amp; &lt;St John&gt;" in answer.text and "<St John>" not in answer.text


def test_a_failing_callback_still_answers_200_and_keeps_the_text(
    factory: sessionmaker[Session], fake: LoopbackTwilio, web: Web, calls: Calls
) -> None:
    contact = family(factory)
    calls.fail = True
    text_in(fake, web, contact.phone, "Sick")
    assert fake.last_delivery_status == 200
    [message] = messages(factory)
    assert message.body == "Sick" and not message.handled
    assert message.parse is None  # the callback's half-done work was rolled back


# -- status callbacks --------------------------------------------------------------------------


def sent_text(
    factory: sessionmaker[Session], transport: TwilioTransport, clock: ManualClock, contact: Contact
) -> str:
    with factory() as s, s.begin():
        enqueue_sms(
            s,
            key="sms:1",
            school_id=contact.school_id,
            contact_id=contact.id,
            to=contact.phone,
            body="Is Amira absent?",
            kind="first_contact",
            now=clock.now,
        )
    dispatch_due(factory, {"sms": SmsDeliverer(transport, PUBLIC)}, now=clock.now)
    [message] = messages(factory)
    assert message.sid
    return message.sid


def status(fake: LoopbackTwilio, web: Web, sid: str, state: str, code: int | None = None) -> int:
    return fake.send_status(sid, state, code, deliver_to=web.status(), signed_url=STATUS_URL)


def test_status_callbacks_move_forward_only(
    factory: sessionmaker[Session],
    fake: LoopbackTwilio,
    web: Web,
    calls: Calls,
    transport: TwilioTransport,
    clock: ManualClock,
) -> None:
    contact = family(factory)
    sid = sent_text(factory, transport, clock, contact)
    assert fake.sent[0].status_callback == STATUS_URL
    assert status(fake, web, sid, "sent") == 200
    assert status(fake, web, sid, "delivered") == 200
    assert status(fake, web, sid, "sent") == 200  # late and out of order
    assert status(fake, web, sid, "queued") == 200
    [message] = messages(factory)
    assert message.status == "delivered"
    assert calls.statuses == [(sid, "sent"), (sid, "delivered")]


def test_undelivered_30006_marks_the_contact(
    factory: sessionmaker[Session],
    fake: LoopbackTwilio,
    web: Web,
    calls: Calls,
    transport: TwilioTransport,
    clock: ManualClock,
) -> None:
    contact = family(factory)
    sid = sent_text(factory, transport, clock, contact)
    assert status(fake, web, sid, "undelivered", 30006) == 200
    with factory() as s:
        message = s.scalar(select(Message).where(Message.sid == sid))
        assert (message.status, message.error_code) == ("undelivered", 30006)
        assert s.get(Contact, contact.id).undeliverable == "Twilio error 30006"
    assert calls.statuses == [(sid, "undelivered")]


def test_status_for_an_unknown_sid_or_unsigned_is_ignored(
    factory: sessionmaker[Session],
    fake: LoopbackTwilio,
    web: Web,
    calls: Calls,
    transport: TwilioTransport,
    clock: ManualClock,
) -> None:
    contact = family(factory)
    sid = sent_text(factory, transport, clock, contact)
    foreign = transport.send("+447700900777", "not ours", status_callback=STATUS_URL)
    assert status(fake, web, foreign.sid, "delivered") == 200
    forged = fake.send_status(sid, "failed", 30003, deliver_to=web.status())  # signed over loopback
    assert forged == 403
    assert [m.status for m in messages(factory)] == ["queued"]
    assert calls.statuses == []
