"""Roster import: pupils and their contacts from the MIS's CSV export.

All rows are checked before anything is written; one bad row anywhere and the whole import
is refused with every problem listed. Re-importing the same files changes nothing. A pupil
who appears in the contacts file gets exactly the contacts listed there (a removed contact,
after a court order say, stops being texted), with the flags from the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session
from stdnum.exceptions import ValidationError
from stdnum.gb import upn as upn_check

from rules.phones import PhoneError, parse_phone
from storage.csvfile import ImportFailed, ImportReport, RowError, parse_bool, read_rows
from storage.models import Contact, Pupil, PupilContact, School

PUPIL_COLUMNS = (
    "upn",
    "first_name",
    "last_name",
    "year_group",
    "class",
    "vulnerable",
    "la_transport",
)
CONTACT_COLUMNS = (
    "upn",
    "name",
    "relationship",
    "phone",
    "priority",
    "parental_responsibility",
    "no_contact",
    "language",
)
VULNERABILITY_FLAGS = frozenset(
    {"social_worker", "cp_plan", "cin", "lac", "ehcp", "young_carer", "yot", "concern"}
)
YEAR_GROUPS = frozenset({"N1", "N2", "R", *(str(n) for n in range(1, 15))})


@dataclass(frozen=True, slots=True)
class PupilRow:
    upn: str
    first_name: str
    last_name: str
    year_group: str
    class_name: str
    vulnerable: tuple[str, ...]
    la_transport: bool


@dataclass(frozen=True, slots=True)
class ContactRow:
    line: int
    upn: str
    name: str
    relationship: str
    phone: str
    phone_type: str
    can_sms: bool
    priority: int
    parental_responsibility: bool
    no_contact: bool
    language: str


def check_upn(raw: str) -> str:
    try:
        return upn_check.validate(raw)
    except ValidationError as exc:
        raise RowError(f"upn {raw!r} is not a valid UPN ({exc})") from None


def _pupil_row(row: dict[str, str]) -> PupilRow:
    upn = check_upn(row["upn"])
    for column in ("first_name", "last_name", "class"):
        if not row[column]:
            raise RowError(f"{column} is empty")
    year = row["year_group"].upper().removeprefix("Y").removeprefix("EAR ").strip()
    if year not in YEAR_GROUPS:
        raise RowError(f"year_group {row['year_group']!r} is not a year group (N1, N2, R, 1-14)")
    flags = tuple(sorted({f.strip().lower() for f in row["vulnerable"].split(";") if f.strip()}))
    unknown = [f for f in flags if f not in VULNERABILITY_FLAGS]
    if unknown:
        raise RowError(
            f"vulnerable flag {unknown[0]!r} is not one of {', '.join(sorted(VULNERABILITY_FLAGS))}"
        )
    return PupilRow(
        upn,
        row["first_name"],
        row["last_name"],
        year,
        row["class"],
        flags,
        parse_bool(row["la_transport"], "la_transport"),
    )


def _contact_row(line: int, row: dict[str, str]) -> ContactRow:
    upn = check_upn(row["upn"])
    for column in ("name", "relationship"):
        if not row[column]:
            raise RowError(f"{column} is empty")
    try:
        phone = parse_phone(row["phone"])
    except PhoneError as exc:
        raise RowError(str(exc)) from None
    try:
        priority = int(row["priority"])
    except ValueError:
        raise RowError(f"priority must be a whole number, got {row['priority']!r}") from None
    if priority < 1:
        raise RowError(f"priority must be 1 or more, got {priority}")
    language = (row["language"] or "en").lower()
    return ContactRow(
        line,
        upn,
        row["name"],
        row["relationship"],
        phone.e164,
        phone.kind,
        phone.can_sms,
        priority,
        parse_bool(row["parental_responsibility"], "parental_responsibility"),
        parse_bool(row["no_contact"], "no_contact"),
        language,
    )


def _read_pupils(path: Path, problems: list[str]) -> dict[str, PupilRow]:
    pupils: dict[str, PupilRow] = {}
    first_line: dict[str, int] = {}
    for line, row in read_rows(path, PUPIL_COLUMNS, problems):
        try:
            pupil = _pupil_row(row)
        except RowError as exc:
            problems.append(f"{path}:{line}: {exc}")
            continue
        if pupil.upn in pupils:
            problems.append(
                f"{path}:{line}: upn {pupil.upn} already on line {first_line[pupil.upn]}"
            )
            continue
        pupils[pupil.upn] = pupil
        first_line[pupil.upn] = line
    return pupils


def _read_contacts(path: Path, problems: list[str]) -> list[ContactRow]:
    contacts: list[ContactRow] = []
    seen: dict[tuple[str, str], int] = {}
    for line, row in read_rows(path, CONTACT_COLUMNS, problems):
        try:
            contact = _contact_row(line, row)
        except RowError as exc:
            problems.append(f"{path}:{line}: {exc}")
            continue
        key = (contact.upn, contact.phone)
        if key in seen:
            problems.append(
                f"{path}:{line}: the same phone for pupil {contact.upn} is on line {seen[key]}"
            )
            continue
        seen[key] = line
        contacts.append(contact)
    return contacts


def import_roster(
    session: Session,
    school: School,
    pupils_csv: Path,
    contacts_csv: Path,
    *,
    now: datetime,
    dry_run: bool = False,
) -> ImportReport:
    """Check both files fully, then write them in the caller's transaction (which the
    caller rolls back for a dry run)."""
    problems: list[str] = []
    pupil_rows = _read_pupils(pupils_csv, problems)
    contact_rows = _read_contacts(contacts_csv, problems)

    existing = {
        p.upn: p for p in session.scalars(select(Pupil).where(Pupil.school_id == school.id))
    }
    for contact in contact_rows:
        if contact.upn not in pupil_rows and contact.upn not in existing:
            problems.append(
                f"{contacts_csv}:{contact.line}: upn {contact.upn} is not in the pupils file or on roll"
            )
    if problems:
        raise ImportFailed(problems)

    report = ImportReport(rows=len(pupil_rows) + len(contact_rows), dry_run=dry_run)
    _write_pupils(session, school, pupil_rows, existing, report, now)
    if not dry_run:
        session.flush()
    pupil_ids = {
        upn: pid
        for upn, pid in session.execute(
            select(Pupil.upn, Pupil.id).where(Pupil.school_id == school.id)
        )
    }
    _write_contacts(session, school, contact_rows, pupil_ids, report)
    landlines = sum(1 for c in {r.phone: r for r in contact_rows}.values() if not c.can_sms)
    if landlines:
        report.warnings.append(
            f"{landlines} contact number(s) cannot receive texts (landline or "
            "similar); they are kept for calls and never texted"
        )
    return report


def _write_pupils(
    session: Session,
    school: School,
    rows: dict[str, PupilRow],
    existing: dict[str, Pupil],
    report: ImportReport,
    now: datetime,
) -> None:
    new: list[dict[str, Any]] = []
    for row in rows.values():
        values = {
            "first_name": row.first_name,
            "last_name": row.last_name,
            "year_group": row.year_group,
            "class_name": row.class_name,
            "vulnerable": list(row.vulnerable),
            "la_transport": row.la_transport,
            "on_roll": True,
            "left_at": None,
        }
        pupil = existing.get(row.upn)
        if pupil is None:
            new.append({"school_id": school.id, "upn": row.upn, **values})
            report.created += 1
        elif any(getattr(pupil, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(pupil, k, v)
            report.updated += 1
        else:
            report.unchanged += 1
    if new and not report.dry_run:
        session.execute(insert(Pupil), new)
    # A full roster from the MIS: a pupil missing from it has left the roll.
    left = [p for upn, p in existing.items() if upn not in rows and p.on_roll]
    for pupil in left:
        pupil.on_roll, pupil.left_at = False, now
        report.updated += 1
    if left:
        report.warnings.append(f"{len(left)} pupil(s) not in the file are now off roll")


def _write_contacts(
    session: Session,
    school: School,
    rows: list[ContactRow],
    pupil_ids: dict[str, int],
    report: ImportReport,
) -> None:
    contacts = {
        c.phone: c for c in session.scalars(select(Contact).where(Contact.school_id == school.id))
    }
    new_contacts: dict[str, dict[str, Any]] = {}
    for row in rows:
        values = {
            "name": row.name,
            "language": row.language,
            "phone_type": row.phone_type,
            "can_sms": row.can_sms,
        }
        contact = contacts.get(row.phone)
        if contact is None:
            new_contacts[row.phone] = {"school_id": school.id, "phone": row.phone, **values}
        elif any(getattr(contact, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(contact, k, v)
    if report.dry_run:
        report.created += len(new_contacts)
        return
    if new_contacts:
        session.execute(insert(Contact), list(new_contacts.values()))
        report.created += len(new_contacts)
    contact_ids = {
        phone: cid
        for phone, cid in session.execute(
            select(Contact.phone, Contact.id).where(Contact.school_id == school.id)
        )
    }

    wanted: dict[tuple[int, int], dict[str, Any]] = {}
    for row in rows:
        pupil_id, contact_id = pupil_ids[row.upn], contact_ids[row.phone]
        wanted[(pupil_id, contact_id)] = {
            "pupil_id": pupil_id,
            "contact_id": contact_id,
            "relationship_": row.relationship,
            "priority": row.priority,
            "parental_responsibility": row.parental_responsibility,
            "no_contact": row.no_contact,
        }
    listed_pupils = {key[0] for key in wanted}
    current = {
        (link.pupil_id, link.contact_id): link
        for link in session.scalars(
            select(PupilContact).join(Pupil).where(Pupil.school_id == school.id)
        )
    }
    stale = [
        link.id for key, link in current.items() if key[0] in listed_pupils and key not in wanted
    ]
    if stale:
        session.execute(delete(PupilContact).where(PupilContact.id.in_(stale)))
        report.updated += len(stale)
    new_links = []
    for key, values in wanted.items():
        link = current.get(key)
        if link is None:
            new_links.append(values)
            continue
        changes = {k: v for k, v in values.items() if getattr(link, k) != v}
        if changes:
            session.execute(
                update(PupilContact).where(PupilContact.id == link.id).values(**changes)
            )
            report.updated += 1
    if new_links:
        session.execute(insert(PupilContact), new_links)
        report.created += len(new_links)
