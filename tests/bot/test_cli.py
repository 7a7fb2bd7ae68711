"""The command line as an operator uses it: one database, the example school's files."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_runs_several_web_processes_on_one_port(db_url: str, tmp_path: Path) -> None:
    assert main(["--db", db_url, "db", "upgrade"]) == 0
    port = _free_port()
    env = {
        **os.environ,
        "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
        "TWILIO_AUTH_TOKEN": "token",
        "TWILIO_FROM_NUMBER": "+447911000001",
        "PUBLIC_BASE_URL": "https://firstcall.example.org",
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": "secret",
    }
    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "--db", db_url, "serve", "--port", str(port)]
        + ["--host", "127.0.0.1", "--workers", "2"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        health = None
        for _ in range(300):  # start-up, not timing: until it listens, or 30 s
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
                    health = json.loads(r.read())
                break
            except OSError:
                assert server.poll() is None, (tmp_path / "serve.log").read_text()
                time.sleep(0.1)
        assert health == {"ok": True}
    finally:
        server.terminate()
        server.wait(30)
    # uvicorn's supervisor started two worker processes.
    assert (tmp_path / "serve.log").read_text().count("Started server process") == 2


def test_serve_refuses_a_bad_worker_count(
    db_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WEB_CONCURRENCY", "lots")
    assert main(["--db", db_url, "serve"]) != 0
    assert "WEB_CONCURRENCY must be a number of processes, not 'lots'" in capsys.readouterr().err
