"""What the scheduler wakes: everything due at an instant, derived from the database.
`tick(runtime, now)` is the whole of it; `firstcall tick --at` and the worker both call it,
and running it twice for the same instant does nothing the second time."""

from __future__ import annotations

import logging
import threading
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.locks import database_lock
from bot.runtime import Runtime
from bot.slack.deliverer import SlackDeliverer
from bot.workflow.deadlines import code_deadlines
from bot.workflow.dsl import process_dsl_chain
from bot.workflow.faults import (
    call_instead,
    school_failed,
    text_quarantined,
    texts_dispatched,
)
from bot.workflow.parent_texts import opt_change, reply_received, text_undelivered
from bot.workflow.privacy import enforce_retention, retention_due
from bot.workflow.school import context_for
from bot.workflow.sweep import due_sessions, register_closed
from bot.workflow.timers import process_due
from messaging.delivery import Deliverer
from messaging.outbox import DispatchReport, dispatch_due
from messaging.reconcile import reconcile
from messaging.sms_deliverer import SmsDeliverer
from storage.db import transaction
from storage.models import OutboxItem, OutboxStatus, School

log = logging.getLogger(__name__)


@dataclass
class TickReport:
    swept: list[tuple[str, str, str, str]] = field(
        default_factory=list
    )  # urn, date, session, status
    steps: int = 0
    dispatch: DispatchReport | None = None
    reconciled: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # urn, what could not run
    busy: bool = False  # another process was sweeping: this tick left it to that one
    retention: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"swept {urn} {day} {label}: {status}" for urn, day, label, status in self.swept]
        if self.busy:
            out.append("sweep: another tick or worker is sweeping; it does what is due")
        out += [
            f"school {urn}: the {what} failed; recorded and reported to its office channel"
            for urn, what in self.failed
        ]
        out.append(f"ladder steps run: {self.steps}")
        if self.dispatch is not None:
            out.append(f"outbox: {self.dispatch}")
        out.append(f"replies recovered by reconciliation: {self.reconciled}")
        out += self.retention
        return out


# Sweeping is one process at a time across the database (a `tick` run by hand or by cron
# beside the worker, two ticks at once): the second waits this long, then leaves it.
SWEEP_LOCK_ID = 0x46_43_53  # "FCS": FirstCall sweep
SWEEP_WAIT = 60.0


def sweep_and_escalate(
    runtime: Runtime,
    now: datetime,
    *,
    urns: Collection[str] | None = None,
    wait: float = SWEEP_WAIT,
) -> TickReport:
    """Register-close sweeps due now, then ladder steps due now, each school (of `urns`, or
    all) in its own transactions: one school's failure is recorded and reported to its office
    and the other schools go on."""
    with (
        _ONE_SWEEP_AT_A_TIME,
        database_lock(runtime.factory.kw["bind"], SWEEP_LOCK_ID, "sweep", wait=wait) as held,
    ):
        if not held:
            log.warning("sweep: another process held the sweep lock for %s s; left to it", wait)
            return TickReport(busy=True)
        return _sweep_and_escalate(runtime, now, urns)


# The worker wakes sweeps from several scheduler threads (each school's register close, the
# minute tick); one at a time keeps them from racing for the same session or case.
_ONE_SWEEP_AT_A_TIME = threading.RLock()


def _sweep_and_escalate(
    runtime: Runtime, now: datetime, urns: Collection[str] | None
) -> TickReport:
    report = TickReport()
    with runtime.factory() as session:
        schools = [
            (school.id, school.urn)
            for school in session.scalars(select(School).order_by(School.id))
            if urns is None or school.urn in urns
        ]
    for school_id, urn in schools:
        what = "settings"
        try:
            with runtime.factory() as session:
                ctx = context_for(session.get_one(School, school_id))
            what = "register-close sweep"
            with transaction(runtime.factory) as session:
                for day, label in due_sessions(session, ctx, now):
                    result = register_closed(session, ctx, day, label, now)
                    report.swept.append((urn, day.isoformat(), label, result.status))
            what = "escalation ladder"
            with transaction(runtime.factory) as session:
                report.steps += process_due(session, ctx, now)
                code_deadlines(session, ctx, now)
                report.steps += process_dsl_chain(session, ctx, now)
        except Exception as exc:  # noqa: BLE001 - one school's failure must not stop the rest
            report.failed.append((urn, what))
            school_failed(runtime.factory, school_id, what, exc, now)
    return report


CHANNELS = ("sms", "slack")


def dispatch(
    runtime: Runtime,
    now: datetime,
    *,
    max_in_flight: int = 16,
    channels: Collection[str] = CHANNELS,
) -> DispatchReport:
    """Send what is due on `channels`. The worker runs texts and Slack as two jobs, so a
    morning's cards never hold up the texts of a school whose register closes a moment later."""

    def failed(session: Session, item: OutboxItem, error: Any) -> None:
        if item.channel == "sms":
            text_undelivered(session, item.payload.get("case_ids", []), now)
            if item.status == OutboxStatus.FAILED:  # given up, not cancelled
                call_instead(session, item, now)

    deliverers: dict[str, Deliverer | SmsDeliverer] = {}
    if "sms" in channels:
        deliverers["sms"] = SmsDeliverer(runtime.transport, runtime.twilio.public_base_url)
    if "slack" in channels:
        deliverers["slack"] = SlackDeliverer(runtime.slack_client)
    report = dispatch_due(
        runtime.factory,
        deliverers,
        now=now,
        max_in_flight=max_in_flight,
        on_permanent_failure=failed,
    )
    if report.texts is not None:
        texts_dispatched(runtime.factory, report.texts, now)
    return report


def retention(runtime: Runtime, now: datetime) -> list[str]:
    """Each school's nightly retention run, if it is due (once a night, after 02:30)."""
    lines = []
    with runtime.factory() as session:
        schools = list(session.scalars(select(School.id).order_by(School.id)))
    for school_id in schools:
        what = "settings"  # the same failure as the sweep's: the office is told once
        try:  # one school's failure must not stop the rest, as in the sweep
            with transaction(runtime.factory) as session:
                ctx = context_for(session.get_one(School, school_id))
                what = "retention"
                if retention_due(session, ctx, now):
                    lines.append(f"{ctx.school.urn} {enforce_retention(session, ctx, now)}")
        except Exception as exc:  # noqa: BLE001 - recorded and reported by school_failed
            school_failed(runtime.factory, school_id, what, exc, now)
    return lines


def tick(
    runtime: Runtime,
    now: datetime,
    *,
    jobs: Sequence[str] = ("sweep", "dispatch", "reconcile", "retention"),
    wait: float = SWEEP_WAIT,
) -> TickReport:
    report = sweep_and_escalate(runtime, now, wait=wait) if "sweep" in jobs else TickReport()
    if "retention" in jobs:
        report.retention = retention(runtime, now)
    if "reconcile" in jobs:
        report.reconciled = reconcile(
            runtime.factory,
            runtime.transport,
            runtime.twilio,
            now=now,
            on_reply=reply_received,
            on_opt_change=opt_change,
            on_quarantine=text_quarantined,
        )
    if "dispatch" in jobs:
        report.dispatch = dispatch(runtime, now)
    return report
