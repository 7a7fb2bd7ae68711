"""The `firstcall` command line. Each command parses its arguments, calls one function and
prints the result; known failures become one clear line and exit status 2, never a
traceback."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from sqlalchemy.exc import DBAPIError

from bot import cli_data, cli_run, logs
from bot.clock import ClockError
from messaging.config import ConfigError
from rules.settings import SettingsError
from storage.csvfile import ImportFailed
from storage.db import DatabaseUrlError, database_problem
from storage.schools import UnknownSchool


class UsageError(ValueError):
    pass


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date: {text!r} (use YYYY-MM-DD)") from None


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 3600:
        raise argparse.ArgumentTypeError(f"not a number of seconds from 0 to 3600: {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="firstcall", description="First-day absence follow-up for schools."
    )
    parser.add_argument(
        "--db", help="database URL (default: DATABASE_URL or sqlite:///firstcall.db)"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    db = sub.add_parser("db", help="database administration").add_subparsers(
        dest="db_command", required=True
    )
    db.add_parser("upgrade", help="apply migrations up to the newest").set_defaults(
        run=cli_data.db_upgrade
    )

    school = sub.add_parser("school", help="school settings").add_subparsers(
        dest="school_command", required=True
    )
    load = school.add_parser("load", help="create or update a school from its settings file")
    load.add_argument("file", type=Path)
    load.add_argument("--dry-run", action="store_true", help="check the file only")
    load.set_defaults(run=cli_data.school_load)

    roster = sub.add_parser("roster", help="pupils and contacts").add_subparsers(
        dest="roster_command", required=True
    )
    rimport = roster.add_parser("import", help="import pupils and contacts from CSV")
    rimport.add_argument("pupils", type=Path)
    rimport.add_argument("contacts", type=Path)
    rimport.add_argument("--school", help="URN (needed when several schools are loaded)")
    rimport.add_argument(
        "--dry-run",
        action="store_true",
        help="check, and say who would go off roll, without writing",
    )
    rimport.add_argument(
        "--partial",
        action="store_true",
        help="the files list only some pupils: nobody missing from them goes off roll",
    )
    rimport.set_defaults(run=cli_data.roster_import)

    register = sub.add_parser("register", help="register marks").add_subparsers(
        dest="register_command", required=True
    )
    mimport = register.add_parser("import", help="import marks from CSV")
    mimport.add_argument("file", type=Path)
    mimport.add_argument("--school", help="URN, when a UPN is on roll at several schools")
    mimport.add_argument("--dry-run", action="store_true", help="check without writing")
    mimport.set_defaults(run=cli_data.register_import)
    export = register.add_parser("export", help="confirmed marks as CSV on stdout")
    export.add_argument("--date", type=_date, help="one day")
    export.add_argument("--from", dest="start", type=_date, help="first day")
    export.add_argument("--to", dest="end", type=_date, help="last day")
    export.add_argument("--school", help="URN")
    export.set_defaults(run=cli_data.register_export)

    data = sub.add_parser("data", help="personal data: export and erasure").add_subparsers(
        dest="data_command", required=True
    )
    erase = data.add_parser("erase", help="erase a contact's or a pupil's personal data")
    erase.add_argument("--contact", metavar="PHONE", help="a phone number, at every school")
    erase.add_argument("--pupil", metavar="UPN", help="a pupil (register marks are kept)")
    erase.add_argument("--school", help="URN, when the UPN is on several schools' rolls")
    erase.add_argument("--by", required=True, help="who asked, for the audit record")
    erase.set_defaults(run=cli_data.data_erase)
    sar = data.add_parser("export", help="everything held about a pupil, as JSON")
    sar.add_argument("--pupil", metavar="UPN", required=True)
    sar.add_argument("--school", help="URN, when the UPN is on several schools' rolls")
    sar.add_argument("--by", required=True, help="who asked, for the audit record")
    sar.set_defaults(run=cli_data.data_export)

    _run_commands(sub)
    return parser


def _run_commands(sub: argparse._SubParsersAction) -> None:
    serve = sub.add_parser("serve", help="the web app (Twilio and Slack webhooks)")
    serve.add_argument("--host", default="0.0.0.0")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--workers",
        type=int,
        help="web processes sharing the port (default: $WEB_CONCURRENCY or 1; "
        "one per core on PostgreSQL)",
    )
    serve.set_defaults(run=cli_run.serve)
    sub.add_parser("worker", help="the scheduler").set_defaults(run=cli_run.worker)
    tick = sub.add_parser("tick", help="run every job due at an instant")
    tick.add_argument("--at", help="ISO date and time (school time unless an offset is given)")
    tick.add_argument(
        "--wait",
        type=_seconds,
        default=60.0,
        help="seconds to wait for another tick or worker that is sweeping (default 60); "
        "then this one leaves the sweep to it",
    )
    tick.set_defaults(run=cli_run.tick)
    parse = sub.add_parser("parse", help="read a parent's reply, as JSON")
    parse.add_argument("text", nargs="*", help="the reply")
    parse.add_argument("--today", type=_date, help="the school day it answers (default today)")
    parse.add_argument("--children", help="first names of the absent children, comma-separated")
    parse.add_argument(
        "--jsonl", action="store_true", help='read {"id","text","today","children"} lines on stdin'
    )
    parse.set_defaults(run=cli_run.parse)

    demo = sub.add_parser("demo", help="the whole product on one machine, on loopback fakes")
    demo.add_argument("--days", type=int, default=3, help="school days to replay (default 3)")
    demo.add_argument("--seed", type=int, default=1, help="for a repeatable run")
    demo.add_argument(
        "--school", type=Path, help="your own settings file (default: examples/crofton.toml)"
    )
    demo.add_argument(
        "--speed",
        type=float,
        default=0.0,
        help="simulated seconds per real second, to watch it (default: as fast as it runs)",
    )
    demo.add_argument("--date", type=_date, help="the first school day (default 2026-03-10)")
    demo.add_argument("--pupils", type=int, default=300)
    demo.add_argument(
        "--serve", action="store_true", help="keep it running to play parent and office"
    )
    demo.add_argument("--port", type=int, default=8765, help="with --serve")
    demo.add_argument("--summary-json", type=Path, help="also write the summary as JSON")
    demo.set_defaults(run=cli_run.demo)

    sandbox = sub.add_parser("sandbox", help="talk to a running `demo --serve`").add_subparsers(
        dest="sandbox_command", required=True
    )
    reply = sandbox.add_parser("reply", help="text the school as a parent (signed as Twilio does)")
    reply.add_argument("phone")
    reply.add_argument("text", nargs="+")
    reply.set_defaults(run=cli_run.sandbox_reply)
    slash = sandbox.add_parser(
        "slash", help="run a slash command as a Slack user (signed as Slack does)"
    )
    slash.add_argument("user", help="Slack user ID from the settings, e.g. U0CROFT01")
    slash.add_argument("command_line", help='e.g. "/absence approve Jayden"')
    slash.set_defaults(run=cli_run.sandbox_slash)


def main(argv: Sequence[str] | None = None) -> int:
    logs.configure(sys.stderr)
    args = build_parser().parse_args(argv)
    if getattr(args, "command", None) == "demo":
        logging.getLogger().setLevel(logging.WARNING)  # the timeline is the demo's output
    try:
        return int(args.run(args) or 0)
    except (SettingsError, ImportFailed) as exc:
        for line in exc.problems:
            print(line, file=sys.stderr)
        print(
            f"nothing was written ({len(exc.problems)} problem{'s' * (len(exc.problems) != 1)})",
            file=sys.stderr,
        )
        return 2
    except (
        DatabaseUrlError,
        UnknownSchool,
        UsageError,
        ClockError,
        ConfigError,
        cli_data.CommandError,
    ) as exc:
        print(f"firstcall: {exc}", file=sys.stderr)
        return 2
    except DBAPIError as exc:
        # One line, never the statement or its parameters: those are children's data.
        print(f"firstcall: {database_problem(exc)}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader went away (`| head`): nothing left to say to it.
        sys.stdout = None
        return 0
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
