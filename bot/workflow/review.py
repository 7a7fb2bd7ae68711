"""A person reads what the parser was unsure of: opening a reply (the change-code modal
shows its words and its reading) is recorded, and only then may its code be confirmed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.workflow.cases import log_by, refresh_case_cards
from bot.workflow.decisions import DecisionError
from bot.workflow.school import SchoolContext
from bot.workflow.staff import StaffMember
from rules.review import review_reasons
from storage.models import AbsenceCase, CaseEvent, Message, MessageCase


def reply_opened(
    session: Session,
    ctx: SchoolContext,
    case: AbsenceCase,
    reply: Message,
    member: StaffMember,
    now: datetime,
) -> None:
    log_by(session, case, "reply_opened", member, now, message_id=reply.id)
    refresh_case_cards(session, ctx, case, now)


def latest_reply(session: Session, case: AbsenceCase) -> Message | None:
    return session.scalar(
        select(Message)
        .join(MessageCase, MessageCase.message_id == Message.id)
        .where(MessageCase.case_id == case.id, Message.direction == "inbound")
        .order_by(Message.id.desc())
        .limit(1)
    )


def awaiting_review(session: Session, case: AbsenceCase, reply: Message) -> bool:
    """The parser wants a person to read this reply, and nobody has opened it yet."""
    if not review_reasons(reply.parse):
        return False
    opened = session.scalars(
        select(CaseEvent.detail).where(
            CaseEvent.case_id == case.id, CaseEvent.kind == "reply_opened"
        )
    )
    return not any(detail.get("message_id") == reply.id for detail in opened)


def require_read(session: Session, case: AbsenceCase) -> None:
    """Refuse to confirm a code the parser was unsure of before anyone has read the reply."""
    reply = latest_reply(session, case)
    if reply is not None and awaiting_review(session, case, reply):
        raise DecisionError(
            "that reply needs a person to read it first: press Change code on its card to see "
            "the words, or set the code with /absence code"
        )
