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
CODE_BLOCK, REASON_BLOCK = "code", "reason"
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


def change_code(case: AbsenceCase, pupil: Pupil, channel_id: str | None) -> dict[str, Any]:
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
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
        case_id = int(meta["case"])
    except (ValueError, KeyError, TypeError):
        raise FormError(
            CODE_BLOCK,
            "this form has lost track of its absence; close it and press Change code again",
        ) from None
    values = (view.get("state") or {}).get("values") or {}
    chosen = ((values.get(CODE_BLOCK) or {}).get(CODE_BLOCK) or {}).get("selected_option") or {}
    reason = (((values.get(REASON_BLOCK) or {}).get(REASON_BLOCK) or {}).get("value") or "").strip()
    if not chosen.get("value"):
        raise FormError(CODE_BLOCK, "choose a code")
    if not reason:
        raise FormError(REASON_BLOCK, "give the reason: the register keeps it")
    return ChangeCode(case_id, meta.get("channel"), str(chosen["value"]), reason)


def block_for(exc: Exception) -> str:
    """Which field an error is shown beside."""
    return getattr(exc, "block", CODE_BLOCK)
