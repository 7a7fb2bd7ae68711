"""Measure the parent SMS gateway end to end on loopback.

    python benchmarks/gateway.py [--texts N] [--webhooks N] [--in-flight N] [--clients N]
                                 [--replies N] [--senders N]

Outbound: texts queued in the outbox and dispatched through `dispatch_due` and the real twilio
client (`TwilioTransport`) to the loopback Twilio, 16 in flight; texts per second, and a check
that each reached Twilio exactly once. Inbound: signed webhooks POSTed to the Twilio router
served by uvicorn (a no-op bot callback, so reply parsing is not measured); webhooks per
second and p50/p95 latency, with the web app in a process of its own. Replies to open cases:
the whole web app (`create_app`, the real bot callback) in a process of its own, N parents
each answering their child's open case, from 16 concurrent senders: every reply parsed, the
provisional mark set, the acknowledgement queued and the card refreshed before Twilio gets
its answer; replies per second and p50/p95 latency. SQLite in a temporary directory by default; DATABASE_URL (a
PostgreSQL server) is honoured, using a scratch database created and dropped for the run.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import multiprocessing
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import uvicorn  # noqa: E402
from fastapi import FastAPI  # noqa: E402
from sqlalchemy import create_engine, func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

from bot.jobs import sweep_and_escalate  # noqa: E402
from bot.runtime import Runtime, SlackSettings  # noqa: E402
from bot.web import create_app  # noqa: E402
from messaging.config import TwilioSettings  # noqa: E402
from messaging.inbound import twilio_router  # noqa: E402
from messaging.loopback_twilio import LoopbackTwilio, sign  # noqa: E402
from messaging.outbox import dispatch_due, enqueue_sms  # noqa: E402
from messaging.sms_deliverer import SmsDeliverer  # noqa: E402
from messaging.transport import TwilioTransport  # noqa: E402
from rules.texts import DEFAULT_TEMPLATES, segments  # noqa: E402
from storage.db import database_url, make_engine, session_factory, upgrade  # noqa: E402
from storage.models import (  # noqa: E402
    AbsenceCase,
    Contact,
    Message,
    OutboxItem,
    Pupil,
    PupilContact,
    RegisterMark,
)
from storage.schools import load_school, read_settings_file, settings_from_text  # noqa: E402

NOW = datetime(2026, 3, 10, 8, 40, tzinfo=UTC)
SCHOOL_NUMBER = "+447911000001"
PUBLIC = "https://firstcall.example.org"


@contextmanager
def scratch_database() -> Iterator[str]:
    """A migrated, empty database for the run: SQLite in a temporary directory, or a fresh
    database on the PostgreSQL server DATABASE_URL names (dropped afterwards)."""
    raw = os.environ.get("DATABASE_URL", "")
    if not raw.startswith(("postgres", "postgresql")):
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{Path(tmp) / 'gateway.db'}"
            upgrade(url)
            yield url
        return
    server = database_url(raw)
    name = f"firstcall_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def roster(factory: sessionmaker[Session], families: int) -> list[Contact]:
    settings, toml = read_settings_file(ROOT / "examples" / "crofton.toml")
    with factory() as s, s.begin():
        school = load_school(s, settings, toml, now=NOW)
        s.flush()
        contacts = []
        for n in range(families):
            pupil = Pupil(
                school_id=school.id,
                upn=f"B{n:012d}",
                first_name=f"Child{n}",
                last_name="Bench",
                year_group="1",
                class_name="1A",
            )
            contact = Contact(school_id=school.id, phone=f"+447700{n:06d}", name=f"Parent {n}")
            s.add_all([pupil, contact])
            contacts.append(contact)
            s.flush()
            s.add(
                PupilContact(
                    pupil_id=pupil.id, contact_id=contact.id, relationship_="Mother", priority=1
                )
            )
        return contacts


def outbound(
    factory: sessionmaker[Session],
    contacts: list[Contact],
    fake: LoopbackTwilio,
    settings: TwilioSettings,
    in_flight: int,
) -> None:
    with factory() as s, s.begin():
        for contact in contacts:
            enqueue_sms(
                s,
                key=f"sms:bench:{contact.id}",
                school_id=contact.school_id,
                contact_id=contact.id,
                to=contact.phone,
                kind="first_contact",
                now=NOW,
                body=f"Hello, this is Crofton Infants. Child{contact.id} was not in school "
                "when the register closed this morning. Please reply with the reason.",
            )
    transport = TwilioTransport(settings, timeout=10)
    start = time.perf_counter()
    report = dispatch_due(
        factory, {"sms": SmsDeliverer(transport, PUBLIC)}, now=NOW, max_in_flight=in_flight
    )
    elapsed = time.perf_counter() - start
    with factory() as s:
        stored = s.scalar(
            select(func.count()).select_from(Message).where(Message.direction == "outbound")
        )
        unsent = s.scalar(
            select(func.count()).select_from(OutboxItem).where(OutboxItem.status != "sent")
        )
    reached = len(fake.sent)
    distinct = len({(m.to, m.body) for m in fake.sent})
    print(f"texts dispatched           {report.sent} in {elapsed:.2f} s, {in_flight} in flight")
    print(f"texts per second           {report.sent / elapsed:,.0f}")
    print(
        f"reached Twilio             {reached} ({distinct} distinct; "
        f"{'exactly once each' if reached == distinct == len(contacts) else 'MISMATCH'}), "
        f"{stored} messages stored, {unsent} not sent"
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _serve_router(url: str, settings: TwilioSettings, port: int) -> None:
    """The web process: the Twilio router alone, with a no-op bot callback."""

    def no_op(session: Session, message: Message, found: Any, now: datetime) -> None:
        pass

    factory = session_factory(make_engine(url, pool_size=16, max_overflow=8))
    app = FastAPI()
    app.include_router(twilio_router(factory, settings, clock=lambda: NOW, on_reply=no_op))
    uvicorn.run(
        app, host="127.0.0.1", port=port, log_level="warning", lifespan="off", access_log=False
    )


@contextmanager
def web_process(url: str, settings: TwilioSettings) -> Iterator[tuple[str, int]]:
    """The app in a process of its own, as in production: Twilio is not in our process, so
    the load generator must not share the web app's interpreter lock."""
    port = free_port()
    process = multiprocessing.get_context("spawn").Process(
        target=_serve_router, args=(url, settings, port), daemon=True
    )
    process.start()
    try:
        _wait_for(port, process)
        yield "127.0.0.1", port
    finally:
        process.terminate()
        process.join(10)


