"""Why a reply needs a person to read it, in words the office understands. Pure: reads the
parser's stored output (`Message.parse`) defensively, since the parser grows new fields and
old rows lack them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rules.replies.languages import LANGUAGE_NAMES

LOW_CONFIDENCE = 0.6  # the parser's own threshold for review


def language_name(code: object) -> str | None:
    """The language's name when it is not English; None for English or nothing known."""
    if not isinstance(code, str) or code in ("", "en"):
        return None
    return LANGUAGE_NAMES.get(code, code)


def review_reasons(parse: Mapping[str, Any] | None) -> list[str]:
    """Why the parser wants a person to look, or [] when it does not."""
    if not parse or not parse.get("needs_review"):
        return []
    reasons: list[str] = []
    given = parse.get("review_reasons")
    if isinstance(given, list | tuple):
        reasons += [str(r).replace("_", " ") for r in given if r]
    language = language_name(parse.get("language"))
    if language and f"written in {language}" not in reasons:
        reasons.append(f"written in {language}")
    per_child = parse.get("per_child")
    if isinstance(per_child, Mapping) and len(set(per_child.values())) > 1:
        count = {2: "two", 3: "three", 4: "four"}.get(len(per_child), str(len(per_child)))
        reasons.append(f"{count} children, different reasons")
    if parse.get("intent") == "unclear":
        reasons.append("no reason could be read")
    confidence = parse.get("confidence")
    if isinstance(confidence, int | float) and confidence < LOW_CONFIDENCE:
        reasons.append("low confidence")
    return list(dict.fromkeys(reasons)) or ["the reader was unsure"]
