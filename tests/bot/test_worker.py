"""One worker leads at a time: a second stands by and takes over when the first lets go
(on PostgreSQL an advisory lock, on SQLite a lock file beside the database)."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from bot.demo.stack import Stack
from bot.worker import leadership


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
