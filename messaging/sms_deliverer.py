"""The SMS deliverer: checks at send time that each text may still go, sends it through an
`SmsTransport` (looking first for a text Twilio may already have), and records the outbound
`Message`. The outbox (messaging/outbox.py) claims the rows and records the outcomes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from messaging.delivery import DeliveryCancelled
from messaging.transport import SentText, SmsTransport
from storage.models import AbsenceCase, Contact, Message, OptOut, OutboxItem, PupilContact

# How far before an uncertain attempt to look for the text in Twilio's list: covers a clock
# difference between us and Twilio, and DateSent's whole seconds.
FIND_MARGIN = timedelta(minutes=10)


class SmsDeliverer:
    """Sends SMS outbox items through an `SmsTransport`, re-checking at send time that the
    contact may still be texted, and recording the outbound `Message`.

    The dispatcher uses it in three steps so a batch costs a few statements, not a few per
    text: `plan` (one session, bulk reads) decides what may go; `transmit` (no session, any
    thread) sends; `record` (one transaction for the batch) keeps the outcome."""

    def __init__(self, transport: SmsTransport, public_base_url: str) -> None:
        self.transport = transport
        self.status_callback = public_base_url.rstrip("/") + "/twilio/status"

    def plan(
        self, session: Session, items: Sequence[OutboxItem]
    ) -> dict[int, Outbound | DeliveryCancelled]:
        payloads = {item.id: item.payload for item in items}
        phones = {p["to"] for p in payloads.values()}
        contact_ids = {p["contact_id"] for p in payloads.values() if p.get("contact_id")}
        opted_out = (
            set(
                session.scalars(
                    select(OptOut.phone).where(OptOut.phone.in_(phones), OptOut.opted_out.is_(True))
                )
            )
            if phones
            else set()
        )
        contacts = (
            {c.id: c for c in session.scalars(select(Contact).where(Contact.id.in_(contact_ids)))}
            if contact_ids
            else {}
        )
        links: dict[int, list[PupilContact]] = {}
        for link in (
            session.scalars(select(PupilContact).where(PupilContact.contact_id.in_(contact_ids)))
            if contact_ids
            else ()
        ):
            links.setdefault(link.contact_id, []).append(link)
        barred = {cid for cid, rows in links.items() if any(r.no_contact for r in rows)}
        case_ids = {
            c
            for item in items
            if item.payload.get("contact_id") in barred
            for c in item.payload.get("case_ids") or []
        }
        case_pupils = (
            dict(
                session.execute(
                    select(AbsenceCase.id, AbsenceCase.pupil_id).where(AbsenceCase.id.in_(case_ids))
                ).all()
            )
            if case_ids
            else {}
        )
        plans: dict[int, Outbound | DeliveryCancelled] = {}
        for item in items:
            payload = item.payload
            contact = contacts.get(payload.get("contact_id") or -1)
            reason = _why_not(
                payload["to"] in opted_out,
                contact,
                links.get(contact.id, []) if contact else [],
                {case_pupils.get(c) for c in payload.get("case_ids") or []},
            )
            if reason is not None:
                plans[item.id] = DeliveryCancelled(reason)
                continue
            uncertain = item.result.get("uncertain_since") if item.result else None
            since = datetime.fromisoformat(uncertain) - FIND_MARGIN if uncertain else None
            known: frozenset[str] = frozenset()
            if since is not None:  # rare: only after a timeout or a crash
                known = frozenset(
                    session.scalars(
                        select(Message.sid).where(
                            Message.direction == "outbound",
                            Message.to_phone == payload["to"],
                            Message.created_at >= since,
                            Message.sid.is_not(None),
                        )
                    )
                )
            plans[item.id] = Outbound(item.id, payload["to"], payload["body"], since, known)
        return plans

    def transmit(self, outbound: Outbound) -> tuple[SentText, bool]:
        """Send, or adopt the text Twilio already has if the last attempt may have reached
        it (a timeout, a crash): a parent never gets the same text twice. Raises
        TransportError. Returns the text and whether it was adopted."""
        if outbound.uncertain_since is not None:
            found = self.transport.find_sent(
                outbound.to, outbound.body, outbound.uncertain_since, exclude=outbound.known_sids
            )
            if found is not None:
                return found, True
        return self.transport.send(
            outbound.to, outbound.body, status_callback=self.status_callback
        ), False

    def record(
        self, session: Session, item: OutboxItem, sent: SentText, adopted: bool, now: datetime
    ) -> dict[str, Any]:
        payload = item.payload
        session.add(
            Message(
                school_id=item.school_id,
                direction="outbound",
                sid=sent.sid,
                contact_id=payload.get("contact_id"),
                from_phone=sent.from_ or "",
                to_phone=payload["to"],
                body=payload["body"],
                status=sent.status,
                error_code=None,
                outbox_id=item.id,
                handled=True,
                created_at=now,
                updated_at=now,
            )
        )
        result: dict[str, Any] = {"sid": sent.sid, "status": sent.status}
        if adopted:
            result["adopted"] = True
        if sent.segments is not None:
            result["segments"] = sent.segments
        return result


@dataclass(frozen=True)
class Outbound:
    """What a sending thread needs for one text: no session, no ORM object."""

    item_id: int
    to: str
    body: str
    uncertain_since: datetime | None  # look in Twilio's list from here before sending
    known_sids: frozenset[str]  # texts already on record, never to be adopted again


def _why_not(
    opted_out: bool, contact: Contact | None, links: Sequence[PupilContact], pupils: set[int | None]
) -> str | None:
    """Why this number must not be texted now, or None. Checked at send time because a STOP,
    a landline finding or a safeguarding decision can land after the text was queued."""
    if opted_out:
        return "opted out"
    if contact is None:
        return None
    if not contact.can_sms:
        return "cannot receive texts (landline)"
    if contact.undeliverable:
        return "undeliverable"
    if links and all(link.no_contact for link in links):
        return "no contact with any pupil"
    # A text about a child must not reach an adult barred from contact about that child,
    # even if they may be contacted about a sibling.
    if any(link.no_contact and link.pupil_id in pupils for link in links):
        return "no contact with a pupil the text is about"
    return None
