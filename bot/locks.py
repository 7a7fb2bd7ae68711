"""Locks across every process using one database: on PostgreSQL a session advisory lock held
on a connection of its own (released by the server the moment the process dies); on SQLite a
lock file beside the database. The worker's leadership and the sweep both use them."""

from __future__ import annotations

import fcntl
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, text

log = logging.getLogger(__name__)


@contextmanager
def database_lock(
    engine: Engine,
    lock_id: int,
    name: str,
    *,
    wait: float | None = None,
    stop: threading.Event | None = None,
    poll_seconds: float = 0.2,
    standing_by: str | None = None,
) -> Iterator[bool]:
    """Hold lock `lock_id` (PostgreSQL) or the file `<database>.<name>.lock` (SQLite) for the
    block: yields True, or False if `wait` seconds passed or `stop` was set first. `wait=None`
    waits for as long as it takes. `standing_by` is logged once if the lock is not free."""
    stop = stop or threading.Event()
    deadline = None if wait is None else time.monotonic() + wait
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:

            def attempt() -> bool:
                held = bool(
                    conn.execute(text("SELECT pg_try_advisory_lock(:id)"), {"id": lock_id}).scalar()
                )
                conn.commit()  # never sit in an open transaction while waiting
                return held

            if not _wait_for(attempt, stop, deadline, poll_seconds, standing_by):
                yield False
                return
            try:
                yield True
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": lock_id})
                conn.commit()
        return
    database = engine.url.database or "firstcall.db"
    if database == ":memory:":
        yield True  # one process only can see an in-memory database
        return
    with open(Path(database).with_suffix(f".{name}.lock"), "w") as handle:

        def try_lock() -> bool:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            return True

        if not _wait_for(try_lock, stop, deadline, poll_seconds, standing_by):
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _wait_for(
    attempt: Callable[[], bool],
    stop: threading.Event,
    deadline: float | None,
    poll_seconds: float,
    standing_by: str | None,
) -> bool:
    announced = False
    while not attempt():
        if standing_by and not announced:
            log.info(standing_by)
            announced = True
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0:
            return False
        if stop.wait(poll_seconds if left is None else min(poll_seconds, left)):
            return False
    return True
