"""The typed result of reading one reply."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

Intent = Literal["absence_reason", "late_arrival", "leave_request", "opt_out", "unclear"]
INTENTS: tuple[Intent, ...] = (
    "absence_reason",
    "late_arrival",
    "leave_request",
    "opt_out",
    "unclear",
)


@dataclass(frozen=True, slots=True)
class LeavePeriod:
    """A future absence asked for or announced: first and last day (inclusive, None where
    the reply gives no date) and why; JSON keys "from", "to" and "reason"."""

    start: date | None
    end: date | None
    reason: str | None = None

    def to_json(self) -> dict[str, str | None]:
        return {
            "from": self.start.isoformat() if self.start else None,
            "to": self.end.isoformat() if self.end else None,
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class ParsedReply:
    intent: Intent
    code: str | None
    per_child: dict[str, str] = field(default_factory=dict)
    reason: str | None = None
    return_date: date | None = None
    leave: LeavePeriod | None = None
    safeguarding: bool = False
    indicators: tuple[str, ...] = ()
    confidence: float = 0.0
    needs_review: bool = True
    language: str = "en"
    # Why a person should check this reading ("written in Polish", "low confidence"...):
    # needs_review is set exactly when there is at least one.
    review_reasons: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "intent": self.intent,
            "code": self.code,
            "per_child": dict(self.per_child),
            "reason": self.reason,
            "return_date": self.return_date.isoformat() if self.return_date else None,
            "leave": self.leave.to_json() if self.leave else None,
            "safeguarding": self.safeguarding,
            "indicators": list(self.indicators),
            "confidence": round(self.confidence, 2),
            "needs_review": self.needs_review,
            "language": self.language,
            "review_reasons": list(self.review_reasons),
        }
