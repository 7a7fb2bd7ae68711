"""The scheduler process. APScheduler only decides *when* to wake `tick`; what is due lives
in the database, so a missed run (APScheduler skips them) costs nothing: the next tick finds
the work. One worker leads at a time: on PostgreSQL a session advisory lock held on its own
connection for the life of the process (a standby waits and takes over when the leader
dies); on SQLite a lock file beside the database."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import partial

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.jobs import CHANNELS, TickReport, dispatch, retention, sweep_and_escalate, tick
from bot.locks import database_lock
from bot.runtime import Runtime
from bot.workflow.faults import text_quarantined
from bot.workflow.parent_texts import opt_change, reply_received
from bot.workflow.privacy import RETENTION_AT
from bot.workflow.school import all_contexts
from messaging.outbox import adopt_orphans
from messaging.reconcile import reconcile

log = logging.getLogger(__name__)
LOCK_ID = 0x46_43_57  # "FCW": FirstCall worker


@contextmanager
def leadership(
    runtime: Runtime, *, poll_seconds: float = 5.0, stop: threading.Event | None = None
) -> Iterator[bool]:
    """Stand by until this process leads, then lead until the block ends: yields True, or
    False if `stop` was set while standing by."""
    engine = runtime.factory.kw["bind"]
    postgres = engine.dialect.name == "postgresql"
    with database_lock(
        engine,
        LOCK_ID,
        "worker",
        stop=stop,
        poll_seconds=poll_seconds,
        standing_by="another worker leads; standing by"
        if postgres
        else "another worker leads on this SQLite database; standing by",
    ) as leading:
        if leading:
            log.info(
                "leading (%s)", f"PostgreSQL advisory lock {LOCK_ID}" if postgres else "lock file"
            )
        yield leading


def _sweep_school(runtime: Runtime, scheduler: BlockingScheduler, urn: str, now: datetime) -> None:
    """The register has just closed at one school: sweep it, then wake the outbox job so its
    texts go now. One dispatcher per channel for all schools: twenty at 08:40 would jostle."""
    sweep_and_escalate(runtime, now, urns={urn})
    for channel in CHANNELS:
        scheduler.modify_job(f"outbox-{channel}", next_run_time=datetime.now(UTC))


def _dispatch(runtime: Runtime, channel: str, now: datetime) -> None:
    dispatch(runtime, now, channels=(channel,))


def build_scheduler(runtime: Runtime) -> BlockingScheduler:
    scheduler = BlockingScheduler(timezone="Europe/London")
    now = runtime.clock

    def run(name: str, job: Callable[[datetime], object]) -> None:
        try:
            job(now())
        except Exception:
            log.exception("job %s failed; the next run will pick up what is due", name)

    # Each school's register-close times wake the sweep at once; the minute tick is the
    # safety net (and runs the ladder).
    with runtime.factory() as session:
        for ctx in all_contexts(session):
            for label, times in ctx.settings.sessions.items():
                scheduler.add_job(
                    run,
                    CronTrigger(
                        day_of_week="mon-fri",
                        hour=times.register_closes.hour,
                        minute=times.register_closes.minute,
                        timezone=ctx.settings.tz,
                    ),
                    args=[
                        f"sweep {ctx.school.urn} {label}",
                        partial(_sweep_school, runtime, scheduler, ctx.school.urn),
                    ],
                    id=f"sweep-{ctx.school.urn}-{label}",
                    misfire_grace_time=600,
                )
    scheduler.add_job(
        run,
        IntervalTrigger(minutes=1),
        args=["ladder", lambda t: sweep_and_escalate(runtime, t)],
        id="ladder",
        coalesce=True,
        max_instances=1,
    )
    for channel in CHANNELS:  # a job each: cards never hold up texts, nor texts cards
        scheduler.add_job(
            run,
            IntervalTrigger(seconds=10),
            args=[f"outbox {channel}", partial(_dispatch, runtime, channel)],
            id=f"outbox-{channel}",
            coalesce=True,
            max_instances=1,
        )
    scheduler.add_job(
        run,
        CronTrigger(hour=RETENTION_AT.hour, minute=RETENTION_AT.minute + 1),
        args=["retention", lambda t: retention(runtime, t)],
        id="retention",
        coalesce=True,
        max_instances=1,
        misfire_grace_time=3600,
    )
    scheduler.add_job(
        run,
        IntervalTrigger(minutes=5),
        args=[
            "reconcile",
            lambda t: reconcile(
                runtime.factory,
                runtime.transport,
                runtime.twilio,
                now=t,
                on_reply=reply_received,
                on_opt_change=opt_change,
                on_quarantine=text_quarantined,
            ),
        ],
        id="reconcile",
        coalesce=True,
        max_instances=1,
    )
    return scheduler


def run_worker(runtime: Runtime) -> None:
    with leadership(runtime) as leading:
        if not leading:
            return
        take_over(runtime, runtime.clock())
        build_scheduler(runtime).start()


def take_over(runtime: Runtime, now: datetime) -> TickReport:
    """What a worker does the moment it leads: the last leader's claims are re-checked and
    sent (or adopted) now, not after their five-minute lease; then everything due."""
    orphans = adopt_orphans(runtime.factory, now)
    log.info("catching up on anything due (%s outbox rows left claimed)", orphans)
    return tick(runtime, now)
