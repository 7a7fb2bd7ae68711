"""The command-line commands for set-up and data: each opens one transaction, calls one
storage function and prints a short report."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date

from sqlalchemy.orm import Session, sessionmaker

from bot.clock import clock_from_env
from bot.workflow.marks import marks_arrived
from bot.workflow.privacy import redact_cards
from bot.workflow.roll import pupils_left
from rules.phones import PhoneError, parse_phone
from storage.db import database_url, make_engine, session_factory, transaction, upgrade
from storage.privacy import NotFound, erase_contact, erase_pupil, export_pupil
from storage.register import export_marks, import_marks
from storage.roster import import_roster
from storage.schools import find_school, load_school, read_settings_file


class CommandError(ValueError):
    pass


def _factory(args: argparse.Namespace) -> sessionmaker[Session]:
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
    now = clock_from_env()()
    with factory() as session, session.begin():
        school = find_school(session, args.school)
        report = import_roster(
            session,
            school,
            args.pupils,
            args.contacts,
            now=now,
            dry_run=args.dry_run,
            partial=args.partial,
        )
        # Read before a dry run's rollback expires the school.
        name = school.name
        if args.dry_run:
            session.rollback()
        else:
            pupils_left(session, school, report.left, now)
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


# -- personal data (UK GDPR): a subject access export and erasure, each audited --------------


def data_erase(args: argparse.Namespace) -> int:
    if bool(args.contact) == bool(args.pupil):
        raise CommandError("give --contact PHONE or --pupil UPN (one of them)")
    now = clock_from_env()()
    try:
        with transaction(_factory(args)) as session:
            if args.contact:
                result = erase_contact(
                    session, parse_phone(args.contact).e164, actor=args.by, now=now
                )
                what = "contact"
            else:
                result = erase_pupil(
                    session, args.pupil, actor=args.by, now=now, school_urn=args.school
                )
                redact_cards(session, result.cards, result.school_id or 0, now)
                what = f"pupil {args.pupil.strip().upper()}"
    except (NotFound, PhoneError) as exc:
        raise CommandError(str(exc).strip("'\"")) from None
    print(f"erased {what}: {result.summary()} (audited, by {args.by})")
    if args.pupil:
        print("kept, as the law requires: the pupil's register marks and their amendment record")
    return 0


def data_export(args: argparse.Namespace) -> int:
    try:
        with transaction(_factory(args)) as session:
            export = export_pupil(
                session, args.pupil, actor=args.by, now=clock_from_env()(), school_urn=args.school
            )
    except NotFound as exc:
        raise CommandError(str(exc).strip("'\"")) from None
    print(json.dumps(export, ensure_ascii=False, indent=2))
    return 0