def inbound(
    factory: sessionmaker[Session],
    url: str,
    contacts: list[Contact],
    settings: TwilioSettings,
    count: int,
    clients: int,
) -> None:
    requests: list[tuple[bytes, str]] = []
    for n in range(count):
        requests.append(
            signed_text(
                settings,
                contacts[n % len(contacts)].phone,
                "Sorry, she has a temperature and will be back tomorrow",
            )
        )

    with web_process(url, settings) as (host, port):
        results, elapsed = _post_all(host, [port], requests, clients, warm_up=50)
    ok = sum(1 for _, status in results if status == 200)
    with factory() as s:
        stored = s.scalar(
            select(func.count()).select_from(Message).where(Message.direction == "inbound")
        )
    print(
        f"webhooks handled           {len(results)} in {elapsed:.2f} s, {clients} concurrent "
        f"senders, {ok} answered 200, {stored} stored (with warm-up)"
    )
    print(f"webhooks per second        {len(results) / elapsed:,.0f}")
    print(f"webhook latency            {latency(results)}")


def signed_text(settings: TwilioSettings, phone: str, body: str) -> tuple[bytes, str]:
    """A parent's text as Twilio's webhook POSTs it: the form body and its signature."""
    params = {
        "MessageSid": "SM" + uuid.uuid4().hex,
        "AccountSid": settings.account_sid,
        "From": phone,
        "To": SCHOOL_NUMBER,
        "Body": body,
        "NumMedia": "0",
        "NumSegments": "1",
        "SmsStatus": "received",
        "ApiVersion": "2010-04-01",
    }
    signature = sign(settings.sms_webhook_url, params, settings.auth_token)
    return urllib.parse.urlencode(params).encode(), signature


def latency(results: list[tuple[float, int]]) -> str:
    latencies = sorted(seconds for seconds, _ in results)
    p50 = statistics.median(latencies) * 1000
    p95 = latencies[int(len(latencies) * 0.95) - 1] * 1000
    return f"p50 {p50:.1f} ms, p95 {p95:.1f} ms, max {latencies[-1] * 1000:.1f} ms"


REPLY_DAY = datetime(2026, 3, 10, 8, 40, tzinfo=UTC)  # 08:40 GMT: Crofton's register closes


