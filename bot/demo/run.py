"""`firstcall demo`: a made-up school's days replayed through the real code paths (the
register import, `tick`, Twilio's signed webhooks into the web app, Bolt handling signed
slash commands and button clicks), printed as a timeline, with a summary read back from
the database."""

from __future__ import annotations

import json
import random
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from sqlalchemy import func, select

from bot.demo.parents import Plan, plan_reply
from bot.demo.roster import build_school, write_roster
from bot.demo.stack import Stack, loopback_stack
from bot.demo.timeline import Timeline
from bot.workflow.school import SchoolContext, context_for
from rules.texts import short_date
from storage.db import make_engine, session_factory, transaction, upgrade
from storage.models import (
    AbsenceCase,
    CaseStatus,
    LeaveRequest,
    Message,
    OutboxItem,
    OutboxStatus,
    Pupil,
    School,
    StaffTask,
    TaskStatus,
)
from storage.register import import_marks
from storage.roster import import_roster
from storage.schools import load_school, read_settings_file

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "crofton.toml"
DEFAULT_START = date(2026, 3, 10)


@dataclass
class DemoOptions:
    days: int = 3
    seed: int = 1
    school_file: Path = EXAMPLE
    speed: float = 0.0  # simulated seconds per real second; 0 = as fast as it runs
    db_url: str | None = None
    start: date = DEFAULT_START
    pupils: int = 300
    absence_rate: float = 0.06
    summary_json: Path | None = None


@dataclass
class Timings:
    seconds: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    counts: Counter[str] = field(default_factory=Counter)

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] += time.perf_counter() - started
            self.counts[name] += 1


def run_demo(options: DemoOptions, console: Console | None = None) -> dict[str, Any]:
    console = console or Console()
    workdir = Path(tempfile.mkdtemp(prefix="firstcall-demo-"))
    url = options.db_url or f"sqlite:///{workdir / 'firstcall.db'}"
    timings = Timings()
    rng = random.Random(options.seed)
    with timings.step("set-up: migrations, settings, roster"):
        upgrade(url)
        settings, text = read_settings_file(options.school_file)
        factory = session_factory(make_engine(url))
        start_at = datetime.combine(
            options.start, settings.sessions["AM"].register_closes, tzinfo=settings.tz
        )
        with transaction(factory) as session:
            school = load_school(session, settings, text, now=start_at - timedelta(hours=2))
            families = build_school(
                options.pupils, seed=options.seed, classes_per_year=2, years=("R", "1", "2")
            )
            write_roster(families, workdir / "pupils.csv", workdir / "contacts.csv")
            import_roster(
                session,
                school,
                workdir / "pupils.csv",
                workdir / "contacts.csv",
                now=start_at - timedelta(hours=2),
            )
        factory.kw["bind"].dispose()
    console.rule(
        f"[bold]FirstCall demo: {settings.name}, {options.pupils} pupils, {options.days} school day(s)"
    )
    console.print(f"database: {url}")

    with loopback_stack(url, start_at - timedelta(hours=1)) as stack:
        timeline = Timeline(console, stack, speed=options.speed)
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("replaying", total=options.days)
            day = options.start
            absent_yesterday: set[str] = set()
            for index in range(options.days):
                if not context_for_school(stack).is_school_day(day):
                    day = context_for_school(stack).settings.calendar.next_school_day(day)
                absent_yesterday = _replay_day(
                    stack, timeline, timings, rng, workdir, day, index, absent_yesterday, options
                )
                progress.advance(task)
                day = context_for_school(stack).settings.calendar.next_school_day(day)
        summary = summarise(stack, timings)
    _print_summary(console, summary)
    if options.summary_json:
        options.summary_json.write_text(json.dumps(summary, indent=2, default=str))
    return summary


def context_for_school(stack: Stack) -> SchoolContext:
    with stack.runtime.factory() as session:
        return context_for(session.scalars(select(School)).one())


