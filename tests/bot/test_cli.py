"""The command line as an operator uses it: one database, the example school's files."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.cli import main
from storage.db import make_engine
from storage.models import Pupil

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_roster_dry_run_reports_and_writes_nothing(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--db", db_url, "db", "upgrade"]) == 0
    assert main(["--db", db_url, "school", "load", str(EXAMPLES / "crofton.toml")]) == 0
    pupils, contacts = EXAMPLES / "crofton-pupils.csv", EXAMPLES / "crofton-contacts.csv"
    capsys.readouterr()

    assert main(["--db", db_url, "roster", "import", str(pupils), str(contacts), "--dry-run"]) == 0

    assert "Crofton Infants" in capsys.readouterr().out
    with make_engine(db_url).connect() as connection:
        assert connection.scalar(select(func.count()).select_from(Pupil)) == 0