def _serve_app(url: str, twilio: TwilioSettings, slack: SlackSettings, port: int) -> None:
    """The web process: the whole app, with the real bot behind the Twilio webhook."""
    runtime = Runtime(
        factory=session_factory(make_engine(url)),
        clock=lambda: REPLY_DAY + timedelta(minutes=10),
        twilio=twilio,
        slack=slack,
    )
    uvicorn.run(
        create_app(runtime),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="off",
        access_log=False,
    )


def replies_to_open_cases(url: str, count: int, senders: int, web_processes: int = 1) -> None:
    """Parents answering their children's open cases: the real work behind each webhook."""
    settings_text = (ROOT / "examples" / "crofton.toml").read_text()
    # Every child is absent; the mass-absence hold would stop the texts, so lift it.
    settings_text = settings_text.replace("[policy]\n", "[policy]\nmass_absence_share = 1.0\n")
    with LoopbackTwilio(phone_number=SCHOOL_NUMBER, clock=lambda: REPLY_DAY) as fake:
        twilio = fake.settings(PUBLIC)
        slack = SlackSettings("xoxb-bench", "bench-signing-secret", "http://127.0.0.1:9/api/")
        engine = make_engine(url)
        factory = session_factory(engine)
        with factory() as s, s.begin():
            settings = settings_from_text(settings_text, "crofton.toml")
            school = load_school(s, settings, settings_text, now=REPLY_DAY)
            s.flush()
            pupils = [
                Pupil(
                    school_id=school.id,
                    upn=f"R{n:012d}",
                    first_name=f"Child{n}",
                    last_name="Bench",
                    year_group="1",
                    class_name="1A",
                )
                for n in range(count)
            ]
            contacts = [
                Contact(school_id=school.id, phone=f"+447800{n:06d}", name=f"Parent {n}")
                for n in range(count)
            ]
            s.add_all([*pupils, *contacts])
            s.flush()
            s.add_all(
                PupilContact(pupil_id=p.id, contact_id=c.id, relationship_="Mother", priority=1)
                for p, c in zip(pupils, contacts, strict=True)
            )
            s.add_all(
                RegisterMark(
                    pupil_id=p.id,
                    date=REPLY_DAY.date(),
                    session="AM",
                    code="N",
                    source="import",
                    updated_at=REPLY_DAY,
                )
                for p in pupils
            )
            phones = [(c.phone, p.first_name) for p, c in zip(pupils, contacts, strict=True)]
        runtime = Runtime(factory=factory, clock=lambda: REPLY_DAY, twilio=twilio, slack=slack)
        swept = sweep_and_escalate(runtime, REPLY_DAY)
        # A parent answers the text they were sent: the first texts go out (to the loopback
        # Twilio) before any reply, as they do minutes after the register closes.
        sent = dispatch_due(
            factory,
            {"sms": SmsDeliverer(TwilioTransport(twilio, timeout=10), PUBLIC)},
            now=REPLY_DAY,
        )
        with factory() as s:
            opened = s.scalar(select(func.count()).select_from(AbsenceCase))
        print(f"open cases                 {opened} ({swept.swept}), {sent.sent} first texts sent")

        requests: list[tuple[bytes, str]] = []
        for phone, child in phones:
            requests.append(
                signed_text(
                    twilio, phone, f"Sorry, {child} has a temperature and will be back tomorrow"
                )
            )

        # As in production, several web processes may share the load behind one address.
        ports = [free_port() for _ in range(web_processes)]
        processes = [
            multiprocessing.get_context("spawn").Process(
                target=_serve_app, args=(url, twilio, slack, port), daemon=True
            )
            for port in ports
        ]
        for process in processes:
            process.start()
        try:
            for port, process in zip(ports, processes, strict=True):
                _wait_for(port, process)
            results, elapsed = _post_all("127.0.0.1", ports, requests, senders, warm_up=0)
        finally:
            for process in processes:
                process.terminate()
                process.join(10)
        with factory() as s:
            explained = s.scalar(
                select(func.count())
                .select_from(AbsenceCase)
                .where(AbsenceCase.provisional_code == "I")
            )
            acks = s.scalar(
                select(func.count()).select_from(OutboxItem).where(OutboxItem.key.like("sms:ack:%"))
            )
            cards = s.scalar(
                select(func.count())
                .select_from(OutboxItem)
                .where(OutboxItem.key.like("slack:case:%:v2"))
            )
        engine.dispose()
    ok = sum(1 for _, status in results if status == 200)
    print(
        f"replies to open cases      {len(results)} in {elapsed:.2f} s from {senders} senders "
        f"to {web_processes} web process(es), "
        f"{ok} answered 200; {explained} cases coded I (provisional), {acks} acknowledgements "
        f"and {cards} card edits queued"
    )
    print(f"replies per second         {len(results) / elapsed:,.0f}")
    print(f"reply latency              {latency(results)}")


