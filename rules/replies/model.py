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
    """First and last day of a requested leave (inclusive); JSON keys "from" and "to"."""

    start: date
    end: date

    def to_json(self) -> dict[str, str]:
        return {"from": self.start.isoformat(), "to": self.end.isoformat()}


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
        }
