"""Opt-out keywords as Twilio reads them, and the per-number record."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import ManualClock
from messaging.optout import is_opted_out, keyword_kind, record_opt_out
from storage.models import OptOut


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        ("STOP", "opt_out"),
        (" stop\n", "opt_out"),
        ("Unsubscribe", "opt_out"),
        ("end", "opt_out"),
        ("QUIT", "opt_out"),
        ("stopall", "opt_out"),
        ("Revoke", "opt_out"),
        ("OPTOUT", "opt_out"),
        ("cancel", "opt_out"),
        ("START", "opt_in"),
        ("yes", "opt_in"),
        ("Unstop", "opt_in"),
        ("help", "help"),
        ("INFO", "help"),
        ("stop texting me", None),
        ("STOP.", None),
        ("Yes she is ill", None),
        ("", None),
    ],
)
def test_keyword_kind(body: str, kind: str | None) -> None:
    assert keyword_kind(body) == kind


def test_record_opt_out_upserts_one_row_per_number(
    factory: sessionmaker[Session], clock: ManualClock
) -> None:
    phone = "+447700900001"
    with factory() as s, s.begin():
        assert not is_opted_out(s, phone)
        record_opt_out(s, phone, keyword="STOP", now=clock.now)
        assert is_opted_out(s, phone)
    clock.advance(hours=1)
    with factory() as s, s.begin():
        row = record_opt_out(s, phone, keyword="START", now=clock.now, opted_out=False)
        assert (row.keyword, row.changed_at) == ("START", clock.now)
    with factory() as s:
        assert not is_opted_out(s, phone)
        assert s.scalar(select(func.count()).select_from(OptOut)) == 1
