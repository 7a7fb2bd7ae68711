"""Who is acting: staff from the school's settings, their roles, and finding pupils by UPN
or by a forgiving name match."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from rapidfuzz import fuzz, process, utils
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.workflow.school import SchoolContext, context_for
from storage.marks import Actor
from storage.models import AuditLog, Pupil, School, Staff


class RoleError(PermissionError):
    """Refused politely; the refusal is logged."""


class NotFound(LookupError):
    pass


class Ambiguous(LookupError):
    def __init__(self, query: str, pupils: list[Pupil]) -> None:
        super().__init__(query)
        self.pupils = pupils
        # (name, class, UPN) as plain text: readable after the session that found them rolled back.
        self.candidates = [(f"{p.first_name} {p.last_name}", p.class_name, p.upn) for p in pupils]


@dataclass(frozen=True)
class StaffMember:
    staff: Staff
    ctx: SchoolContext

    @property
    def actor(self) -> Actor:
        return Actor(self.staff.name, self.staff.position, "staff")

    def has(self, *roles: str) -> bool:
        return any(role in self.staff.roles for role in roles)


ROLE_WORDS = {
    "office": "office staff",
    "dsl": "a DSL",
    "headteacher": "the headteacher",
    "attendance_lead": "the attendance lead",
}


def identify(
    session: Session, slack_user_id: str, channel_id: str | None = None
) -> StaffMember | None:
    rows = list(
        session.scalars(
            select(Staff).where(Staff.slack_user_id == slack_user_id, Staff.active.is_(True))
        )
    )
    if not rows:
        return None
    for row in rows:
        ctx = context_for(session.get_one(School, row.school_id))
        s = ctx.settings
        if channel_id in (s.office_channel, s.dsl_channel, s.leave_channel) or len(rows) == 1:
            return StaffMember(row, ctx)
    return StaffMember(rows[0], context_for(session.get_one(School, rows[0].school_id)))


def authorise(
    session: Session,
    member: StaffMember | None,
    slack_user_id: str,
    action: str,
    roles: tuple[str, ...],
    now: datetime,
) -> StaffMember:
    """The member if they hold one of `roles`; otherwise log the refusal and raise."""
    if member is not None and member.has(*roles):
        return member
    session.add(
        AuditLog(
            school_id=member.ctx.id if member else None,
            at=now,
            actor=slack_user_id,
            action=action,
            outcome="refused",
            detail={"needs": list(roles), "has": list(member.staff.roles) if member else []},
        )
    )
    needed = " or ".join(ROLE_WORDS[r] for r in roles)
    raise RoleError(
        f"Sorry, only {needed} can do that. If you think you should, ask the "
        "person who manages FirstCall's settings to add the role."
    )


# How far ahead of the next name (in rapidfuzz points) a fuzzy match must be to be taken.
CLEAR_LEAD = 10


def find_pupil(session: Session, ctx: SchoolContext, query: str) -> Pupil:
    """A UPN, or a name matched forgivingly ("jaden smith", "Smith J"); one match or an
    Ambiguous listing the few closest."""
    text = query.strip()
    if not text:
        raise NotFound("say which pupil: a UPN or a name")
    pupils = list(
        session.scalars(select(Pupil).where(Pupil.school_id == ctx.id, Pupil.on_roll.is_(True)))
    )
    for pupil in pupils:
        if pupil.upn == text.upper():
            return pupil
    names = {p.id: f"{p.first_name} {p.last_name}" for p in pupils}
    scored = process.extract(
        text,
        names,
        scorer=fuzz.token_set_ratio,
        processor=utils.default_process,
        limit=6,
        score_cutoff=70,
    )
    if not scored:
        raise NotFound(f"no pupil on roll matches {text!r}")
    exact = [
        s for s in scored if " ".join(names[s[2]].lower().split()) == " ".join(text.lower().split())
    ]
    # A misspelling is near more than one name as often as not ("Maia Ali": Mia Ali and Maya
    # Ali): only a clear lead picks a pupil by itself; otherwise the person chooses.
    best = scored[0][1]
    top = exact if len(exact) == 1 else [s for s in scored if s[1] >= best - CLEAR_LEAD]
    if len(top) == 1:
        return next(p for p in pupils if p.id == top[0][2])
    raise Ambiguous(text, [next(p for p in pupils if p.id == s[2]) for s in top])