def _replay_day(
    stack: Stack,
    timeline: Timeline,
    timings: Timings,
    rng: random.Random,
    workdir: Path,
    day: date,
    index: int,
    absent_yesterday: set[str],
    options: DemoOptions,
) -> set[str]:
    ctx = context_for_school(stack)
    settings = ctx.settings
    with stack.runtime.factory() as session:
        pupils = list(session.scalars(select(Pupil).order_by(Pupil.id)))
    classes = sorted({p.class_name for p in pupils})
    not_taken = classes[-1] if index == 0 else None  # one teacher forgets on the first day
    # Most of yesterday's unexplained absentees are still off; a few new ones each day.
    absent = {p.upn for p in pupils if p.upn in absent_yesterday and rng.random() < 0.7}
    absent |= {p.upn for p in pupils if rng.random() < options.absence_rate}
    phoned_in = {upn for upn in absent if rng.random() < 0.15}
    timeline.heading(f"{day.strftime('%A')} {short_date(day)}")
    for label in ("AM", "PM"):
        closes = ctx.register_closes(day, label)
        marks = workdir / f"marks-{day}-{label}.csv"
        with marks.open("w") as out:
            out.write("upn,date,session,code,minutes_late,note\n")
            for pupil in pupils:
                code = (
                    ""
                    if pupil.class_name == not_taken
                    else (
                        ("I" if pupil.upn in phoned_in else "N")
                        if pupil.upn in absent
                        else ("/" if label == "AM" else "\\")
                    )
                )
                note = "parent phoned: ill" if code == "I" else ""
                out.write(f"{pupil.upn},{day},{label},{code},,{note}\n")
        with timings.step("register import"), transaction(stack.runtime.factory) as session:
            import_marks(session, marks, now=closes - timedelta(minutes=1))
        timeline.say(
            closes - timedelta(minutes=1),
            "MIS",
            f"{label} register exported: "
            f"{len(absent)} absent ({len(phoned_in)} reason already given)"
            + (f", class {not_taken} not taken" if not_taken else ""),
        )
        with timings.step(f"{label} register close: sweep and texts"):
            stack.tick(closes)
        timeline.drain(closes)
        if label == "AM":
            _morning(stack, timeline, timings, rng, day, index, closes, settings)
    return {p.upn for p in pupils if p.upn in absent}


def _morning(
    stack: Stack,
    timeline: Timeline,
    timings: Timings,
    rng: random.Random,
    day: date,
    index: int,
    closes: datetime,
    settings: Any,
) -> None:
    first_texts = [
        m
        for m in stack.twilio.sent
        if m.received_at >= closes - timedelta(seconds=1) and "not in school" in m.body
    ]
    plans: list[tuple[datetime, str, Plan]] = []
    special = rng.sample(range(len(first_texts)), k=min(3, len(first_texts))) if first_texts else []
    leave_start = settings.calendar.add_school_days(day + timedelta(days=35), 0)
    leave_end = settings.calendar.add_school_days(leave_start, 5)
    for number, message in enumerate(first_texts):
        names = _names_in(message.body)
        plan = plan_reply(
            rng,
            names,
            safeguarding=index == 0 and special[:1] == [number],
            leave=index == 0 and special[1:2] == [number],
            stop=index == 1 and special[:1] == [number],
            leave_dates=(leave_start.strftime("%-d %B"), leave_end.strftime("%-d %B")),
        )
        if plan.text is not None:
            plans.append((closes + plan.delay, message.to, plan))
    plans.sort(key=lambda p: p[0])
    moment = closes
    end = closes + timedelta(hours=3)
    while moment < end:
        moment += timedelta(minutes=5)
        due = [p for p in plans if p[0] <= moment]
        plans = [p for p in plans if p[0] > moment]
        for when, phone, plan in due:
            stack.clock.set(when)
            with timings.step("parent reply: signed webhook, parse, cards"):
                sid = stack.parent_texts(phone, plan.text or "")
            timeline.reply(when, phone, plan.text or "", sid)
        with timings.step("ladder tick"):
            stack.tick(moment)
        timeline.drain(moment)
        if moment == closes + timedelta(minutes=80):
            _staff(stack, timeline, timings, moment, index)
        timeline.pace(timedelta(minutes=5))


def _names_in(body: str) -> list[str]:
    # "Hello, this is X. Jayden and Mia were not in school..." -> ["Jayden", "Mia"]
    sentence = body.split(". ", 1)[1] if ". " in body else body
    subject = sentence.split(" was not")[0].split(" were not")[0]
    return [n.strip() for n in subject.replace(" and ", ", ").split(",") if n.strip()]


