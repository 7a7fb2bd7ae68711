"""A member of staff acting through Slack: one transaction per request, who they are,
whether they may, and the things they name, always within their own school.

    with acting(factory, user_id, channel_id, now) as request:
        member = request.authorise("/absence approve", CASE_ROLES)
        ...one workflow call...

A refusal (RoleError from `authorise`) leaves the block with the refusal's audit row
committed, then propagates; any other exception rolls the whole request back. Authorise
before changing anything: what was done before a refusal is committed with it.

Every request that gets through is in the audit log too, in its own transaction: who (Slack
user and staff row), what (the action and the ids of the pupils, cases, tasks or requests it
touched, never names), when. A view (/pupil, /absence) counts as much as a decision.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from bot.workflow.staff import NotFound, RoleError, StaffMember, authorise, identify
from storage.models import AuditLog

# Who may do what. The headteacher alone decides leave (docs/domain.md).
ANY_STAFF = ("office", "attendance_lead", "dsl", "headteacher")
CASE_ROLES = ANY_STAFF
PUPIL_ROLES = ANY_STAFF
LEAVE_REQUEST_ROLES = ("office", "attendance_lead", "headteacher")
LEAVE_DECISION_ROLES = ("headteacher",)
SWEEP_ROLES = ("office", "attendance_lead", "headteacher")
# Acknowledging a safeguarding alert, or deciding it is not one, is a DSL's (KCSIE).
DSL_ROLES = ("dsl",)
# A task is for its role; the headteacher may act on any, the attendance lead on the office's.
TASK_ROLES = {
    "office": ("office", "attendance_lead", "headteacher"),
    "attendance_lead": ("attendance_lead", "headteacher"),
    "dsl": ("dsl", "headteacher"),
    "headteacher": ("headteacher",),
}


class SchoolOwned(Protocol):
    __tablename__: str
    id: int
    school_id: int


T = TypeVar("T", bound=SchoolOwned)


@dataclass
class StaffRequest:
    session: Session
    user_id: str
    channel_id: str | None
    now: datetime
    member: StaffMember | None
    action: str | None = None  # what was authorised, for the audit log
    subjects: dict[str, list[int]] = field(default_factory=dict)  # what it touched, by id

    def authorise(self, action: str, roles: tuple[str, ...]) -> StaffMember:
        """The member if they hold one of `roles`; otherwise the refusal is logged and raised."""
        self.member = authorise(self.session, self.member, self.user_id, action, roles, self.now)
        self.action = self.action or action
        return self.member

    def touched(self, what: str, ident: int) -> None:
        """Note a row the request read or changed, for its audit entry."""
        seen = self.subjects.setdefault(what, [])
        if ident not in seen:
            seen.append(ident)

    def load(self, model: type[T], ident: str | int, what: str) -> T:
        """A row of the member's own school by its id (a button's value), or NotFound."""
        if self.member is None:
            raise RuntimeError("authorise before loading")
        text = str(ident).strip().lstrip("#")
        row = self.session.get(model, int(text)) if text.isdigit() else None
        if row is None or row.school_id != self.member.ctx.id:
            raise NotFound(
                f"{what} {text or '?'} does not exist at {self.member.ctx.settings.name}"
            )
        self.touched(model.__tablename__, row.id)
        return row


@contextmanager
def acting(
    factory: sessionmaker[Session], user_id: str, channel_id: str | None, now: datetime
) -> Iterator[StaffRequest]:
    refusal: RoleError | None = None
    with factory() as session:
        with session.begin():
            request = StaffRequest(
                session,
                user_id,
                channel_id,
                now,
                identify(session, user_id, channel_id) if user_id else None,
            )
            try:
                yield request
            except RoleError as exc:
                refusal = exc  # leave the block normally: the audit row of the refusal commits
            else:
                _audit(request)
        if refusal is not None:
            raise refusal


def _audit(request: StaffRequest) -> None:
    """The request's audit entry, committed with what it did (nothing if it did nothing)."""
    if request.action is None or request.member is None:
        return
    request.session.add(
        AuditLog(
            school_id=request.member.ctx.id,
            at=request.now,
            actor=request.user_id,
            action=request.action,
            outcome="done",
            detail={"staff_id": request.member.staff.id, **request.subjects},
        )
    )
