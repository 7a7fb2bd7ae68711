"""One worker leads at a time: a second stands by and takes over when the first lets go
(on PostgreSQL an advisory lock, on SQLite a lock file beside the database)."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

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
