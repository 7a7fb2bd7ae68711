"""The words of slash-command replies: the minimum personal data (first name, initial,
class, status, code), never a reason a parent gave in confidence or a safeguarding detail."""

from __future__ import annotations

from datetime import date, datetime

from bot.slack.mrkdwn import escape
from bot.slack.render import STATUS_WORDS, full_name, short_name
from bot.workflow.overview import PupilYear
from bot.workflow.school import SchoolContext
from rules.texts import short_date
from storage.models import AbsenceCase, LeaveRequest, Pupil

__all__ = ["cases_today", "dates", "leave_decided", "pupil_year", "short_name"]


def dates(start: date, end: date) -> str:
    return short_date(start) if start == end else f"{short_date(start)} to {short_date(end)}"


def _code(case: AbsenceCase) -> str:
    if case.confirmed_code:
        return f"*{case.confirmed_code}*"
    return f"{case.provisional_code} (provisional)" if case.provisional_code else "N"


def cases_today(ctx: SchoolContext, rows: list[tuple[AbsenceCase, Pupil]], now: datetime) -> str:
    day = short_date(ctx.today(now))
    if not rows:
        return f"No open absences today ({day})."
    lines = [f"*Open absences today ({day}): {len(rows)}*"]
    lines += [
        f"• {short_name(pupil)} ({escape(pupil.class_name)}): {STATUS_WORDS.get(case.status, case.status)} · "
        f"code {_code(case)}"
        for case, pupil in rows
    ]
    lines.append("`/absence approve PUPIL` accepts a provisional code; `/absence help` for more.")
    return "\n".join(lines)


def leave_decided(leave: LeaveRequest, pupil: Pupil) -> str:
    told = " The family will be told by text." if leave.contact_id else ""
    if leave.status == "approved":
        return (
            f"Leave request #{leave.id} approved: {short_name(pupil)} ({escape(pupil.class_name)}), "
            f"{dates(leave.start_date, leave.end_date)}; those sessions are pre-marked "
            f"{leave.code}.{told}"
        )
    return (
        f"Leave request #{leave.id} declined: {short_name(pupil)} ({escape(pupil.class_name)}), "
        f"{dates(leave.start_date, leave.end_date)}.{told}"
    )


def pupil_year(year: PupilYear) -> str:
    pupil, stats = year.pupil, year.attendance
    percent = "–" if stats.percent is None else f"{stats.percent}%"
    lines = [
        f"*{full_name(pupil)}* ({escape(pupil.class_name)}, UPN `{escape(pupil.upn)}`)",
        f"Attendance this year: {percent} ({year.band}): {stats.attended} of {stats.possible} "
        f"sessions, {stats.authorised} authorised and {stats.unauthorised} unauthorised absences",
    ]
    if year.open_cases:
        lines += [
            f"Open absence since {short_date(c.opened_on)}: "
            f"{STATUS_WORDS.get(c.status, c.status)} · code {_code(c)}"
            for c in year.open_cases
        ]
    else:
        lines.append("No open absence.")
    if year.recent:
        legend = "" if all(m.confirmed for m in year.recent) else " (? not yet confirmed)"
        lines.append(
            f"Recent marks{legend}: "
            + ", ".join(
                f"{short_date(m.date)} {m.session} {m.code}{'' if m.confirmed else '?'}"
                for m in year.recent
            )
        )
    return "\n".join(lines)
