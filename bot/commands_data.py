"""`firstcall data`: a subject access export and erasure (UK GDPR), each audited. The
nightly retention job is the worker's (and `tick`'s); see bot/workflow/privacy.py."""

from __future__ import annotations

import argparse
import json

from bot.clock import clock_from_env
from bot.commands import CommandError
from bot.workflow.privacy import redact_cards
from rules.phones import PhoneError, parse_phone
from storage.db import make_engine, session_factory, transaction
from storage.privacy import NotFound, erase_contact, erase_pupil, export_pupil


def data_erase(args: argparse.Namespace) -> int:
    if bool(args.contact) == bool(args.pupil):
        raise CommandError("give --contact PHONE or --pupil UPN (one of them)")
    now = clock_from_env()()
    try:
        with transaction(session_factory(make_engine(args.db))) as session:
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
        with transaction(session_factory(make_engine(args.db))) as session:
            export = export_pupil(
                session, args.pupil, actor=args.by, now=clock_from_env()(), school_urn=args.school
            )
    except NotFound as exc:
        raise CommandError(str(exc).strip("'\"")) from None
    print(json.dumps(export, ensure_ascii=False, indent=2))
    return 0
