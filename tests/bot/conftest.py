"""A school day on the whole stack: the web app on loopback, the real twilio and slack_sdk
clients talking to the loopback fakes, and a clock that stands still until moved."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.demo.stack import Stack, loopback_stack
from tests.bot.operator import Operator
from tests.bot.slack_harness import Harness, running_app

LONDON = ZoneInfo("Europe/London")
DAY1 = date(2026, 3, 10)  # a Tuesday in term at both example schools


def at(day: date, hhmm: str) -> datetime:
    hours, minutes = map(int, hhmm.split(":"))
    return datetime.combine(day, time(hours, minutes), tzinfo=LONDON)


@pytest.fixture
def stack(db_url: str) -> Iterator[Stack]:
    with loopback_stack(db_url, at(DAY1, "07:00")) as running:
        yield running


@pytest.fixture
def harness(factory: sessionmaker[Session]) -> Iterator[Harness]:
    with running_app(factory) as running:
        yield running


@pytest.fixture
def operator(
    stack: Stack,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Operator:
    """The data manager at the command line, on the stack's database and clock."""
    return Operator(stack, tmp_path, capsys, monkeypatch)
