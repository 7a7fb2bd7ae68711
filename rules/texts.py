"""What parents read, in one place: every SMS template, the fields each may use and its
default wording; filling a school's templates (validated at `school load`, so a bad field
fails then, not at 9 a.m.) with plain-English phrases for names, sessions and dates; and
counting the SMS segments a text costs. Pure."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # rules.settings validates templates against the fields below
    from rules.settings import SchoolSettings

# The templates a school may set, and the fields each may use.
TEMPLATE_FIELDS: dict[str, frozenset[str]] = {
    "first_contact": frozenset({"school", "children", "session", "date", "school_phone"}),
    "follow_up": frozenset({"school", "children", "session", "date", "school_phone"}),
    "acknowledgement": frozenset({"school", "children", "school_phone"}),
    "acknowledgement_safeguarding": frozenset({"school", "children", "school_phone"}),
    "acknowledgement_missing": frozenset({"school", "children", "school_phone"}),
    "acknowledgement_closed": frozenset({"school", "children", "school_phone", "opens"}),
    "leave_approved": frozenset({"school", "child", "from", "to", "note", "school_phone"}),
    "leave_declined": frozenset(
        {"school", "child", "from", "to", "note", "penalty_warning", "school_phone"}
    ),
    "leave_received": frozenset({"school", "child", "school_phone"}),
    "medical_evidence": frozenset({"school", "child", "school_phone"}),
    "unknown_number": frozenset({"school", "school_phone"}),
    "opted_out": frozenset({"school", "school_phone"}),
    "opted_in": frozenset({"school", "school_phone"}),
    "help": frozenset({"school", "school_phone"}),
}

DEFAULT_TEMPLATES: dict[str, str] = {
    "first_contact": (
        "Hello, this is {school}. {children} was not in school when the register closed "
        "{session} ({date}) and we have no reason. Please reply with the reason."
    ),
    "follow_up": (
        "{school}: we still have no reason for {children} being absent {session} ({date}). "
        "Please reply with the reason or call us on {school_phone}."
    ),
    "acknowledgement": "Thank you, {school} has your message about {children}.",
    # A reply the DSL must see: no "thank you, noted", but a call, and 999 if it cannot wait.
    "acknowledgement_safeguarding": (
        "Thank you for telling us about {children}. A member of staff at {school} will call "
        "you as soon as possible. If a child is in danger now, call 999."
    ),
    "acknowledgement_missing": (
        "Thank you for telling us about {children}. Please ring {school} now on {school_phone}: "
        "a member of staff will also call you. If a child is missing or in danger, call 999."
    ),
    "acknowledgement_closed": (
        "Thank you for telling us about {children}. {school} is closed now; a member of staff "
        "will call you when it opens ({opens}). If a child is missing or in danger before "
        "then, call 999."
    ),
    "leave_approved": (
        "{school}: the headteacher has approved leave for {child} from {from} to {to}. {note}"
    ),
    "leave_declined": (
        "{school}: the headteacher cannot approve leave for {child} from {from} to {to}. "
        "{note}{penalty_warning}"
    ),
    "leave_received": (
        "{school}: thank you, your leave request for {child} has gone to the headteacher, "
        "who will reply in writing."
    ),
    "medical_evidence": (
        "{school}: {child} has now been off ill for a while. Please send us medical evidence "
        "(an appointment card or prescription) or call {school_phone}."
    ),
    "unknown_number": (
        "This is the absence line of {school}. We could not match this number; please call the "
        "school office on {school_phone}."
    ),
    "opted_out": (
        "{school}: you will get no more texts from this number. Reply START to receive them "
        "again. Please call {school_phone} to report absences."
    ),
    "opted_in": "{school}: you will receive absence texts from us again.",
    "help": "{school} absence line: reply with the reason for an absence, or call {school_phone}. "
    "Reply STOP to stop texts.",
}


def acknowledgement_template(*, safeguarding: bool, missing: bool, school_open: bool) -> str:
    """Which acknowledgement a parent's reply gets: the school's ordinary thanks, or, for a
    reply the DSL must see, a promise of a call and what to do meanwhile."""
    if not safeguarding:
        return "acknowledgement"
    if not school_open:
        return "acknowledgement_closed"
    return "acknowledgement_missing" if missing else "acknowledgement_safeguarding"


SESSION_WORDS = {"AM": "this morning", "PM": "this afternoon"}
# "{children} was" reads wrong for two children; agreement is applied to the template text so
# schools can write their templates in the singular.
_AGREEMENT = re.compile(r"\{children\}(\s+)(was|is|has)\b")
_PLURAL = {"was": "were", "is": "are", "has": "have"}
# GSM 03.38: the basic set costs one septet, the extension set two (escape + char).
_GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENSION = set("^{}\\[~]|€\f")


class _Blank(dict[str, str]):
    """Fields a template may use but this text has no value for read as empty, not a crash."""

    def __missing__(self, key: str) -> str:
        return ""


def render(settings: SchoolSettings, name: str, **fields: object) -> str:
    return _fill(settings.templates[name], fields)


def _fill(text: str, fields: Mapping[str, object]) -> str:
    children = fields.get("children")
    if isinstance(children, str) and (" and " in children or "," in children):
        text = _AGREEMENT.sub(lambda m: "{children}" + m.group(1) + _PLURAL[m.group(2)], text)
    filled = text.format_map(_Blank({k: "" if v is None else str(v) for k, v in fields.items()}))
    return " ".join(filled.split())  # empty fields must not leave double spaces


# A value of every field as texts get them (all text), one child and two: each template is
# filled in with these when a school loads, so one that cannot be ({school:d},
# {children!x}) is refused there and never fails a sweep.
SAMPLE_FIELDS: tuple[dict[str, str], ...] = tuple(
    {
        "school": "Crofton Infants",
        "children": children,
        "child": "Amira",
        "session": "this morning",
        "date": "Tue 10 Mar",
        "from": "Tue 5 May",
        "to": "Thu 7 May",
        "note": "",
        "penalty_warning": "",
        "school_phone": "01924 967606",
        "opens": "Mon 14 Sep at 08:30",
    }
    for children in ("Amira", "Amira and Dylan")
)


def template_problem(name: str, text: str) -> str | None:
    """Why `text` cannot be the `name` template, found by filling it in as a text is; None
    if it can be."""
    for sample in SAMPLE_FIELDS:
        try:
            _fill(text, {field: sample[field] for field in TEMPLATE_FIELDS[name]})
        except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
            return f"cannot be filled in ({exc})"
    return None


def children_phrase(names: Sequence[str]) -> str:
    """ "Jayden", "Mia and Ollie", "Amy, Ben and Cal": each name once, in the order given."""
    unique = list(dict.fromkeys(n for n in names if n))
    if len(unique) <= 1:
        return "".join(unique)
    return ", ".join(unique[:-1]) + " and " + unique[-1]


def session_phrase(label: str) -> str:
    return SESSION_WORDS.get(label, label)


def short_date(day: date) -> str:
    """ "Tue 10 Mar": what a parent reads at a glance, unambiguous within a term."""
    return f"{day.strftime('%a')} {day.day} {day.strftime('%b')}"


def segments(body: str) -> int:
    """SMS segments Twilio bills for ``body``: GSM-7 160/153 per part, otherwise UCS-2 70/67
    (one accented letter outside GSM-7 halves what fits, so the benchmark reports both)."""
    if all(c in _GSM_BASIC or c in _GSM_EXTENSION for c in body):
        septets = sum(2 if c in _GSM_EXTENSION else 1 for c in body)
        return 1 if septets <= 160 else math.ceil(septets / 153)
    units = len(body.encode("utf-16-le")) // 2  # emoji count twice, as on the air
    return 1 if units <= 70 else math.ceil(units / 67)


def penalty_warning(days: int) -> str:
    """The sentence a declined request gets when it was for the school's penalty-warning
    number of days or more (`leave_penalty_warning_days`)."""
    return (
        f" Taking {days} or more days of term-time leave without approval may lead to a "
        "penalty notice."
    )
