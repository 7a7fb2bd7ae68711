"""Codes per session, with their deadline. Every session still marked N, or carrying a code
nobody has confirmed, must be resolved within the school's deadline counted from that
session (the ladder's `decide_code` and `set_code_o` days, 1 being the session's own day).
Once a school day: one task for the attendance lead lists the sessions nearing or past it;
N past it becomes O. Whether the pupil's case has ended makes no difference."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from bot.workflow.cards import refresh_card
from bot.workflow.school import SchoolContext
from bot.workflow.tasks import TASK_KINDS, open_task
from rules.ladder import code_deadline
from storage.marks import Actor, set_mark
from storage.models import JobState, Pupil, RegisterMark

DEADLINE = Actor("FirstCall", "automatic: N unresolved by the school's deadline", "system")
# Far enough back for any deadline a school sets; older N is a matter for a person.
LOOK_BACK_DAYS = 60


def code_deadlines(session: Session, ctx: SchoolContext, now: datetime) -> int:
    """Run once a school day, after the AM register has closed (later ticks that day do
    nothing). Returns how many sessions were listed for the attendance lead."""
    today = ctx.today(now)
    if not ctx.is_school_day(today) or now < ctx.register_closes(today, "AM"):
        return 0
    deadline = code_deadline(ctx.settings.policy.ladder)
    if deadline.nudge_day is None and deadline.o_day is None:
        return 0
    # Once a school day: the worker ticks every minute, the list is for the morning.
    done = session.get(JobState, f"code-deadlines:{ctx.id}", with_for_update=True)
    if done is not None and done.value == today.isoformat():
        return 0
    if done is None:
        session.add(
            JobState(name=f"code-deadlines:{ctx.id}", value=today.isoformat(), updated_at=now)
        )
    else:
        done.value, done.updated_at = today.isoformat(), now
    calendar = ctx.settings.calendar
    rows = session.execute(
        select(RegisterMark, Pupil)
        .join(Pupil, Pupil.id == RegisterMark.pupil_id)
        .where(
            Pupil.school_id == ctx.id,
            RegisterMark.date < today,
            RegisterMark.date >= date.fromordinal(today.toordinal() - LOOK_BACK_DAYS),
            or_(RegisterMark.code == "N", RegisterMark.confirmed.is_(False)),
        )
        .order_by(RegisterMark.date, RegisterMark.session, Pupil.last_name, Pupil.first_name)
    ).all()
    listed: list[dict[str, Any]] = []
    for mark, pupil in rows:
        stage = deadline.stage(calendar.school_days_between(mark.date, today))
        if stage is None:
            continue
        if stage == "overdue" and mark.code == "N":
            set_mark(
                session,
                pupil_id=pupil.id,
                day=mark.date,
                session_label=mark.session,
                code="O",
                actor=DEADLINE,
                reason="no reason established within the deadline",
                now=now,
                existing=mark,
            )
            continue
        # The last school day to resolve it: the day before O, or the nudge day itself.
        last_day = deadline.o_day - 1 if deadline.o_day else (deadline.nudge_day or 1)
        due = calendar.add_school_days(mark.date, max(0, last_day - 1))
        listed.append(
            {
                "pupil_id": pupil.id,
                "date": mark.date.isoformat(),
                "session": mark.session,
                "code": mark.code,
                "confirmed": mark.confirmed,
                "due": due.isoformat(),
            }
        )
    if not listed:
        return 0
    task = open_task(
        session,
        ctx,
        None,
        kind="decide_code",
        role=TASK_KINDS["decide_code"].role,
        key=f"deadlines:{ctx.id}:{today.isoformat()}",
        now=now,
        sessions=listed,
    )
    refresh_card(
        session,
        key=f"deadlines:{task.id}",
        channel=ctx.settings.office_channel,
        school_id=ctx.id,
        now=now,
    )
    return len(listed)
