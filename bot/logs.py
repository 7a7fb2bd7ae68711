"""Logging that holds no personal data under any error. Our own log lines carry IDs only;
what is scrubbed here is everything else: an exception's text (a database error can quote a
phone number or a parent's words in its DETAIL) becomes its type and where it was raised,
and anything shaped like a phone number in a third party's line is masked."""

from __future__ import annotations

import logging
import re
import traceback
from types import TracebackType
from typing import IO

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# A phone number as a log line might carry it: E.164, or national with spaces.
_PHONE = re.compile(r"(?<![\w.])(?:\+|00)?\d(?:[ -]?\d){8,14}(?![\w.])")
# Third-party loggers that would log personal data at INFO: twilio's client logs every
# request's numbers and text, httpx logs URLs (with a message's SID and the account).
QUIET = ("twilio.http_client", "httpx", "slack_bolt", "slack_sdk")


def mask(text: str) -> str:
    return _PHONE.sub("[number]", text)


def where(tb: TracebackType | None, depth: int = 8) -> str:
    """The last frames of a traceback as `file:line function`, innermost first."""
    frames = traceback.extract_tb(tb)[-depth:]
    return " < ".join(
        f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno} {f.name}" for f in reversed(frames)
    )


class ScrubbingFormatter(logging.Formatter):
    """A formatter that never writes an exception's message, nor its cause's."""

    def formatException(
        self,
        ei: tuple[type[BaseException], BaseException, TracebackType | None]
        | tuple[None, None, None],
    ) -> str:
        exc = ei[1]
        lines = []
        while exc is not None:
            lines.append(f"{type(exc).__name__} (message withheld) at {where(exc.__traceback__)}")
            exc = exc.__cause__ or exc.__context__
            if len(lines) > 5:
                break
        return "\n  caused by ".join(lines)

    def formatStack(self, stack_info: str) -> str:
        return ""

    def formatMessage(self, record: logging.LogRecord) -> str:
        # The message is masked, not the whole line: a timestamp is not a phone number.
        record.message = mask(record.message)
        return super().formatMessage(record)


def configure(stream: IO[str], level: int = logging.INFO) -> logging.Handler:
    """Send every logger (uvicorn's and APScheduler's too) through one scrubbing handler."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(ScrubbingFormatter(FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    return handler
