"""The change-code modal: a code from the 2024 set and the reason the register must keep.
The case and the channel it was opened from travel in the view's private_metadata."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from bot.slack.errors import UsageError
from bot.slack.mrkdwn import escape
from bot.slack.render import short_name
from rules.codes import CODES, Category, is_n_code
from rules.texts import short_date
from storage.models import AbsenceCase, Pupil

CALLBACK_ID = "case_change"
CONCERN_ID, RETURN_ID = "case_concern", "dsl_return"
CODE_BLOCK, REASON_BLOCK, NOTE_BLOCK = "code", "reason", "note"
# Codes that can explain a pupil not being in the room: not "present", not N (what is being
# replaced), not a whole-school closure.
OFFERED = [
    c
    for c in CODES.values()
    if c.category not in (Category.PRESENT, Category.ADMINISTRATIVE) and not is_n_code(c.code)
]


class FormError(UsageError):
    """A field of the modal that cannot be used; shown beside that field."""

    def __init__(self, block: str, message: str) -> None:
        super().__init__(message)
        self.block = block


@dataclass(frozen=True)
class ChangeCode:
    case_id: int
    channel_id: str | None
    code: str
    reason: str


def _text(text: str) -> dict[str, str]:
    return {"type": "plain_text", "text": text}


def _option(code: str, meaning: str) -> dict[str, Any]:
    return {"text": _text(f"{code}: {meaning}"[:75]), "value": code}


def change_code(
    case: AbsenceCase, pupil: Pupil, channel_id: str | None, reply: list[str] | None = None
) -> dict[str, Any]:
    """`reply`: lines of mrkdwn showing the parent's words and how they were read, or None
    where the person may not see them (a reply with the DSL)."""
    current = case.confirmed_code or case.provisional_code
    select: dict[str, Any] = {
        "type": "static_select",
        "action_id": CODE_BLOCK,
        "placeholder": _text("Choose a code"),
        "options": [_option(c.code, c.meaning) for c in OFFERED],
    }
    known = next((c for c in OFFERED if c.code == current), None)
    if known is not None:
        select["initial_option"] = _option(known.code, known.meaning)
    return {
        "type": "modal",
        "callback_id": CALLBACK_ID,
        "private_metadata": json.dumps({"case": case.id, "channel": channel_id}),
        "title": _text("Change the code"),
        "submit": _text("Save"),
        "close": _text("Cancel"),
        "blocks": [
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": (
                        f"*{short_name(pupil)}* ({escape(pupil.class_name)}), absent {case.opened_session} "
                        f"{short_date(case.opened_on)}. Code now: *{current or 'N'}*"
                        + ("" if case.confirmed_code else " (provisional)")
                    ),
                },
            },
            *(
                [{"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(reply)}}]
                if reply
                else []
            ),
            {"type": "input", "block_id": CODE_BLOCK, "label": _text("Code"), "element": select},
            {
                "type": "input",
                "block_id": REASON_BLOCK,
                "label": _text("Reason (kept with the register)"),
                "element": {
                    "type": "plain_text_input",
                    "action_id": REASON_BLOCK,
                    "max_length": 500,
                    "placeholder": _text("e.g. mum rang: hospital appointment"),
                },
            },
        ],
    }


def read_change_code(view: dict[str, Any]) -> ChangeCode:
    case_id, channel_id = _case_of(view, CODE_BLOCK)
    values = (view.get("state") or {}).get("values") or {}
    chosen = ((values.get(CODE_BLOCK) or {}).get(CODE_BLOCK) or {}).get("selected_option") or {}
    reason = (((values.get(REASON_BLOCK) or {}).get(REASON_BLOCK) or {}).get("value") or "").strip()
    if not chosen.get("value"):
        raise FormError(CODE_BLOCK, "choose a code")
    if not reason:
        raise FormError(REASON_BLOCK, "give the reason: the register keeps it")
    return ChangeCode(case_id, channel_id, str(chosen["value"]), reason)


def _case_of(view: dict[str, Any], block: str, key: str = "case") -> tuple[int, str | None]:
    """What (a case, an alert) and from which channel a modal was opened: its metadata."""
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
        return int(meta[key]), meta.get("channel")
    except (ValueError, KeyError, TypeError, AttributeError):
        raise FormError(
            block, "this form has lost track of its absence; close it and press the button again"
        ) from None


def block_for(exc: Exception, default: str = CODE_BLOCK) -> str:
    """Which field an error is shown beside."""
    return getattr(exc, "block", default)


@dataclass(frozen=True)
class Note:
    ident: int  # of what the note is about: a case (a concern), an alert (not safeguarding)
    channel_id: str | None
    text: str


def concern(case: AbsenceCase, pupil: Pupil, channel_id: str | None) -> dict[str, Any]:
    """Raise a concern: a short note for the DSL, who also sees the reply's words."""
    return _note_modal(
        CONCERN_ID,
        case.id,
        channel_id,
        title="Raise a concern",
        submit="Send to the DSL",
        intro=(
            f"*{short_name(pupil)}* ({escape(pupil.class_name)}). What worries you? The DSL "
            "gets your note, the parent's words and your name, now."
        ),
        label="Your note for the DSL",
        placeholder="e.g. mum sounded frightened on the phone; said she can't talk now",
    )


def not_safeguarding(alert_id: int, channel_id: str | None) -> dict[str, Any]:
    """Not a safeguarding matter: why, for the record, before the office has it back."""
    return _note_modal(
        RETURN_ID,
        alert_id,
        channel_id,
        title="Not safeguarding",
        submit="Return to office",
        intro=(
            "Why is this not a safeguarding matter? The record keeps your reason; the office "
            "sees the case again."
        ),
        label="Why",
        placeholder="e.g. spoke to dad: the police were at a neighbour's, not theirs",
    )


def _note_modal(
    callback_id: str,
    ident: int,
    channel_id: str | None,
    *,
    title: str,
    submit: str,
    intro: str,
    label: str,
    placeholder: str,
) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": callback_id,
        "private_metadata": json.dumps({"id": ident, "channel": channel_id}),
        "title": _text(title),
        "submit": _text(submit),
        "close": _text("Cancel"),
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": intro}},
            {
                "type": "input",
                "block_id": NOTE_BLOCK,
                "label": _text(label),
                "element": {
                    "type": "plain_text_input",
                    "action_id": NOTE_BLOCK,
                    "multiline": True,
                    "max_length": 1000,
                    "placeholder": _text(placeholder),
                },
            },
        ],
    }


def read_note(view: dict[str, Any]) -> Note:
    ident, channel_id = _case_of(view, NOTE_BLOCK, "id")
    values = (view.get("state") or {}).get("values") or {}
    text = (((values.get(NOTE_BLOCK) or {}).get(NOTE_BLOCK) or {}).get("value") or "").strip()
    if not text:
        raise FormError(NOTE_BLOCK, "write a short note")
    return Note(ident, channel_id, text)
