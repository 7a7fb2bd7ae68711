"""The labelled reply corpus: JSON lines in the GUIDE's format, checked line by line.

The training pipeline, the stale-model check and the benchmark all read the corpus through
`load`, so a bad line is reported once, as file:line and what is wrong, and never trains
the model.  `check` adds what a line can get wrong while still loading (a Saturday, a
return before today, a safeguarding line with no category); a new part is checked with

    python -m rules.replies.corpus FILE...
"""

from __future__ import annotations

import json
import sys
from collections import Counter
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


def _label_problems(r: Reply) -> list[str]:
    problems: list[str] = []
    if r.today.weekday() > 4:
        problems.append(f"today {r.today} is a {r.today:%A}")
    if r.return_date is not None and r.return_date <= r.today:
        problems.append(f"return_date {r.return_date} is not after today")
    elif r.return_date is not None and r.return_date.weekday() > 4:
        problems.append(f"return_date {r.return_date} is a {r.return_date:%A}")
    if r.safeguarding and r.category is None:
        problems.append("a safeguarding line needs a category")
    if not r.safeguarding and r.category is not None:
        problems.append(f"category {r.category!r} on a line that is not safeguarding")
    if r.safeguarding and r.lookalike:
        problems.append("a lookalike is not safeguarding")
    if r.per_child:
        if set(r.per_child) - set(r.children):
            problems.append("per_child names a child not in children")
        if len(set(r.per_child.values())) < 2:
            problems.append("per_child is only for children whose codes differ")
        first = r.per_child.get(r.children[0]) if r.children else None
        if first is not None and r.codes and first not in r.codes:
            problems.append(f"code must be the first child's ({first})")
    if not r.voice_id:
        problems.append("voice_id is missing")
    return problems


def check(paths: Iterable[Path]) -> list[str]:
    """Every problem in the files, as file:line and what is wrong: lines that do not load,
    labels that contradict themselves or the calendar, and ids used twice."""
    loaded = load(paths)
    problems = list(loaded.problems)
    for r in loaded.replies:
        problems += [f"{r.source}: {p}" for p in _label_problems(r)]
    for id_, n in Counter(r.id for r in loaded.replies if r.id).items():
        if n > 1:
            problems.append(f"id {id_} is used {n} times")
    return problems


def main(argv: list[str] | None = None) -> int:
    paths = [Path(a) for a in (sys.argv[1:] if argv is None else argv)]
    if not paths:
        print("usage: python -m rules.replies.corpus FILE...", file=sys.stderr)
        return 2
    missing = [p for p in paths if not p.is_file()]
    if missing:
        print(f"no such file: {missing[0]}", file=sys.stderr)
        return 2
    for path in paths:
        try:
            path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            print(f"{path}: not UTF-8 text (byte {exc.start})", file=sys.stderr)
            return 2
    problems = check(paths)
    print("\n".join(problems) if problems else f"ok: {len(load(paths).replies)} replies")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
