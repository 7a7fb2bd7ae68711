"""The outbox: idempotent enqueueing, and dispatch through the real SDK to the loopback Twilio
with injected failures, where every text must reach Twilio exactly once."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import ManualClock
from messaging.delivery import TransportError
from messaging.loopback_twilio import LoopbackTwilio
from messaging.optout import is_opted_out, record_opt_out
from messaging.outbox import (
    LEASE,
    DispatchReport,
    backoff,
    dispatch_due,
    enqueue,
    enqueue_sms,
)
from messaging.sms_deliverer import SmsDeliverer
from messaging.transport import TwilioTransport
from storage.models import AbsenceCase, Contact, Message, OutboxItem, PupilContact
from tests.factories import make_contact, make_pupil, make_school
from tests.messaging.conftest import PUBLIC


def queue_texts(
    factory: sessionmaker[Session], clock: ManualClock, n: int, **contact: Any
) -> list[tuple[int, str, str]]:
    """``n`` contacts with a text each; returns (outbox id, phone, body)."""
    out = []
    with factory() as s, s.begin():
        school = make_school(s)
        for i in range(n):
            pupil = make_pupil(s, school, f"Child{i}")
            person = make_contact(s, school, pupil, **contact)
            body = f"Hello, is Child{i} absent today? (text {i})"
            item = enqueue_sms(
                s,
                key=f"sms:test:{i}",
                school_id=school.id,
                contact_id=person.id,
                to=person.phone,
                body=body,
                kind="first_contact",
                now=clock.now,
            )
            s.flush()
            out.append((item.id, person.phone, body))
    return out


def run(
    factory: sessionmaker[Session], transport: TwilioTransport, clock: ManualClock, **kwargs: Any
) -> DispatchReport:
    return dispatch_due(factory, {"sms": SmsDeliverer(transport, PUBLIC)}, now=clock.now, **kwargs)


def items(factory: sessionmaker[Session]) -> list[OutboxItem]:
    with factory() as s:
        return list(s.scalars(select(OutboxItem).order_by(OutboxItem.id)))


def assert_each_sent_once(
    fake: LoopbackTwilio, factory: sessionmaker[Session], texts: list[tuple[int, str, str]]
) -> None:
    assert sorted((m.to, m.body) for m in fake.sent) == sorted((p, b) for _, p, b in texts)
    with factory() as s:
        stored = {
            m.sid: m for m in s.scalars(select(Message).where(Message.direction == "outbound"))
        }
    assert set(stored) == {m.sid for m in fake.sent}
    for row in items(factory):
        assert row.status == "sent" and row.result["sid"] in stored
        assert stored[row.result["sid"]].outbox_id == row.id


# -- enqueueing --------------------------------------------------------------------------------


def test_enqueue_is_idempotent_on_key(factory: sessionmaker[Session], clock: ManualClock) -> None:
    with factory() as s, s.begin():
        school = make_school(s)
        first = enqueue(
            s,
            key="slack:case:1:v1",
            channel="slack",
            payload={"op": "card"},
            school_id=school.id,
            now=clock.now,
        )
        again = enqueue(
            s,
            key="slack:case:1:v1",
            channel="slack",
            payload={"op": "other"},
            school_id=school.id,
            now=clock.now,
        )
        assert again is first
    with factory() as s, s.begin():
        later = enqueue(
            s, key="slack:case:1:v1", channel="slack", payload={}, school_id=None, now=clock.now
        )
        assert later.id == first.id and later.payload == {"op": "card"}
    assert len(items(factory)) == 1


def test_a_concurrent_enqueue_of_the_same_key_joins_the_winner(
    factory: sessionmaker[Session], clock: ManualClock
) -> None:
    """B looks (and misses) while A's insert is uncommitted; B's insert then hits the unique
    key, and B must get A's row with its own transaction intact."""
    engine = factory.kw["bind"]
    b_inserting = threading.Event()
    b_thread: list[threading.Thread] = []

    @event.listens_for(engine, "before_cursor_execute")
    def signal(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if threading.current_thread() in b_thread and statement.startswith("INSERT INTO outbox"):
            b_inserting.set()

    result: dict[str, Any] = {}

    def b() -> None:
        with factory() as s, s.begin():
            item = enqueue(
                s, key="k", channel="sms", payload={"who": "B"}, school_id=None, now=clock.now
            )
            result["payload"] = item.payload
            result["id"] = item.id
            enqueue(s, key="k2", channel="sms", payload={}, school_id=None, now=clock.now)

    try:
        with factory() as s:
            with s.begin():
                enqueue(
                    s, key="k", channel="sms", payload={"who": "A"}, school_id=None, now=clock.now
                )
                s.flush()
                thread = threading.Thread(target=b)
                b_thread.append(thread)
                thread.start()
                assert b_inserting.wait(10)
            thread.join(20)
    finally:
        event.remove(engine, "before_cursor_execute", signal)
    assert result["payload"] == {"who": "A"}
    assert [i.key for i in items(factory)] == ["k", "k2"]


def test_enqueue_sms_payload(factory: sessionmaker[Session], clock: ManualClock) -> None:
    with factory() as s, s.begin():
        school = make_school(s)
        item = enqueue_sms(
            s,
            key="sms:1",
            school_id=school.id,
            contact_id=None,
            to="+447700900001",
            body="é" * 71,
            kind="follow_up",
            now=clock.now,
            case_ids=(4, 5),
        )
        assert item.payload == {
            "to": "+447700900001",
            "body": "é" * 71,
            "contact_id": None,
            "kind": "follow_up",
            "case_ids": [4, 5],
            "segments": 1,
        }
        assert (item.status, item.attempts, item.next_attempt_at) == ("pending", 0, clock.now)


# -- dispatching through faults --------------------------------------------------------------


def test_every_text_sent_once_through_429s_and_500s(
    factory: sessionmaker[Session],
    fake: LoopbackTwilio,
    transport: TwilioTransport,
    clock: ManualClock,
) -> None:
    texts = queue_texts(factory, clock, 24)
    fake.fail_next(3, status=500)
    fake.fail_next(4, status=429, retry_after=20)
    first = run(factory, transport, clock)
    # Seven refusals; a loaded loopback can add the odd reset connection, retried like any.
    assert first.retried >= 7 and first.sent == 24 - first.retried
    assert (first.failed, first.cancelled) == (0, 0)
    retrying = [i for i in items(factory) if i.status == "pending"]
    assert len(retrying) == first.retried
    assert all(i.next_attempt_at > clock.now and i.last_error for i in retrying)
    assert run(factory, transport, clock).sent == 0  # nothing is due yet at the same instant
    clock.advance(hours=1)
    second = run(factory, transport, clock)
    assert (second.sent, second.retried) == (first.retried, 0)
    assert_each_sent_once(fake, factory, texts)
    assert run(factory, transport, clock) == DispatchReport()


def test_two_dispatchers_at_once_send_each_text_once(
    factory: sessionmaker[Session],
    fake: LoopbackTwilio,
    transport: TwilioTransport,
    clock: ManualClock,
) -> None:
    """The worker's register-close job and its outbox job can dispatch at the same moment; on
    SQLite, with no SKIP LOCKED, the conditional claim alone keeps them off each other's rows."""
    texts = queue_texts(factory, clock, 60)
    reports: list[DispatchReport] = []
    start = threading.Barrier(3)

    def dispatcher() -> None:
        start.wait()
        reports.append(run(factory, transport, clock, max_in_flight=4))

    threads = [threading.Thread(target=dispatcher) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sum(r.sent for r in reports) == 60 and sum(r.retried for r in reports) == 0
    assert_each_sent_once(fake, factory, texts)


def test_a_batch_taken_in_part_by_another_dispatcher_does_not_stop_the_run(
    engine: Engine,
    factory: sessionmaker[Session],
    fake: LoopbackTwilio,
    transport: TwilioTransport,
    clock: ManualClock,
) -> None:
    """Another dispatcher can take some rows of a batch between our look and our claim. The
    short claim that leaves says nothing about the rows after the batch: they are still due
    and this run sends them (it used to stop there, which made the test above flaky)."""
    texts = queue_texts(factory, clock, 30)
    claims: list[int] = []

    @event.listens_for(engine, "before_cursor_execute")
    def another_dispatcher(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        # Just before each claim, "another dispatcher" takes the first row of the batch.
        if statement.startswith("UPDATE outbox SET status") and "claimed_until" in statement:
            cursor.execute(
                "SELECT min(id) FROM outbox WHERE status = 'pending' AND channel = 'sms'"
            )
            (first,) = cursor.fetchone()
            if first is not None:
                # Conditional, as a real dispatcher's claim is: between the look and this
                # update a lane on another thread may have claimed the row itself.
                cursor.execute(
                    "UPDATE outbox SET status = 'cancelled' "
                    f"WHERE id = {int(first)} AND status = 'pending'"
                )
                if cursor.rowcount == 1:
                    claims.append(first)

    try:
        report = run(factory, transport, clock, max_in_flight=4)
    finally:
        event.remove(engine, "before_cursor_execute", another_dispatcher)
    taken = {i.id for i in items(factory) if i.status == "cancelled"}
    assert len(claims) > 2 and taken <= set(claims)
    assert report.sent == 30 - len(taken)
    assert [i.id for i in items(factory) if i.status not in ("sent", "cancelled")] == []
    assert sorted(m.body for m in fake.sent) == sorted(
        b for item_id, _, b in texts if item_id not in taken
    )


def test_retry_after_is_honoured(
    factory: sessionmaker[Session],
    fake: LoopbackTwilio,
    transport: TwilioTransport,
    clock: ManualClock,
) -> None:
    texts = queue_texts(factory, clock, 1)
    start = clock.now
    fake.fail_next(1, status=429, retry_after=30)
    run(factory, transport, clock)
    [item] = items(factory)
    assert (item.status, item.attempts, item.next_attempt_at) == (
        "pending",
        1,
        start + timedelta(seconds=30),
    )
    clock.now = start + timedelta(seconds=29)
    assert run(factory, transport, clock).sent == 0
    clock.now = start + timedelta(seconds=30)
    assert run(factory, transport, clock).sent == 1
    assert_each_sent_once(fake, factory, texts)


def test_answer_lost_after_twilio_accepted_adopts_instead_of_resending(
    factory: sessionmaker[Session],
    fake: LoopbackTwilio,
    transport: TwilioTransport,
    clock: ManualClock,
) -> None:
    texts = queue_texts(factory, clock, 3)
    fake.lose_answer_next(1, accepted=True)
    first = run(factory, transport, clock)
    assert (first.sent, first.retried) == (2, 1)
    assert len(fake.sent) == 3  # Twilio has all three; we know of two
    clock.advance(minutes=30)
    assert run(factory, transport, clock).sent == 1
    assert_each_sent_once(fake, factory, texts)
    adopted = [i for i in items(factory) if i.result.get("adopted")]
    assert len(adopted) == 1 and adopted[0].attempts == 2


def test_answer_lost_before_twilio_accepted_sends_on_retry(
    factory: sessionmaker[Session],
    fake: LoopbackTwilio,
    transport: TwilioTransport,
    clock: ManualClock,
) -> None:
    texts = queue_texts(factory, clock, 2)
    fake.lose_answer_next(1, accepted=False)
    assert run(factory, transport, clock).retried == 1
    assert len(fake.sent) == 1
    clock.advance(minutes=30)
    assert run(factory, transport, clock).sent == 1
    assert_each_sent_once(fake, factory, texts)
    assert not any(i.result.get("adopted") for i in items(factory))


def test_a_crashed_dispatcher_row_is_reclaimed_and_not_sent_twice(
    factory: sessionmaker[Session],
    fake: LoopbackTwilio,
    transport: TwilioTransport,
    clock: ManualClock,
) -> None:
    texts = queue_texts(factory, clock, 2)
    # A dispatcher claimed both, got the first to Twilio, and died before recording it.
    item_id, phone, body = texts[0]
    transport.send(phone, body, status_callback=PUBLIC + "/twilio/status")
    with factory() as s, s.begin():
        for row in s.scalars(select(OutboxItem)):
            row.status, row.attempts, row.claimed_until = "sending", 1, clock.now + LEASE
    assert run(factory, transport, clock) == DispatchReport()  # the lease still holds
    clock.advance(minutes=6)
    assert run(factory, transport, clock).sent == 2
    assert_each_sent_once(fake, factory, texts)
    assert [i.result.get("adopted", False) for i in items(factory)] == [True, False]


def test_retries_through_the_school_day_then_gives_up(
    factory: sessionmaker[Session],
    fake: LoopbackTwilio,
    transport: TwilioTransport,
    clock: ManualClock,
) -> None:
    """A text is not given up after a fixed number of attempts while the school day lasts
    (Crofton's `texts_until`, 17:00): an outage of hours loses nothing. After it, it is."""
    queue_texts(factory, clock, 1)
    failures: list[tuple[int, TransportError]] = []
    fake.fail_next(100, status=503)
    for hours in (0, 3, 3, 2.5, 1):  # 08:00, 11:00, 14:00, 16:30 and 17:30
        clock.advance(hours=hours)
        run(
            factory,
            transport,
            clock,
            max_attempts=3,
            on_permanent_failure=lambda s, item, error: failures.append((item.id, error)),
        )
        [item] = items(factory)
        if hours != 1:
            assert item.status == "pending" and failures == []
    assert (item.status, item.attempts) == ("failed", 5)
    assert item.last_error.startswith("gave up after 5 attempts")
    assert [i for i, _ in failures] == [item.id] and fake.sent == []


# -- never sent to -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "why", ["opted_out", "landline", "undeliverable", "no_contact", "barred_for_this_child"]
)
def test_untextable_contacts_are_cancelled_never_sent(
    factory: sessionmaker[Session],
    fake: LoopbackTwilio,
    transport: TwilioTransport,
    clock: ManualClock,
    why: str,
) -> None:
    with factory() as s, s.begin():
        school = make_school(s)
        pupil, sibling = make_pupil(s, school, "Zara"), make_pupil(s, school, "Ben")
        contact = make_contact(
            s,
            school,
            pupil,
            can_sms=why != "landline",
            no_contact=why in ("no_contact", "barred_for_this_child"),
        )
        if why == "barred_for_this_child":
            # Barred about Zara, allowed about her brother: a text about Zara must not go.
            s.add(
                PupilContact(
                    pupil_id=sibling.id, contact_id=contact.id, relationship_="Father", priority=1
                )
            )
        if why == "opted_out":
            record_opt_out(s, contact.phone, keyword="STOP", now=clock.now)
        if why == "undeliverable":
            contact.undeliverable = "Twilio error 21211"
        case = AbsenceCase(
            school_id=school.id,
            pupil_id=pupil.id,
            opened_on=clock.now.date(),
            opened_session="AM",
            last_absent_on=clock.now.date(),
            opened_at=clock.now,
        )
        s.add(case)
        s.flush()
        enqueue_sms(
            s,
            key="sms:1",
            school_id=school.id,
            contact_id=contact.id,
            to=contact.phone,
            body="Is Zara absent?",
            kind="first_contact",
            now=clock.now,
            case_ids=[case.id] if why == "barred_for_this_child" else [],
        )
    hooked: list[str] = []
    report = run(
        factory,
        transport,
        clock,
        on_permanent_failure=lambda s, item, error: hooked.append(str(error)),
    )
    assert (report.cancelled, report.sent) == (1, 0)
    assert fake.sent == [] and fake.requests == []
    [item] = items(factory)
    assert item.status == "cancelled" and item.last_error
    assert len(hooked) == 1 and hooked[0].startswith("cancelled")


def test_a_sibling_link_alone_does_not_cancel(
    factory: sessionmaker[Session],
    fake: LoopbackTwilio,
    transport: TwilioTransport,
    clock: ManualClock,
) -> None:
    """Barred about one child, allowed about another: a text about the other goes."""
    with factory() as s, s.begin():
        school = make_school(s)
        barred, allowed = make_pupil(s, school, "Zara"), make_pupil(s, school, "Ben")
        contact = make_contact(s, school, barred, no_contact=True)
        s.add(
            PupilContact(
                pupil_id=allowed.id, contact_id=contact.id, relationship_="Father", priority=1
            )
        )
        case = AbsenceCase(
            school_id=school.id,
            pupil_id=allowed.id,
            opened_on=clock.now.date(),
            opened_session="AM",
            last_absent_on=clock.now.date(),
            opened_at=clock.now,
        )
        s.add(case)
        s.flush()
        enqueue_sms(
            s,
            key="sms:1",
            school_id=school.id,
            contact_id=contact.id,
            to=contact.phone,
            body="Is Ben absent?",
            kind="first_contact",
            now=clock.now,
            case_ids=[case.id],
        )
    assert run(factory, transport, clock).sent == 1
    assert [m.body for m in fake.sent] == ["Is Ben absent?"]


@pytest.mark.parametrize("code", [21610, 21211, 21614])
def test_permanent_refusals_mark_the_number_and_call_the_hook(
    factory: sessionmaker[Session],
    fake: LoopbackTwilio,
    transport: TwilioTransport,
    clock: ManualClock,
    code: int,
) -> None:
    texts = queue_texts(factory, clock, 2)
    (refused_id, refused, _), (_, fine, _) = texts
    fake.fail_number(refused, code)
    hooked: list[tuple[int, int | None, bool]] = []

    def escalate(session: Session, item: OutboxItem, error: TransportError) -> None:
        hooked.append((item.id, error.code, error.permanent))
        session.add(
            Message(
                direction="outbound",
                from_phone="",
                to_phone="",
                body="marker",
                status="hook",
                handled=True,
                created_at=clock.now,
                updated_at=clock.now,
            )
        )

    report = run(factory, transport, clock, on_permanent_failure=escalate)
    assert (report.sent, report.failed, report.retried) == (1, 1, 0)
    assert hooked == [(refused_id, code, True)]
    with factory() as s:
        contact = s.scalar(select(Contact).where(Contact.phone == refused))
        assert is_opted_out(s, refused) == (code == 21610)
        assert (contact.undeliverable is not None) == (code in (21211, 21614))
        assert contact.can_sms == (code != 21614)
        assert s.scalar(select(func.count()).where(Message.status == "hook")) == 1
        assert not is_opted_out(s, fine)
    [failed] = [i for i in items(factory) if i.id == refused_id]
    assert (failed.status, failed.attempts, failed.last_error) == (
        "failed",
        1,
        f"Twilio error {code} (HTTP 400)",
    )
    clock.advance(hours=1)
    assert run(factory, transport, clock) == DispatchReport()  # never tried again


def test_a_failing_hook_still_records_the_failure(
    factory: sessionmaker[Session],
    fake: LoopbackTwilio,
    transport: TwilioTransport,
    clock: ManualClock,
) -> None:
    [(_, phone, _)] = queue_texts(factory, clock, 1)
    fake.fail_number(phone, 21211)

    def broken(session: Session, item: OutboxItem, error: TransportError) -> None:
        raise ValueError("bug in the bot")

    assert run(factory, transport, clock, on_permanent_failure=broken).failed == 1
    [item] = items(factory)
    assert item.status == "failed" and "on_permanent_failure raised ValueError" in item.last_error
    with factory() as s:
        assert s.scalar(select(Contact.undeliverable).where(Contact.phone == phone))


# -- concurrency and order ---------------------------------------------------------------------


class Recording:
    """A Slack-like deliverer that records the order and how many run at once."""

    def __init__(self) -> None:
        self.order: list[int] = []
        self.active = 0
        self.peak = 0
        self.lock = threading.Lock()

    def deliver(self, session: Session, item: OutboxItem) -> dict[str, Any]:
        with self.lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
            self.order.append(item.id)
        try:
            if item.payload.get("fail"):
                raise TransportError("slack rate limited", permanent=False, retry_after=5)
            return {"ok": True}
        finally:
            with self.lock:
                self.active -= 1


def test_texts_and_slack_go_side_by_side_and_slack_one_at_a_time_in_order(
    factory: sessionmaker[Session],
    fake: LoopbackTwilio,
    transport: TwilioTransport,
    clock: ManualClock,
) -> None:
    texts = queue_texts(factory, clock, 8)
    with factory() as s, s.begin():
        for n in range(8):
            enqueue(
                s,
                key=f"slack:{n}",
                channel="slack",
                payload={"n": n, "fail": n == 3},
                school_id=None,
                now=clock.now,
            )
        enqueue(s, key="email:1", channel="email", payload={}, school_id=None, now=clock.now)
    slack = Recording()
    report = dispatch_due(
        factory,
        {"sms": SmsDeliverer(transport, PUBLIC), "slack": slack},
        now=clock.now,
        max_in_flight=4,
    )
    assert (report.sent, report.retried) == (15, 1)
    assert str(report) == "15 sent, 1 to retry, 0 failed, 0 cancelled"
    assert sorted(m.body for m in fake.sent) == sorted(body for _, _, body in texts)
    assert slack.peak == 1 and slack.order == sorted(slack.order)
    by_channel = {i.channel: i for i in items(factory) if i.status != "sent"}
    assert by_channel["slack"].payload["fail"] and by_channel["slack"].next_attempt_at == (
        clock.now + timedelta(seconds=5)
    )
    assert by_channel["email"].status == "pending"  # no deliverer: left alone, not looped on


def test_the_sms_channel_needs_the_sms_deliverer(
    factory: sessionmaker[Session], clock: ManualClock
) -> None:
    with pytest.raises(TypeError, match="SmsDeliverer"):
        dispatch_due(factory, {"sms": Recording()}, now=clock.now)


def test_backoff_grows_with_jitter_and_is_capped() -> None:
    for attempts in range(1, 12):
        step = min(30 * 2 ** (attempts - 1), 900)
        delay = backoff(attempts).total_seconds()
        assert step / 2 <= delay <= step
    assert backoff(3, retry_after=0).total_seconds() == 1  # never a busy loop