def _staff(stack: Stack, timeline: Timeline, timings: Timings, now: datetime, index: int) -> None:
    """The office works through its cards; the headteacher decides leave."""
    settings = context_for_school(stack).settings
    office = next(
        s for s in settings.staff.values() if "office" in s.roles and "headteacher" not in s.roles
    )
    head = settings.staff_with_role("headteacher")[0]
    with stack.runtime.factory() as session:
        explained = list(
            session.scalars(select(AbsenceCase).where(AbsenceCase.status == CaseStatus.EXPLAINED))
        )
        tasks = list(
            session.scalars(
                select(StaffTask).where(
                    StaffTask.status == TaskStatus.OPEN, StaffTask.kind == "call"
                )
            )
        )
        leave = list(session.scalars(select(LeaveRequest).where(LeaveRequest.status == "pending")))
    for case in explained[: max(1, len(explained) * 2 // 3)]:
        with timings.step("staff: Confirm button (signed, Bolt)"):
            stack.click("case_confirm", case.id, office.slack_user_id, settings.office_channel)
        timeline.staff(
            now, office.name, f"confirmed code {case.provisional_code} for case {case.id}"
        )
    for task in tasks[:3]:
        outcome = "task_no_answer" if task.id % 2 else "task_reason_given"
        with timings.step("staff: call outcome button"):
            stack.click("task_claim", task.id, office.slack_user_id, settings.office_channel)
            stack.click(outcome, task.id, office.slack_user_id, settings.office_channel)
        timeline.staff(
            now,
            office.name,
            f"called the family for case {task.case_id}: "
            + ("no answer" if outcome == "task_no_answer" else "reason given"),
        )
    for request in leave:
        if index == 0:
            reply = stack.slash(
                "/leave", f"approve {request.id}", office.slack_user_id, settings.office_channel
            )
            timeline.staff(
                now, office.name, f"tried /leave approve {request.id}: {_response_text(reply)}"
            )
        approve = request.id % 2 == 0
        with timings.step("headteacher: /leave decision (signed slash command)"):
            reply = stack.slash(
                "/leave",
                f"{'approve' if approve else 'decline'} {request.id} Term-time leave for a wedding",
                head.slack_user_id,
                settings.leave_channel,
            )
        timeline.staff(
            now,
            head.name,
            f"/leave {'approve' if approve else 'decline'} {request.id}: {_response_text(reply)}",
        )


def _response_text(response: Any) -> str:
    try:
        return str(response.json().get("text", ""))[:120]
    except ValueError:
        return response.text[:120]


def summarise(stack: Stack, timings: Timings) -> dict[str, Any]:
    """The day in numbers, read back from the database (the test checks it against it)."""
    with stack.runtime.factory() as session:
        cases = list(session.scalars(select(AbsenceCase)))
        replies = list(session.scalars(select(Message).where(Message.direction == "inbound")))
        texts = Counter(
            item.payload.get("kind", "?")
            for item in session.scalars(
                select(OutboxItem).where(
                    OutboxItem.channel == "sms", OutboxItem.status == OutboxStatus.SENT
                )
            )
        )
        open_tasks = Counter(
            session.scalars(select(StaffTask.kind).where(StaffTask.status != TaskStatus.DONE))
        )
        pending_leave = session.scalar(
            select(func.count()).select_from(LeaveRequest).where(LeaveRequest.status == "pending")
        )
        decided_leave = Counter(
            session.scalars(select(LeaveRequest.status).where(LeaveRequest.status != "pending"))
        )
    by_reason: Counter[str] = Counter()
    for case in cases:
        code = case.confirmed_code or case.provisional_code or "N"
        by_reason[f"{case.reason or 'no reason yet'} ({code})"] += 1
    return {
        "absences": len(cases),
        "texts_sent": sum(texts.values()),
        "texts_by_kind": dict(texts),
        "texts_handed_to_twilio": len(stack.twilio.sent),
        "replies": len(replies),
        "replies_by_intent": dict(
            Counter((m.parse or {}).get("intent", "keyword") for m in replies)
        ),
        "safeguarding_alerts": sum(1 for c in cases if c.safeguarding),
        "codes_by_reason": dict(by_reason.most_common()),
        "left_for_staff": {
            "codes_to_confirm": sum(1 for c in cases if c.status == CaseStatus.EXPLAINED),
            "unexplained": sum(1 for c in cases if c.status == CaseStatus.OPEN),
            "open_tasks": dict(open_tasks),
            "leave_pending": pending_leave,
        },
        "leave_decided": dict(decided_leave),
        "slack_posts": len(stack.slack.posts()),
        "slack_edits": len(stack.slack.updates()),
        "timings_seconds": {name: round(value, 3) for name, value in timings.seconds.items()},
        "timings_count": dict(timings.counts),
    }


def _print_summary(console: Console, summary: dict[str, Any]) -> None:
    console.rule("[bold]Summary")
    table = Table(show_header=False, box=None)
    table.add_row("absences (cases)", str(summary["absences"]))
    table.add_row("texts sent", f"{summary['texts_sent']} " + str(summary["texts_by_kind"]))
    table.add_row("replies", f"{summary['replies']} " + str(summary["replies_by_intent"]))
    table.add_row("safeguarding alerts", str(summary["safeguarding_alerts"]))
    table.add_row("Slack", f"{summary['slack_posts']} posts, {summary['slack_edits']} edits")
    console.print(table)
    codes = Table("reason (code)", "cases")
    for reason, count in summary["codes_by_reason"].items():
        codes.add_row(reason, str(count))
    console.print(codes)
    left = summary["left_for_staff"]
    console.print(
        f"left for staff: {left['codes_to_confirm']} codes to confirm, {left['unexplained']} "
        f"still unexplained, tasks {left['open_tasks']}, {left['leave_pending']} leave requests pending"
    )
    steps = Table("step", "runs", "total s", "mean ms")
    for name, seconds in summary["timings_seconds"].items():
        runs = summary["timings_count"][name]
        steps.add_row(name, str(runs), f"{seconds:.2f}", f"{1000 * seconds / runs:.1f}")
    console.print(steps)
