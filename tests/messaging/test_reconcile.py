"""Reconciliation: replies the webhook missed are found in Twilio's list and handled once."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import unquote
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import ManualClock
from messaging.config import TwilioSettings
from messaging.loopback_twilio import LoopbackTwilio, sign
from messaging.optout import is_opted_out
from messaging.reconcile import CURSOR, reconcile
from messaging.transport import TwilioTransport
from storage.models import JobState, Message, OutboxItem, QuarantinedText
from tests.factories import NOW, make_contact, make_pupil, make_school
from tests.messaging.conftest import PUBLIC, Calls, Web


def parent(factory: sessionmaker[Session]) -> str:
    with factory() as s, s.begin():
        school = make_school(s)
        return make_contact(s, school, make_pupil(s, school, "Amira")).phone


def run(
    factory: sessionmaker[Session],
    transport: TwilioTransport,
    settings: TwilioSettings,
    clock: ManualClock,
    calls: Calls,
) -> int:
    return reconcile(
        factory,
        transport,
        settings,
        now=clock.now,
        on_reply=calls.on_reply,
        on_opt_change=calls.on_opt_change,
    )


def inbound(factory: sessionmaker[Session]) -> list[Message]:
    with factory() as s:
        return list(
            s.scalars(select(Message).where(Message.direction == "inbound").order_by(Message.id))
        )


def test_a_reply_the_webhook_missed_is_recovered_once(
    factory: sessionmaker[Session],
    fake: LoopbackTwilio,
    transport: TwilioTransport,
    settings: TwilioSettings,
    clock: ManualClock,
    calls: Calls,
) -> None:
    phone = parent(factory)
    clock.advance(minutes=1)
    sid = fake.receive(phone, "Sorry, Amira has a dentist appointment", deliver_to=None)
    clock.advance(minutes=4)
    assert run(factory, transport, settings, clock, calls) == 1
    [message] = inbound(factory)
    assert (message.sid, message.handled, message.contact_id is not None) == (sid, True, True)
    assert [body for _, body, _ in calls.replies] == ["Sorry, Amira has a dentist appointment"]
    clock.advance(minutes=5)
    assert run(factory, transport, settings, clock, calls) == 0
    assert len(inbound(factory)) == 1 and len(calls.replies) == 1
    with factory() as s:
        assert s.get(JobState, CURSOR).value == clock.now.isoformat()


def test_a_late_webhook_after_reconciliation_is_a_duplicate(
    factory: sessionmaker[Session],
    fake: LoopbackTwilio,
    transport: TwilioTransport,
    settings: TwilioSettings,
    clock: ManualClock,
    calls: Calls,
    web: Web,
) -> None:
    phone = parent(factory)
    sid = fake.receive(phone, "Sick", deliver_to=None)
    assert run(factory, transport, settings, clock, calls) == 1
    # Twilio's webhook for the same sid turning up after all.
    params = {"MessageSid": sid, "From": phone, "To": settings.from_number or "", "Body": "Sick"}
    answer = httpx.post(
        web.sms(),
        data=params,
        headers={"X-Twilio-Signature": sign(PUBLIC + "/twilio/sms", params, fake.auth_token)},
    )
    assert (answer.status_code, answer.text) == (200, "<Response/>")
    assert len(inbound(factory)) == 1 and len(calls.replies) == 1


def test_a_stored_text_whose_callback_failed_is_handled_again(
    factory: sessionmaker[Session],
    fake: LoopbackTwilio,
    transport: TwilioTransport,
    settings: TwilioSettings,
    clock: ManualClock,
    calls: Calls,
    web: Web,
) -> None:
    phone = parent(factory)
    calls.fail = True
    fake.receive(phone, "Sick", deliver_to=web.sms(), signed_url=PUBLIC + "/twilio/sms")
    assert fake.last_delivery_status == 200 and not inbound(factory)[0].handled
    calls.fail = False
    assert run(factory, transport, settings, clock, calls) == 0
    assert calls.replies == []  # too fresh: its webhook callback may still be running
    clock.advance(minutes=3)
    assert run(factory, transport, settings, clock, calls) == 0
    assert [body for _, body, _ in calls.replies] == ["Sick"] and inbound(factory)[0].handled
    clock.advance(minutes=3)
    run(factory, transport, settings, clock, calls)
    assert len(calls.replies) == 1


def test_a_missed_stop_is_recorded(
    factory: sessionmaker[Session],
    fake: LoopbackTwilio,
    transport: TwilioTransport,
    settings: TwilioSettings,
    clock: ManualClock,
    calls: Calls,
) -> None:
    phone = parent(factory)
    fake.receive(phone, "STOP", deliver_to=None)
    assert run(factory, transport, settings, clock, calls) == 1
    with factory() as s:
        assert is_opted_out(s, phone)
    assert [(p, out) for p, _, out in calls.opt_changes] == [(phone, True)]
    assert calls.replies == []


def test_only_texts_to_our_number_since_the_cursor_are_taken(
    factory: sessionmaker[Session],
    fake: LoopbackTwilio,
    transport: TwilioTransport,
    settings: TwilioSettings,
    clock: ManualClock,
    calls: Calls,
) -> None:
    phone = parent(factory)
    fake.receive(phone, "old news", deliver_to=None)
    clock.advance(hours=1)
    assert run(factory, transport, settings, clock, calls) == 1  # first run looks back a day
    clock.advance(hours=1)
    fake.receive(phone, "to another app on the account", to="+447911999999", deliver_to=None)
    fake.receive(phone, "new", deliver_to=None, date_sent=clock.now - timedelta(minutes=5))
    clock.advance(minutes=1)
    assert run(factory, transport, settings, clock, calls) == 1
    assert [m.body for m in inbound(factory)] == ["old news", "new"]
    listed = [path for method, path in fake.requests if method == "GET"][-1]
    assert "DateSent%3E=" in listed or "DateSent>=" in listed


def test_a_twilio_error_returns_0_and_keeps_the_cursor(
    factory: sessionmaker[Session],
    fake: LoopbackTwilio,
    settings: TwilioSettings,
    clock: ManualClock,
    calls: Calls,
) -> None:
    phone = parent(factory)
    fake.receive(phone, "Sick", deliver_to=None)
    broken = TwilioTransport(replace(settings, auth_token="0" * 32))
    assert run(factory, broken, settings, clock, calls) == 0
    with factory() as s:
        assert s.get(JobState, CURSOR) is None
    assert inbound(factory) == []
    assert run(factory, TwilioTransport(settings), settings, clock, calls) == 1


def test_the_cursor_goes_to_twilio_in_utc(fake: LoopbackTwilio, transport: TwilioTransport) -> None:
    summer_morning = datetime(2026, 6, 10, 9, 0, tzinfo=ZoneInfo("Europe/London"))
    transport.list_inbound(summer_morning)
    listed = unquote([path for method, path in fake.requests if method == "GET"][-1])
    assert "DateSent>=2026-06-10T08:00:00Z" in listed


def test_a_text_that_cannot_be_stored_is_quarantined_and_the_cursor_moves_on(
    factory: sessionmaker[Session],
    fake: LoopbackTwilio,
    transport: TwilioTransport,
    settings: TwilioSettings,
    clock: ManualClock,
    calls: Calls,
) -> None:
    phone = parent(factory)
    clock.advance(minutes=1)
    poison = fake.receive("+44" + "7" * 297, "Amira is off sick today", deliver_to=None)
    nul = fake.receive(phone, "Amira\x00 is ill", deliver_to=None)
    after = fake.receive(phone, "and back tomorrow", deliver_to=None)
    told: list[tuple[str, list[int]]] = []

    def on_quarantine(session: Session, sid: str, schools: Any, now: Any) -> None:
        told.append((sid, list(schools)))

    def run_once() -> int:
        return reconcile(
            factory,
            transport,
            settings,
            now=clock.now,
            on_reply=calls.on_reply,
            on_opt_change=calls.on_opt_change,
            on_quarantine=on_quarantine,
        )

    clock.advance(minutes=4)
    assert run_once() == 2
    stored = {m.sid: m.body for m in inbound(factory)}
    assert stored == {nul: "Amira is ill", after: "and back tomorrow"}
    with factory() as s:
        [held] = s.scalars(select(QuarantinedText)).all()
        assert (held.sid, held.error) == (poison, "Unstorable")
        assert s.get(JobState, CURSOR).value == clock.now.isoformat()
    assert len(told) == 1 and told[0][0] == poison and len(told[0][1]) == 1
    clock.advance(minutes=5)  # the next run's overlap lists it again: quarantined once
    assert run_once() == 0
    assert len(told) == 1


def test_the_office_hears_of_a_quarantined_text_without_its_content(
    factory: sessionmaker[Session],
) -> None:
    from bot.slack.render import render_notice
    from bot.workflow.faults import text_quarantined

    with factory() as s, s.begin():
        school = make_school(s)
        text_quarantined(s, "SM" + "5" * 32, [school.id], clock_now := ManualClock(NOW).now)
    with factory() as s:
        [item] = s.scalars(select(OutboxItem)).all()
    # The notice is worded when it goes out (bot/slack/render.py); the row holds its facts.
    text = render_notice(item.payload["notice"], item.payload["facts"])
    assert item.payload["op"] == "notice" and ("SM" + "5" * 32) in text
    assert "could not be stored" in text and item.created_at == clock_now
