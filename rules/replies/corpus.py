"""The labelled reply corpus: JSON lines in the GUIDE's format, checked line by line.

The training pipeline, the stale-model check and the benchmark all read the corpus through
`load`, so a bad line is reported once, as file:line and what is wrong, and never trains
the model.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from .model import INTENTS

CORPUS_DIR = Path(__file__).resolve().parent / "corpus"
DEV_FILE = "dev.jsonl"

CODES = frozenset({"I", "M", "R", "C", "G", "O", "Y1", "Y2", "T", "J1", "E", "U", "N"})
AUTHORISED = frozenset({"I", "M", "R", "C", "T", "J1", "Y1", "Y2"})
CATEGORIES = (
    "missing",
    "physical_abuse",
    "domestic_abuse",
    "neglect",
    "parent_crisis",
    "exploitation",
    "self_harm",
    "police_social_care",
    "cme",
    "forced_marriage_fgm_honour",
    "hostile_third_party",
    "child_writing",
)
LEAVE_REASONS = frozenset(
    {
        "holiday",
        "religious",
        "wedding",
        "family",
        "funeral",
        "medical",
        "interview",
        "performance",
        "other",
    }
)


@dataclass(frozen=True, slots=True)
class Reply:
    """One labelled reply.  `codes` is every acceptable code for today (empty: none)."""

    id: str
    text: str
    today: date
    children: tuple[str, ...]
    intent: str
    codes: tuple[str, ...]
    safeguarding: bool
    return_date: date | None
    per_child: dict[str, str] = field(default_factory=dict)
    leave: dict[str, Any] | None = None
    voice_id: str = ""
    language: str = "en"
    category: str | None = None
    lookalike: bool = False
    source: str = ""

    @property
    def code(self) -> str | None:
        """The code the model is taught: the first acceptable one."""
        return self.codes[0] if self.codes else None


@dataclass(slots=True)
class Loaded:
    replies: list[Reply]
    problems: list[str]


def _iso(value: Any, what: str) -> date | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{what} must be an ISO date or null")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{what} {value!r} is not an ISO date") from None


def parse_line(item: Any, source: str) -> Reply:
    """One decoded line as a Reply; ValueError names the first thing wrong with it."""
    if not isinstance(item, dict):
        raise ValueError("not a JSON object")
    text = item.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ValueError('"text" must be a non-empty string')
    today = _iso(item.get("today"), "today")
    if today is None:
        raise ValueError('"today" is missing')
    children = item.get("children") or []
    if not isinstance(children, list) or not all(isinstance(c, str) for c in children):
        raise ValueError('"children" must be a list of names')
    exp = item.get("expect")
    if not isinstance(exp, dict):
        raise ValueError('"expect" must be an object')
    intent = exp.get("intent")
    if intent not in INTENTS:
        raise ValueError(f"unknown intent {intent!r}")
    raw_code = exp.get("code")
    codes = (
        tuple(raw_code) if isinstance(raw_code, list) else (() if raw_code is None else (raw_code,))
    )
    if any(c not in CODES for c in codes):
        raise ValueError(f"unknown code {raw_code!r}")
    if intent in ("absence_reason", "late_arrival", "unclear") and not codes:
        raise ValueError(f"intent {intent} needs a code")
    sg = exp.get("safeguarding")
    if not isinstance(sg, bool):
        raise ValueError('"safeguarding" must be true or false')
    category = item.get("category")
    if category is not None and category not in CATEGORIES:
        raise ValueError(f"unknown category {category!r}")
    per_child = exp.get("per_child") or {}
    if not isinstance(per_child, dict) or any(c not in CODES for c in per_child.values()):
        raise ValueError('"per_child" must map names to codes')
    leave = exp.get("leave")
    if leave is not None:
        if not isinstance(leave, dict):
            raise ValueError('"leave" must be an object or null')
        _iso(leave.get("from"), "leave.from")
        _iso(leave.get("to"), "leave.to")
        if leave.get("reason") not in LEAVE_REASONS:
            raise ValueError(f"unknown leave reason {leave.get('reason')!r}")
    language = item.get("language") or "en"
    if not isinstance(language, str) or len(language) != 2:
        raise ValueError(f"language {language!r} is not an ISO 639-1 code")
    return Reply(
        id=str(item.get("id") or ""),
        text=text,
        today=today,
        children=tuple(children),
        intent=intent,
        codes=codes,
        safeguarding=sg,
        return_date=_iso(exp.get("return_date"), "return_date"),
        per_child=dict(per_child),
        leave=dict(leave) if leave else None,
        voice_id=str(item.get("voice_id") or ""),
        language=language.lower(),
        category=category,
        lookalike=bool(item.get("lookalike")),
        source=source,
    )


def load(paths: Iterable[Path]) -> Loaded:
    """Every valid line of the files, in order, and a file:line note for each bad one."""
    replies: list[Reply] = []
    problems: list[str] = []
    for path in paths:
        with path.open(encoding="utf-8") as fh:
            for number, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                where = f"{path.name}:{number}"
                try:
                    item = json.loads(line)
                except json.JSONDecodeError as exc:
                    problems.append(f"{where}: not JSON ({exc.msg} at column {exc.colno})")
                    continue
                try:
                    replies.append(parse_line(item, where))
                except ValueError as exc:
                    problems.append(f"{where}: {exc}")
    return Loaded(replies, problems)


def training_files(directory: Path = CORPUS_DIR) -> list[Path]:
    """The corpus the model learns from: every part file but dev.jsonl.

    dev.jsonl stays out: the rules were tuned on it, so its rule readings are perfect and
    would teach the model to trust the rules more than they deserve on new text; it is
    scored, as text the model never saw, by the benchmark."""
    return sorted(p for p in directory.glob("*.jsonl") if p.name != DEV_FILE)
