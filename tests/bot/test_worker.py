"""One worker leads at a time: a second stands by and takes over when the first lets go
(on PostgreSQL an advisory lock, on SQLite a lock file beside the database)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.demo.stack import Stack
from bot.jobs import tick
from bot.worker import leadership, take_over
from messaging.outbox import LEASE
from storage.models import OutboxItem
from tests.bot.conftest import DAY1, at
from tests.bot.test_school_day import ABSENT, School


@dataclass
class _Parts:
    """The one part of a Runtime that leadership needs."""

    factory: sessionmaker[Session]


class _StandBy(threading.Event):
    """A stop event that also says when the standby has tried and missed at least once."""

    def __init__(self) -> None:
        super().__init__()
        self.missed = threading.Event()

    def wait(self, timeout: float | None = None) -> bool:
        self.missed.set()
        return super().wait(timeout)


def test_a_second_worker_stands_by_until_the_leader_stops(factory: sessionmaker[Session]) -> None:
    parts = _Parts(factory)
    standby = _StandBy()
    took_over = threading.Event()

    def second() -> None:
        with leadership(parts, poll_seconds=0.01, stop=standby) as leading:  # type: ignore[arg-type]
            if leading:
                took_over.set()

    with leadership(parts, poll_seconds=0.01) as leading:  # type: ignore[arg-type]
        assert leading
        thread = threading.Thread(target=second)
        thread.start()
        assert standby.missed.wait(10), "the second worker never tried for the lock"
        assert not took_over.is_set()
    thread.join(10)
    assert took_over.is_set()


def test_a_standby_told_to_stop_never_leads(factory: sessionmaker[Session]) -> None:
    parts = _Parts(factory)
    stop = threading.Event()
    stop.set()
    with leadership(parts, poll_seconds=0.01) as first:  # type: ignore[arg-type]
        assert first
        with leadership(parts, poll_seconds=0.01, stop=stop) as second:  # type: ignore[arg-type]
            assert second is False


def test_the_scheduler_wakes_each_school_at_its_register_close(stack: Stack) -> None:
    from apscheduler.triggers.cron import CronTrigger

    from bot.worker import build_scheduler
    from tests.factories import make_school

    with stack.runtime.factory() as s, s.begin():
        make_school(s)  # Crofton: AM 08:40, PM 13:00
        make_school(s, "beecroft")
    scheduler = build_scheduler(stack.runtime)
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert {"ladder", "outbox-sms", "outbox-slack", "reconcile"} <= set(jobs)
    crofton_am = jobs["sweep-141234-AM"].trigger
    assert isinstance(crofton_am, CronTrigger) and str(crofton_am.timezone) == "Europe/London"
    fields = {f.name: str(f) for f in crofton_am.fields}
    assert (fields["hour"], fields["minute"], fields["day_of_week"]) == ("8", "40", "mon-fri")
    assert sum(1 for name in jobs if name.startswith("sweep-")) == 4  # two schools, AM and PM


def test_a_new_leader_sends_or_adopts_a_dead_leader_s_claimed_texts_at_once(
    stack: Stack,
) -> None:
    school = School(stack)
    school.register(DAY1, ABSENT)
    closed = at(DAY1, "08:40")
    stack.clock.set(closed)
    tick(stack.runtime, closed, jobs=("sweep",))
    # The leader claims the morning's texts, gets one to Twilio and is killed (kill -9).
    with stack.runtime.factory() as s, s.begin():
        rows = list(s.scalars(select(OutboxItem).where(OutboxItem.channel == "sms")))
        for row in rows:
            row.status, row.attempts, row.claimed_until = "sending", 1, closed + LEASE
        ids, first = [row.id for row in rows], dict(rows[0].payload)
    callback = stack.runtime.twilio.public_base_url + "/twilio/status"
    stack.runtime.transport.send(first["to"], first["body"], status_callback=callback)
    # The standby takes over 3.5 s later: every claimed text is out in its first tick,
    # the one Twilio already had adopted, not sent again.
    stack.clock.set(closed + timedelta(seconds=3.5))
    report = take_over(stack.runtime, stack.clock())
    assert report.dispatch is not None and report.dispatch.sent >= len(ids) == 5
    assert len(stack.twilio.sent) == len({(m.to, m.body) for m in stack.twilio.sent}) == 5
    with stack.runtime.factory() as s:
        rows = list(s.scalars(select(OutboxItem).where(OutboxItem.id.in_(ids))))
    assert {r.status for r in rows} == {"sent"}
    assert [r.result.get("adopted", False) for r in rows].count(True) == 1
