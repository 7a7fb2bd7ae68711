"""The command-line commands for set-up and data: each opens one transaction, calls one
storage function and prints a short report."""

from __future__ import annotations

import argparse
import sys
from datetime import date

from bot.clock import clock_from_env
from bot.workflow.marks import marks_arrived
from storage.db import database_url, make_engine, session_factory, transaction, upgrade
from storage.register import export_marks, import_marks
from storage.roster import import_roster
from storage.schools import find_school, load_school, read_settings_file


class CommandError(ValueError):
    pass


def _factory(args: argparse.Namespace):  # noqa: ANN202 - sessionmaker
    return session_factory(make_engine(args.db))


def db_upgrade(args: argparse.Namespace) -> int:
    url = database_url(args.db)
    upgrade(url)
    print(f"database is up to date ({url.split('@')[-1]})")
    return 0


def school_load(args: argparse.Namespace) -> int:
    settings, text = read_settings_file(args.file)
    if args.dry_run:
        print(f"{args.file}: valid settings for {settings.name} (URN {settings.urn})")
        return 0
    with transaction(_factory(args)) as session:
        school = load_school(session, settings, text, now=clock_from_env()())
        print(
            f"loaded {school.name} (URN {school.urn}): {len(settings.staff)} staff, "
            f"{len(settings.policy.ladder)} ladder steps"
        )
    return 0


def roster_import(args: argparse.Namespace) -> int:
    factory = _factory(args)
    with factory() as session, session.begin():
        school = find_school(session, args.school)
        report = import_roster(
            session,
            school,
            args.pupils,
            args.contacts,
            now=clock_from_env()(),
            dry_run=args.dry_run,
        )
        # Read before a dry run's rollback expires the school.
        name = school.name
        if args.dry_run:
            session.rollback()
    print(report.summary(f"roster for {name}"))
    for warning in report.warnings:
        print(f"note: {warning}")
    return 0


def register_import(args: argparse.Namespace) -> int:
    factory = _factory(args)
    with factory() as session, session.begin():
        now = clock_from_env()()
        report = import_marks(
            session, args.file, now=now, school_urn=args.school, dry_run=args.dry_run
        )
        # The register is the truth: marks after a sweep end, explain or open cases now.
        applied = marks_arrived(session, report.changed, now)
        if args.dry_run:
            session.rollback()
    print(report.summary(f"marks from {args.file}"))
    for line in applied.lines():
        print(("dry run, nothing done: " if args.dry_run else "") + line)
    return 0


def register_export(args: argparse.Namespace) -> int:
    if args.date and (args.start or args.end):
        raise CommandError("give --date or --from/--to, not both")
    today = clock_from_env()().date()
    start: date = args.date or args.start or args.end or today
    end: date = args.date or args.end or args.start or today
    if end < start:
        raise CommandError(f"--to {end} is before --from {start}")
    with _factory(args)() as session:
        count = export_marks(session, sys.stdout, start=start, end=end, school_urn=args.school)
    print(f"exported {count} marks from {start} to {end}", file=sys.stderr)
    return 0
