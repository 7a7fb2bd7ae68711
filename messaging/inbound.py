"""Texts from parents and delivery reports, from Twilio's webhooks (or reconciliation).

Every request is verified at the edge against the URL Twilio was given (PUBLIC_BASE_URL, never
the host a proxy passes on), over every parameter received; a bad signature stores nothing.
A text is stored, de-duplicated on its MessageSid, and handed to the bot's callback in the
same transaction (one commit a reply). If the callback fails, that transaction is rolled back
and the text is stored again on its own, `handled=False`, and reconciliation runs the callback
again (in a transaction of its own, `handle_stored`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from twilio.request_validator import RequestValidator

from messaging.config import TwilioSettings
from messaging.edge import TWILIO_BODY_LIMIT, Refused, clean_text, decoded, read_body
from messaging.optout import KeywordKind, keyword_kind, record_opt_out
from rules.texts import DEFAULT_TEMPLATES, render
from storage.db import transaction, upsert
from storage.models import Contact, Message, School
from storage.schools import settings_for

log = logging.getLogger(__name__)

ReplyHook = Callable[[Session, Message, Sequence[Contact], datetime], None]
StatusHook = Callable[[Session, Message, datetime], None]
Clock = Callable[[], datetime]


class OptChangeHook(Protocol):
    def __call__(
        self,
        session: Session,
        phone: str,
        contacts: Sequence[Contact],
        *,
        opted_out: bool,
        now: datetime,
    ) -> None: ...


# Delivery states in the order a message moves through them; callbacks arrive out of order
# and a status never moves back (delivered must not become sent).
STATUS_RANK = {
    "accepted": 0,
    "scheduled": 0,
    "queued": 1,
    "sending": 2,
    "sent": 3,
    "delivered": 4,
    "undelivered": 4,
    "failed": 4,
    "canceled": 4,
    "partially_delivered": 4,
    "read": 5,
}
# Delivery errors that say the number cannot take texts: 30005 unknown handset (the number
# no longer exists), 30006 landline or unreachable carrier.
UNREACHABLE_CODES = frozenset({30005, 30006})
# An unknown number is told the school's number at most this often.
STRANGER_REPLY_EVERY = timedelta(days=1)
_EMPTY_TWIML = "<Response/>"
FORM = "application/x-www-form-urlencoded"
# The longest each field may be (the database's columns; a MessageSid is 34 characters, a
# phone number in E.164 at most 16, a text at most 1,600 characters).
FIELD_LIMITS = {
    "MessageSid": 64,
    "From": 20,
    "To": 20,
    "MessageStatus": 20,
    "ErrorCode": 10,
    "Body": 10_000,
}
# Twilio's prefix for a WhatsApp sender; the number behind it is the contact's.
WHATSAPP = "whatsapp:"
_NO_SCHOOL = {"school": "the school", "school_phone": "its usual number"}


class Unstorable(ValueError):
    """A text that cannot be stored as it is (a field too long for its column)."""


# -- storing and handling a text ---------------------------------------------------------------


@dataclass(frozen=True)
class Ingested:
    message_id: int
    created: bool  # False: this MessageSid was stored before (a duplicate delivery)
    keyword: KeywordKind | None
    reply: str | None  # what to text straight back in TwiML, if anything
    contacts: Sequence[Contact] = ()  # every contact with the sender's number
    message: Message | None = None  # the text as stored, when stored by this call


def ingest(
    session: Session,
    *,
    sid: str,
    from_: str,
    to: str,
    body: str,
    now: datetime,
) -> Ingested:
    """Store an inbound text once, in the caller's transaction; the webhook and
    reconciliation both come through here.

    Every field is cleaned first (control characters out, a WhatsApp sender's number as the
    number); a field too long to store raises `Unstorable`.

    Opt-out keywords are recorded here, with the text, so the fact is never lost to a failing
    callback. The reply (HELP, START, an unknown number) is worked out only for a new text.
    """
    sid, body = clean_text(sid).strip(), clean_text(body)
    from_, to = (clean_text(v).strip().removeprefix(WHATSAPP) for v in (from_, to))
    for name, value in (("MessageSid", sid), ("From", from_), ("To", to), ("Body", body)):
        if len(value) > FIELD_LIMITS[name]:
            raise Unstorable(f"{name} is too long (at most {FIELD_LIMITS[name]} characters)")
    if not sid:
        raise Unstorable("MessageSid is empty")
    contacts = contacts_for(session, from_)
    kind = keyword_kind(body)
    schools = {c.school_id for c in contacts}
    # One round trip: the insert says whether this MessageSid is new (a duplicate delivery,
    # or the webhook and reconciliation at once, inserts nothing).
    # RETURNING the row as an ORM object: the callback that follows needs no second look.
    message = session.scalar(
        upsert(session, Message)
        .values(
            school_id=contacts[0].school_id if len(schools) == 1 else None,
            direction="inbound",
            sid=sid,
            contact_id=contacts[0].id if contacts else None,
            from_phone=from_,
            to_phone=to,
            body=body,
            status="received",
            error_code=None,
            outbox_id=None,
            # Nothing for the bot to do: a keyword nobody needs telling about, or a stranger.
            handled=not contacts or kind == "help",
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["sid"])
        .returning(Message),
        execution_options={"populate_existing": True},
    )
    if message is None:
        winner = session.scalars(select(Message.id).where(Message.sid == sid)).one()
        return Ingested(winner, False, None, None)
    message_id = message.id
    if kind in ("opt_out", "opt_in"):
        record_opt_out(
            session,
            from_,
            keyword=body.strip().upper() or kind,
            now=now,
            opted_out=kind == "opt_out",
        )
    reply = None
    if kind == "opt_in":
        reply = _template(session, contacts, "opted_in")
    elif kind == "help":
        reply = _template(session, contacts, "help")
    elif kind is None and not contacts and not _stranger_answered(session, from_, message_id, now):
        # A stranger gets the school's number and nothing about any child, once a day: each
        # reply is billed, and sixty texts must not cost sixty replies.
        reply = _template(session, contacts, "unknown_number")
    # (STOP gets no reply from us: Twilio sends its own confirmation.)
    return Ingested(message_id, True, kind, reply, contacts, message)


def _stranger_answered(session: Session, phone: str, message_id: int, now: datetime) -> bool:
    """Whether this unknown number texted us (and so was answered) within the last day."""
    return (
        session.scalar(
            select(Message.id)
            .where(
                Message.direction == "inbound",
                Message.from_phone == phone,
                Message.contact_id.is_(None),
                Message.created_at > now - STRANGER_REPLY_EVERY,
                Message.id != message_id,
            )
            .limit(1)
        )
        is not None
    )


def contacts_for(session: Session, phone: str) -> list[Contact]:
    """Every contact with this number: one family can be on several schools' rolls. Each
    comes with its school (the reply's handler needs the school's settings next)."""
    return list(
        session.scalars(
            select(Contact)
            .options(joinedload(Contact.school))
            .where(Contact.phone == phone)
            .order_by(Contact.id)
        )
    )


def handle_stored(
    factory: sessionmaker[Session],
    message_id: int,
    *,
    now: datetime,
    on_reply: ReplyHook,
    on_opt_change: OptChangeHook | None = None,
    skip_locked: bool = False,
) -> bool:
    """Run the bot's callback for a stored inbound text, once, in its own transaction
    (reconciliation's way in: the webhook runs it in the transaction that stores the text).

    Returns True if it ran. If the callback raises, the text stays unhandled for
    reconciliation to try again, and only its id is logged.
    """
    try:
        with transaction(factory) as session:
            query = (
                select(Message)
                .where(Message.id == message_id)
                .with_for_update(skip_locked=skip_locked)
            )
            message = session.scalar(query.execution_options(populate_existing=True))
            if message is None or message.handled or message.direction != "inbound":
                return False
            contacts = contacts_for(session, message.from_phone)
            _run_callback(session, message, contacts, now, on_reply, on_opt_change)
            return True
    except Exception as exc:  # noqa: BLE001 - the text is stored; reconciliation retries it
        _callback_failed(message_id, exc)
        return False


def _run_callback(
    session: Session,
    message: Message,
    contacts: Sequence[Contact],
    now: datetime,
    on_reply: ReplyHook,
    on_opt_change: OptChangeHook | None,
) -> None:
    """The bot's callback for a stored text, in the caller's transaction; then the text is
    handled. If it raises, the caller rolls back and the text is kept unhandled."""
    kind = keyword_kind(message.body)
    if kind in ("opt_out", "opt_in"):
        if on_opt_change is not None and contacts:
            on_opt_change(
                session, message.from_phone, contacts, opted_out=kind == "opt_out", now=now
            )
    elif kind is None and contacts:
        on_reply(session, message, contacts, now)
    message.handled = True
    message.updated_at = now


def _callback_failed(message_id: int, exc: Exception) -> None:
    log.error(
        "inbound message %s: callback raised %s; left for reconciliation",
        message_id,
        type(exc).__name__,
    )


def _template(session: Session, contacts: Sequence[Contact], name: str) -> str:
    """A reply in the school's own words: the contact's school, or for a stranger the only
    school if there is just one, else a generic text naming no school."""
    school = session.get(School, contacts[0].school_id) if contacts else None
    if school is None:
        schools = list(session.scalars(select(School).limit(2)))
        school = schools[0] if len(schools) == 1 else None
    if school is None:
        return DEFAULT_TEMPLATES[name].format_map(_NO_SCHOOL)
    settings = settings_for(school)
    return render(settings, name, school=settings.name, school_phone=settings.phone)


# -- delivery reports --------------------------------------------------------------------------


def record_status(
    session: Session,
    sid: str,
    status: str,
    error_code: int | None,
    *,
    now: datetime,
    from_: str | None = None,
) -> Message | None:
    """Apply a status callback to our outbound message; None if the sid is not ours.

    Returns the message only if its status moved forward.
    """
    message = session.scalar(select(Message).where(Message.sid == sid).with_for_update())
    if message is None or message.direction != "outbound":
        return None
    if message.contact_id is not None:
        contact = session.get(Contact, message.contact_id)
        if contact is not None:
            learn_deliverability(contact, message.created_at, status, error_code)
    if from_ and not message.from_phone:
        message.from_phone = from_  # a Messaging Service picks its sender after we send
    if STATUS_RANK.get(status, -1) <= STATUS_RANK.get(message.status, -1):
        return None
    message.status = status
    if error_code is not None:
        message.error_code = error_code
    message.updated_at = now
    return message


def learn_deliverability(
    contact: Contact, sent_at: datetime, status: str, error_code: int | None
) -> None:
    """What a status for a text sent at `sent_at` says about the number. Only news newer than
    the last success marks it undeliverable (a late or replayed callback cannot), and a text
    delivered after the one that marked it clears it."""
    if status == "delivered":
        if contact.last_delivered_at is None or sent_at > contact.last_delivered_at:
            contact.last_delivered_at = sent_at
        if contact.undeliverable and (
            contact.undeliverable_at is None or sent_at > contact.undeliverable_at
        ):
            contact.undeliverable, contact.undeliverable_at = None, None
        return
    if error_code not in UNREACHABLE_CODES or contact.undeliverable:
        return
    if contact.last_delivered_at is None or sent_at > contact.last_delivered_at:
        contact.undeliverable = f"Twilio error {error_code}"
        contact.undeliverable_at = sent_at


def webhook_fields(form: Mapping[str, object], required: tuple[str, ...]) -> dict[str, str]:
    """A signed webhook's text fields, cleaned and checked: each required one present and
    every field within its limit, else `Refused` (400) naming the field."""
    fields = {key: clean_text(value) for key, value in form.items() if isinstance(value, str)}
    for name in ("From", "To"):
        if name in fields:
            fields[name] = fields[name].strip().removeprefix(WHATSAPP)
    missing = [name for name in required if not fields.get(name)]
    if missing:
        raise Refused(400, f"{' and '.join(required)} are required")
    for name, limit in FIELD_LIMITS.items():
        if len(fields.get(name, "")) > limit:
            raise Refused(400, f"{name} is too long (at most {limit} characters)")
    return fields


# -- the web routes ----------------------------------------------------------------------------


def twilio_router(
    factory: sessionmaker[Session],
    settings: TwilioSettings,
    *,
    clock: Clock,
    on_reply: ReplyHook,
    on_opt_change: OptChangeHook | None = None,
    on_status: StatusHook | None = None,
) -> APIRouter:
    """`POST /twilio/sms` and `POST /twilio/status`, verified with Twilio's signature."""
    router = APIRouter()
    validator = RequestValidator(settings.auth_token)

    async def verified_form(
        request: Request, signed_url: str, required: tuple[str, ...]
    ) -> dict[str, str] | Response:
        """The form's fields, or the answer to give: 403 for a missing or bad signature
        (nothing is stored), 413 for a body over the limit, 415 for anything but the form
        encoding Twilio uses (a multipart upload is never parsed), 400 for a signed request
        whose fields the route cannot use."""
        try:
            signature = request.headers.get("X-Twilio-Signature", "")
            if not signature:
                raise Refused(403, "invalid signature")
            body = await read_body(request, TWILIO_BODY_LIMIT)
            kind = request.headers.get("content-type", "").partition(";")[0].strip().lower()
            if kind != FORM:
                raise Refused(415, f"Twilio webhooks are {FORM}")
            fields: list[tuple[str, str | UploadFile]] = list(
                parse_qsl(decoded(body), keep_blank_values=True)
            )
            form = FormData(fields)
            query = request.url.query
            url = f"{signed_url}?{query}" if query else signed_url
            # Every parameter received is signed, including ones Twilio adds in future.
            if not validator.validate(url, form, signature):
                raise Refused(403, "invalid signature")
            return webhook_fields(form, required)
        except Refused as refused:
            return refused.response()

    def receive_sms(fields: Mapping[str, str]) -> str | None:
        now = clock()
        text = {
            "sid": fields["MessageSid"],
            "from_": fields["From"],
            "to": fields.get("To", ""),
            "body": fields.get("Body", ""),
        }
        stored: Ingested | None = None
        try:
            # One transaction stores the text and runs the callback: one commit per reply.
            with transaction(factory) as session:
                stored = ingest(session, now=now, **text)
                if not stored.created:
                    log.info("inbound %s: duplicate delivery, already stored", text["sid"])
                    return None
                message = stored.message or session.get_one(Message, stored.message_id)
                if not message.handled:
                    _run_callback(session, message, stored.contacts, now, on_reply, on_opt_change)
            return stored.reply
        except Exception as exc:
            if stored is None:
                raise  # the text itself could not be stored: the route answers for it
            _callback_failed(stored.message_id, exc)
        # The callback failed and took the text with it: store the text on its own, unhandled,
        # for reconciliation to run the callback again.
        with transaction(factory) as session:
            again = ingest(session, now=now, **text)
        return again.reply if again.created else None

    def receive_status(fields: Mapping[str, str]) -> None:
        now = clock()
        code = fields.get("ErrorCode") or ""
        with transaction(factory) as session:
            message = record_status(
                session,
                fields["MessageSid"],
                fields["MessageStatus"],
                int(code) if code.isdigit() else None,
                now=now,
                from_=fields.get("From"),
            )
            message_id = message.id if message is not None else None
        if message_id is None or on_status is None:
            return
        try:
            with transaction(factory) as session:
                message = session.get(Message, message_id)
                if message is not None:
                    on_status(session, message, now)
        except Exception as exc:  # noqa: BLE001 - the status is recorded; Twilio cannot retry
            log.error("status for message %s: on_status raised %s", message_id, type(exc).__name__)

    @router.post("/twilio/sms")
    async def sms(request: Request) -> Response:
        fields = await verified_form(request, settings.sms_webhook_url, ("MessageSid", "From"))
        if isinstance(fields, Response):
            return fields
        return twiml(await run_in_threadpool(receive_sms, fields))

    @router.post("/twilio/status")
    async def status(request: Request) -> Response:
        fields = await verified_form(
            request, settings.status_callback_url, ("MessageSid", "MessageStatus")
        )
        if isinstance(fields, Response):
            return fields
        await run_in_threadpool(receive_status, fields)
        return Response(status_code=200)

    return router


def twiml(reply: str | None) -> Response:
    """TwiML that texts ``reply`` back, or sends nothing."""
    body = f"<Response><Message>{escape(reply)}</Message></Response>" if reply else _EMPTY_TWIML
    return Response(body, media_type="application/xml")
