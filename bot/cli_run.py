"""Commands that run the product: the web app, the worker, one tick, and the reply parser."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date

from bot.cli_data import CommandError
from bot.clock import parse_instant


def serve(args: argparse.Namespace) -> int:
    import os

    import uvicorn

    workers = args.workers
    if workers is None:
        raw = os.environ.get("WEB_CONCURRENCY") or "1"
        if not raw.isdigit():
            raise CommandError(f"WEB_CONCURRENCY must be a number of processes, not {raw!r}")
        workers = int(raw)
    if workers < 1:
        raise CommandError("--workers must be 1 or more")
    if args.db:
        # Each worker process builds its own app (bot.web:app_from_env) from the environment.
        os.environ["DATABASE_URL"] = args.db
    # log_config=None: uvicorn's loggers go through FirstCall's scrubbing handler.
    uvicorn.run(
        "bot.web:app_from_env",
        factory=True,
        host=args.host,
        port=args.port,
        workers=workers,
        log_level="info",
        proxy_headers=True,
        log_config=None,
    )
    return 0


def worker(args: argparse.Namespace) -> int:
    from bot.runtime import Runtime
    from bot.worker import run_worker
    from rules.replies import load as load_parser

    runtime = Runtime.from_env(args.db)
    load_parser()  # replies arrive through the outbox and inbound retries too
    run_worker(runtime)
    return 0


def tick(args: argparse.Namespace) -> int:
    from bot.jobs import tick as run_tick
    from bot.runtime import Runtime

    at = parse_instant(args.at) if args.at else None  # a bad --at is named before the setup
    runtime = Runtime.from_env(args.db)
    now = at or runtime.clock()
    report = run_tick(runtime, now, wait=args.wait)
    for line in report.lines():
        print(line)
    # Every other school ran; a failed one still makes the exit status say so (cron mails,
    # monitoring alerts), as its office channel was told.
    return 1 if report.failed else 0


def parse(args: argparse.Namespace) -> int:
    from rules.replies import parse_reply

    if args.jsonl:
        return _parse_jsonl()
    if not args.text:
        raise CommandError("give the reply TEXT to parse, or --jsonl to read JSON lines on stdin")
    today = args.today or date.today()
    children = [c.strip() for c in (args.children or "").split(",") if c.strip()]
    result = parse_reply(" ".join(args.text), today, children)
    print(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
    return 0


def _parse_jsonl() -> int:
    from rules.replies import load, parse_reply

    load()

    for number, line in enumerate(sys.stdin, 1):
        if not line.strip():
            continue
        try:
            try:
                item = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"not JSON ({exc.msg} at column {exc.colno})") from None
            if not isinstance(item, dict) or not isinstance(item.get("text"), str):
                raise ValueError('each line must be an object with a "text" string')
            today = date.fromisoformat(item["today"]) if item.get("today") else date.today()
            children = item.get("children") or []
            if not isinstance(children, list) or not all(isinstance(c, str) for c in children):
                raise ValueError('"children" must be a list of first names')
            out = {"id": item.get("id"), **parse_reply(item["text"], today, children).to_json()}
        except (ValueError, TypeError) as exc:
            out = {"line": number, "error": str(exc)}
        print(json.dumps(out, ensure_ascii=False), flush=False)
    sys.stdout.flush()
    return 0


def demo(args: argparse.Namespace) -> int:
    from rich.console import Console

    from bot.demo.run import DEFAULT_START, EXAMPLE, DemoOptions, run_demo
    from bot.demo.serve import serve_demo
    from storage.schools import read_settings_file

    school = args.school or EXAMPLE
    read_settings_file(school)  # a bad file is one clear line before anything starts
    if args.days < 1 or args.pupils < 10:
        raise CommandError("--days must be 1 or more and --pupils 10 or more")
    if args.serve:
        serve_demo(
            school,
            args.date or DEFAULT_START,
            port=args.port,
            seed=args.seed,
            db_url=args.db,
            console=Console(),
        )
        return 0
    run_demo(
        DemoOptions(
            days=args.days,
            seed=args.seed,
            school_file=school,
            speed=args.speed,
            db_url=args.db,
            start=args.date or DEFAULT_START,
            pupils=args.pupils,
            summary_json=args.summary_json,
        )
    )
    return 0


def sandbox_reply(args: argparse.Namespace) -> int:
    from bot.demo.serve import SandboxError
    from bot.demo.serve import sandbox_reply as send

    try:
        print(send(args.phone, " ".join(args.text)))
    except SandboxError as exc:
        raise CommandError(str(exc)) from None
    return 0


def sandbox_slash(args: argparse.Namespace) -> int:
    from bot.demo.serve import SandboxError
    from bot.demo.serve import sandbox_slash as send

    try:
        print(send(args.user, args.command_line))
    except SandboxError as exc:
        raise CommandError(str(exc)) from None
    return 0
