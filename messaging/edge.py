"""What every web route does to a request before trusting a byte of it: a size limit read
from the stream (413, so a 10 MB upload is never buffered, let alone parsed), and text made
safe to store (PostgreSQL refuses a NUL; other control characters have no place in a text
from a parent or a name on a card)."""

from __future__ import annotations

import re

from fastapi import Request
from fastapi.responses import Response

# Twilio's largest webhook (a 1,600-character text with every optional field) is a few KB.
TWILIO_BODY_LIMIT = 64 * 1024
# Slack's block_actions carry the whole message they came from; a full card stays well under.
SLACK_BODY_LIMIT = 1024 * 1024
# C0 controls but tab and line feed, DEL, C1 controls, and lone surrogates (which no
# database encodes): replaced by nothing.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


class Refused(Exception):
    """A request answered with a 4xx and a one-line reason, before any work is done."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason

    def response(self) -> Response:
        return Response(self.reason, status_code=self.status, media_type="text/plain")


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, refused with 413 as soon as it is known to be over `limit` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise Refused(413, f"request body too large (at most {limit} bytes)")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise Refused(413, f"request body too large (at most {limit} bytes)")
        chunks.append(chunk)
    return b"".join(chunks)


def decoded(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused(400, "the request body is not UTF-8") from None


def clean_text(text: str) -> str:
    """Text safe to store and show: line endings made \\n, control characters dropped."""
    return _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
