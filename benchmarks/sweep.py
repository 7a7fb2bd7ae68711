"""Register close to every text handed to the loopback Twilio, for a 1,500-pupil school and
a 30,000-pupil trust (20 schools of 1,500), 6% absent, on SQLite and (with --postgres or
DATABASE_URL) PostgreSQL. Prints seconds from the register closing to the end of the sweep,
to the last text accepted by Twilio, and to the last Slack card posted.

    python benchmarks/sweep.py [--pupils 1500 30000] [--postgres URL]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import re
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.clock import ManualClock  # noqa: E402
from bot.demo.roster import build_school, write_roster  # noqa: E402
from bot.demo.stack import SCHOOL_NUMBER, loopback_stack  # noqa: E402
from bot.jobs import dispatch, sweep_and_escalate  # noqa: E402
from bot.runtime import Runtime, SlackSettings  # noqa: E402
from bot.slack.loopback_slack import LoopbackSlack  # noqa: E402
from messaging.config import TwilioSettings  # noqa: E402
from messaging.loopback_twilio import LoopbackTwilio  # noqa: E402
from storage.db import make_engine, session_factory, transaction, upgrade  # noqa: E402
from storage.register import import_marks  # noqa: E402
from storage.roster import import_roster  # noqa: E402
from storage.schools import load_school, settings_from_text  # noqa: E402

DAY = date(2026, 3, 10)
SCHOOL_SIZE = 1500


def school_settings(number: int) -> str:
    base = (ROOT / "examples" / "beecroft.toml").read_text()
    base = re.sub(r'urn = "\d+"', f'urn = "{700000 + number}"', base)
    return base.replace('name = "Beecroft Primary"', f'name = "Trust School {number}"')


def prepare(url: str, pupils: int, workdir: Path, rng: random.Random) -> int:
    upgrade(url)
    factory = session_factory(make_engine(url))
    schools = max(1, pupils // SCHOOL_SIZE)
    absent_total = 0
    for number in range(schools):
        toml = school_settings(number)
        settings = settings_from_text(toml, f"school {number}")
        now = datetime.combine(
            DAY, settings.sessions["AM"].register_closes, tzinfo=settings.tz
        ) - timedelta(hours=1)
        families = build_school(
            pupils // schools,
            seed=number,
            school_number=4000 + number,
            classes_per_year=8,
            years=("R", "1", "2", "3", "4", "5", "6"),
        )
        pupils_csv, contacts_csv, marks_csv = (
            workdir / f"{kind}-{number}.csv" for kind in ("p", "c", "m")
        )
        write_roster(families, pupils_csv, contacts_csv)
        with marks_csv.open("w") as out:
            out.write("upn,date,session,code,minutes_late,note\n")
            for family in families:
                for child in family.children:
                    absent = rng.random() < 0.06
                    absent_total += absent
                    out.write(f"{child['upn']},{DAY},AM,{'N' if absent else '/'},,\n")
        with transaction(factory) as session:
            school = load_school(session, settings, toml, now=now)
            import_roster(session, school, pupils_csv, contacts_csv, now=now)
        with transaction(factory) as session:
            import_marks(session, marks_csv, now=now)
    factory.kw["bind"].dispose()
    return absent_total


def measure(url: str, pupils: int, *, fakes_elsewhere: bool) -> dict[str, float]:
    rng = random.Random(pupils)
    with tempfile.TemporaryDirectory() as tmp:
        absent = prepare(url, pupils, Path(tmp), rng)
        settings = settings_from_text(school_settings(0), "s")
        closes = datetime.combine(DAY, settings.sessions["AM"].register_closes, tzinfo=settings.tz)
        if fakes_elsewhere:
            with _fakes_in_their_own_process(url, closes) as runtime:
                result = _register_close(runtime, closes, lambda: _texts_sent(runtime))
        else:
            with loopback_stack(url, closes) as stack:
                result = _register_close(stack.runtime, closes, lambda: len(stack.twilio.sent))
    return {"pupils": pupils, "absent": absent, **result}


def _register_close(
    runtime: Runtime, closes: datetime, sent: Callable[[], int]
) -> dict[str, float]:
    """As the worker does it: every school's register-close job fires on the scheduler's
    threads (APScheduler's default pool of 10), sweeps its school and wakes the two outbox
    jobs, texts and Slack, which send what the sweeps have queued so far."""
    with runtime.factory() as session:
        urns = list(session.scalars(text("SELECT urn FROM schools ORDER BY id")))
    wake = {channel: threading.Event() for channel in ("sms", "slack")}
    started = time.perf_counter()
    swept_at: list[float] = []
    with (
        ThreadPoolExecutor(max_workers=10) as scheduler,
        ThreadPoolExecutor(max_workers=2) as outbox,
    ):
        jobs = [scheduler.submit(_sweep_one, runtime, urn, closes, swept_at, wake) for urn in urns]

        def swept() -> bool:
            return all(job.done() for job in jobs)

        texted = _watch(lambda: swept() and sent() >= _texts_queued(runtime))
        senders = [
            outbox.submit(_outbox_job, runtime, closes, channel, wake[channel], swept)
            for channel in wake
        ]
        retries = sum(sender.result() for sender in senders)
        for job in jobs:
            job.result()
    done = time.perf_counter()
    texted.join()
    if retries:
        print(f"  ({retries} sends retried after a refused connection or a timeout)", flush=True)
    return {
        "texts": _texts_queued(runtime),
        "sweep_s": max(swept_at) - started,
        "texts_s": texted.at - started,
        "all_s": done - started,
    }


def _outbox_job(
    runtime: Runtime,
    closes: datetime,
    channel: str,
    woken: threading.Event,
    swept: Callable[[], bool],
) -> int:
    """One outbox job: runs when a sweep wakes it (or every 10 s), and once more after the
    last sweep; a send waiting for its back-off goes with a later run. Returns retries."""
    moment, retries = closes, 0
    while True:
        if not swept():
            woken.wait(10)
        woken.clear()
        last_round = swept()
        report = dispatch(runtime, moment, channels=(channel,))
        retries += report.retried
        if report.retried:
            moment += timedelta(minutes=1)  # the back-off, without waiting for it
            woken.set()
        elif last_round and not report.sent:
            return retries
        if moment > closes + timedelta(hours=1):
            raise RuntimeError(f"{channel} still unsent an hour after the register closed")


def _sweep_one(
    runtime: Runtime,
    urn: str,
    closes: datetime,
    swept_at: list[float],
    wake: dict[str, threading.Event],
) -> None:
    sweep_and_escalate(runtime, closes, urns={urn})
    swept_at.append(time.perf_counter())
    for event in wake.values():
        event.set()


def _texts_queued(runtime: Runtime) -> int:
    with runtime.factory() as session:
        return session.execute(
            text("SELECT count(*) FROM outbox WHERE channel = 'sms'")
        ).scalar_one()


def _texts_sent(runtime: Runtime) -> int:
    with runtime.factory() as session:
        return session.execute(
            text("SELECT count(*) FROM outbox WHERE channel = 'sms' AND status = 'sent'")
        ).scalar_one()


@contextmanager
def _fakes_in_their_own_process(url: str, closes: datetime) -> Iterator[Runtime]:
    """The loopback Twilio and Slack in a process of their own, as the real ones are on other
    machines: what is left in this process is FirstCall's own work."""
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    process = context.Process(target=_serve_fakes, args=(theirs,), daemon=True)
    process.start()
    try:
        twilio, slack = ours.recv()
        runtime = Runtime(
            factory=session_factory(make_engine(url)),
            clock=ManualClock(closes),
            twilio=TwilioSettings(
                account_sid=twilio["sid"],
                auth_token=twilio["token"],
                from_number=SCHOOL_NUMBER,
                messaging_service_sid=None,
                api_url=twilio["url"],
                public_base_url="http://127.0.0.1:9",
            ),
            slack=SlackSettings(slack["token"], slack["secret"], slack["url"]),
        )
        yield runtime
        runtime.factory.kw["bind"].dispose()
    finally:
        process.terminate()
        process.join(10)


def _serve_fakes(conn: Any) -> None:
    with LoopbackTwilio(phone_number=SCHOOL_NUMBER) as twilio, LoopbackSlack() as slack:
        conn.send(
            (
                {"url": twilio.url, "sid": twilio.account_sid, "token": twilio.auth_token},
                {"url": slack.url, "token": slack.bot_token, "secret": slack.signing_secret},
            )
        )
        threading.Event().wait()


class _Watch(threading.Thread):
    """Notes the moment a condition first holds (the last text reaching Twilio), polling
    every 5 ms: a measurement, not a wait for the product to finish."""

    def __init__(self, condition: Callable[[], bool]) -> None:
        super().__init__(daemon=True)
        self.condition, self.at = condition, float("nan")

    def run(self) -> None:
        deadline = time.perf_counter() + 600
        while not self.condition() and time.perf_counter() < deadline:
            time.sleep(0.005)
        self.at = time.perf_counter()


def _watch(condition: Callable[[], bool]) -> _Watch:
    watch = _Watch(condition)
    watch.start()
    return watch


def fresh_postgres(server: str) -> tuple[str, Callable[[], None]]:
    name = f"firstcall_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    return make_url(server).set(database=name).render_as_string(hide_password=False), drop


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pupils", type=int, nargs="+", default=[1500, 30000])
    parser.add_argument("--only", choices=["sqlite", "postgresql"], help="one database only")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("DATABASE_URL", "").startswith("postgres")
        and os.environ["DATABASE_URL"]
        or None,
        help="a PostgreSQL server URL (a fresh database is made on it)",
    )
    args = parser.parse_args()
    targets = ["sqlite"] + (["postgresql"] if args.postgres else [])
    if args.only:
        targets = [t for t in targets if t == args.only]
    print(
        f"{'database':<11} {'fakes':<11} {'pupils':>7} {'absent':>7} {'texts':>6} {'sweep s':>8} "
        f"{'last text s':>12} {'cards too s':>12}"
    )
    for backend in targets:
        for pupils in args.pupils:
            for elsewhere in (False, True):
                if backend == "sqlite":
                    with tempfile.TemporaryDirectory() as tmp:
                        result = measure(
                            f"sqlite:///{tmp}/bench.db", pupils, fakes_elsewhere=elsewhere
                        )
                else:
                    url, drop = fresh_postgres(
                        args.postgres.replace("postgresql://", "postgresql+psycopg://")
                    )
                    try:
                        result = measure(url, pupils, fakes_elsewhere=elsewhere)
                    finally:
                        drop()
                where = "own process" if elsewhere else "in-process"
                print(
                    f"{backend:<11} {where:<11} {result['pupils']:>7} {result['absent']:>7} "
                    f"{result['texts']:>6} {result['sweep_s']:>8.2f} {result['texts_s']:>12.2f} "
                    f"{result['all_s']:>12.2f}",
                    flush=True,
                )
    print("seconds from the register closing: the sweep; the last text accepted by the loopback")
    print("Twilio; every Slack card posted too. Fakes in-process share this interpreter with")
    print("FirstCall; in their own process they stand where Twilio and Slack really are.")
    print("Target: last text under 10 s for 30,000 pupils.")


if __name__ == "__main__":
    main()
