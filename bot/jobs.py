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

from sqlalchemy.orm import Session

from bot.runtime import Runtime
from bot.slack.deliverer import SlackDeliverer
from bot.workflow.deadlines import code_deadlines
from bot.workflow.faults import text_quarantined
from bot.workflow.parent_texts import opt_change, reply_received, text_undelivered
from bot.workflow.school import all_contexts
from bot.workflow.sweep import due_sessions, register_closed
from bot.workflow.timers import process_due
from messaging.delivery import Deliverer
from messaging.outbox import DispatchReport, dispatch_due
from messaging.reconcile import reconcile
from messaging.sms_deliverer import SmsDeliverer
from storage.db import transaction
from storage.models import OutboxItem

log = logging.getLogger(__name__)


@dataclass
class TickReport:
    swept: list[tuple[str, str, str, str]] = field(
        default_factory=list
    )  # urn, date, session, status
    steps: int = 0
    dispatch: DispatchReport | None = None
    reconciled: int = 0

    def lines(self) -> list[str]:
        out = [f"swept {urn} {day} {label}: {status}" for urn, day, label, status in self.swept]
        out.append(f"ladder steps run: {self.steps}")
        if self.dispatch is not None:
            out.append(f"outbox: {self.dispatch}")
        out.append(f"replies recovered by reconciliation: {self.reconciled}")
        return out


def sweep_and_escalate(
    runtime: Runtime, now: datetime, *, urns: Collection[str] | None = None
) -> TickReport:
    """Register-close sweeps due now, then ladder steps due now, each school (of `urns`, or
    all) in its own transaction so one school's problem does not hold up another's."""
    with _ONE_SWEEP_AT_A_TIME:
        return _sweep_and_escalate(runtime, now, urns)


# The worker wakes sweeps from several scheduler threads (each school's register close, the
# minute tick); one at a time keeps them from racing for the same session or case.
_ONE_SWEEP_AT_A_TIME = threading.RLock()


def _sweep_and_escalate(
    runtime: Runtime, now: datetime, urns: Collection[str] | None
) -> TickReport:
    report = TickReport()
    with runtime.factory() as session:
        contexts = [ctx for ctx in all_contexts(session) if urns is None or ctx.school.urn in urns]
    for ctx in contexts:
        with transaction(runtime.factory) as session:
            for day, label in due_sessions(session, ctx, now):
                result = register_closed(session, ctx, day, label, now)
                report.swept.append((ctx.school.urn, day.isoformat(), label, result.status))
        with transaction(runtime.factory) as session:
            report.steps += process_due(session, ctx, now)
            code_deadlines(session, ctx, now)
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

    deliverers: dict[str, Deliverer | SmsDeliverer] = {}
    if "sms" in channels:
        deliverers["sms"] = SmsDeliverer(runtime.transport, runtime.twilio.public_base_url)
    if "slack" in channels:
        deliverers["slack"] = SlackDeliverer(runtime.slack_client)
    return dispatch_due(
        runtime.factory,
        deliverers,
        now=now,
        max_in_flight=max_in_flight,
        on_permanent_failure=failed,
    )


def tick(
    runtime: Runtime, now: datetime, *, jobs: Sequence[str] = ("sweep", "dispatch", "reconcile")
) -> TickReport:
    report = sweep_and_escalate(runtime, now) if "sweep" in jobs else TickReport()
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