def _wait_for(port: int, process: multiprocessing.process.BaseProcess) -> None:
    while True:  # start-up, not timing: wait for the socket to listen
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if not process.is_alive():
                raise RuntimeError("the web app did not start") from None
            time.sleep(0.05)


def _post_all(
    host: str, ports: list[int], requests: list[tuple[bytes, str]], clients: int, *, warm_up: int
) -> tuple[list[tuple[float, int]], float]:
    """POST every signed webhook from `clients` senders, each on a keep-alive connection
    to one of `ports` in turn (a light load generator, like Twilio's own); (latency, status)
    each, and the wall time after the first `warm_up` requests."""
    local = threading.local()
    senders = itertools.count()

    def post(item: tuple[bytes, str]) -> tuple[float, int]:
        if not hasattr(local, "conn"):
            port = ports[next(senders) % len(ports)]
            local.conn = http.client.HTTPConnection(host, port, timeout=60)
        body, signature = item
        t0 = time.perf_counter()
        local.conn.request(
            "POST",
            "/twilio/sms",
            body=body,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Twilio-Signature": signature,
            },
        )
        response = local.conn.getresponse()
        response.read()
        return time.perf_counter() - t0, response.status

    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(post, requests[:warm_up]))
        start = time.perf_counter()
        results = list(pool.map(post, requests[warm_up:]))
        return results, time.perf_counter() - start


def template_segments() -> None:
    """What each default text costs, filled in with long names: in GSM-7, and in UCS-2 when
    a name carries a letter outside GSM-7 (a Polish "ł" is enough)."""
    fields = {
        "school": "St Bartholomew's Church of England Primary Academy",
        "children": "Oluwaseun, Maximilian and Anastasia",
        "child": "Maximilian",
        "session": "this afternoon",
        "date": "Wed 30 Sep",
        "school_phone": "01924 967606",
        "from": "Mon 14 Sep",
        "to": "Fri 25 Sep",
        "note": "",
        "penalty_warning": "",
        "opens": "Mon 14 Sep at 08:30",
    }
    polish = {**fields, "children": "Michał, Zofia and Anastasia", "child": "Michał"}
    print("template segments          GSM-7 / UCS-2 (long names; a Polish name forces UCS-2)")
    for name, template in DEFAULT_TEMPLATES.items():
        gsm, ucs = segments(template.format_map(fields)), segments(template.format_map(polish))
        print(f"  {name:<24} {gsm} / {ucs}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=2000)
    parser.add_argument("--webhooks", type=int, default=2000)
    parser.add_argument("--in-flight", type=int, default=16)
    parser.add_argument("--clients", type=int, default=4, help="concurrent webhook senders")
    parser.add_argument("--replies", type=int, default=2000, help="replies to open cases")
    parser.add_argument("--senders", type=int, default=16, help="concurrent reply senders")
    parser.add_argument(
        "--web-processes", type=int, default=1, help="web processes sharing the replies"
    )
    parser.add_argument(
        "--only-replies", action="store_true", help="only the replies-to-open-cases run"
    )
    args = parser.parse_args(argv)
    os.environ.pop("TWILIO_REGION", None)
    os.environ.pop("TWILIO_EDGE", None)
    if not args.only_replies:
        template_segments()
    if args.replies:
        with scratch_database() as url:
            print(f"database                   {make_url(url).get_backend_name()}")
            replies_to_open_cases(url, args.replies, args.senders, args.web_processes)
    if args.only_replies:
        return 0

    with scratch_database() as url:
        # A connection for each send in flight, plus the claiming loop.
        engine = make_engine(url, pool_size=args.in_flight + 4, max_overflow=8)
        factory = session_factory(engine)
        print(f"database                   {engine.dialect.name}")
        contacts = roster(factory, max(args.texts, 1))
        with LoopbackTwilio(phone_number=SCHOOL_NUMBER, clock=lambda: NOW) as fake:
            settings = fake.settings(PUBLIC)
            outbound(factory, contacts, fake, settings, args.in_flight)
            inbound(factory, url, contacts, settings, args.webhooks + 50, args.clients)
        engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
