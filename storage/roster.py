"""Roster import: pupils and their contacts from the MIS's CSV export.

All rows are checked before anything is written; one bad row anywhere and the whole import
is refused with every problem listed. Re-importing the same files changes nothing.

The files are the whole truth about the school's roll. A pupil on roll who is missing from
the pupils file has left: they go off roll, and the caller closes their open cases (nothing is
texted about them again). With `partial=True` the files carry only some pupils, and nobody
else is touched. Every pupil the import covers gets exactly the contacts the contacts file
lists for them, none if it lists none: a removed contact, after a court order say, is unlinked
and stops being texted. A number given for children of different families (rules/families.py)
is reported, line by line, and is never texted about more than one family at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session
from stdnum.exceptions import ValidationError
from stdnum.gb import upn as upn_check

from rules.families import families
from rules.phones import PhoneError, parse_phone
from storage.csvfile import ImportFailed, ImportReport, RowError, parse_bool, read_rows
from storage.models import AbsenceCase, Contact, Pupil, PupilContact, School

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


def _limit(column: Any) -> int:
    return int(column.type.length)


# The longest each text column may be: the database's own column lengths, so an over-long
# value is a FILE:LINE problem on every database, never a truncation or a crash mid-import.
PUPIL_LIMITS = {
    "first_name": _limit(Pupil.first_name),
    "last_name": _limit(Pupil.last_name),
    "class": _limit(Pupil.class_name),
}
CONTACT_LIMITS = {
    "name": _limit(PupilContact.contact_name),
    "relationship": _limit(PupilContact.relationship_),
    "language": _limit(Contact.language),
}


@dataclass
class RosterReport(ImportReport):
    """What an import did (or, in a dry run, would do), with who it took off roll."""

    left: list[int] = field(default_factory=list)  # pupil ids the import takes off roll
    left_with_cases: int = 0  # of them, pupils with an open case (closed by the caller)
    unlinked: int = 0  # contact links removed

    def summary(self, what: str) -> str:
        verb = "would go" if self.dry_run else "went"
        lines = [super().summary(what)]
        if self.left:
            lines.append(
                f"{len(self.left)} pupil(s) on roll are not in the pupils file and {verb} off "
                f"roll ({self.left_with_cases} with an open absence, whose case closes); "
                "use --partial for a file that lists only some pupils"
            )
        if self.unlinked:
            lines.append(
                f"{self.unlinked} contact link(s) not in the contacts file "
                + ("would be" if self.dry_run else "were")
                + " removed: those contacts are no longer texted about those pupils"
            )
        return "\n".join(lines)


def _check_lengths(row: dict[str, str], limits: dict[str, int]) -> None:
    for column, limit in limits.items():
        if len(row[column]) > limit:
            raise RowError(f"{column} is {len(row[column])} characters long; at most {limit} fit")


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
    _check_lengths(row, PUPIL_LIMITS)
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
    _check_lengths(row, CONTACT_LIMITS)
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


def _read_pupils(path: Path, problems: list[str]) -> tuple[dict[str, PupilRow], dict[str, int]]:
    """The pupils by UPN, and the line each is on."""
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
    return pupils, first_line


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
    partial: bool = False,
) -> RosterReport:
    """Check both files fully, then write them in the caller's transaction (which the
    caller rolls back for a dry run). Pupils on roll but not in the pupils file go off roll
    unless `partial`; the report lists them (`left`) for the caller to close their cases."""
    problems: list[str] = []
    pupil_rows, pupil_lines = _read_pupils(pupils_csv, problems)
    contact_rows = _read_contacts(contacts_csv, problems)

    existing = {
        p.upn: p for p in session.scalars(select(Pupil).where(Pupil.school_id == school.id))
    }
    on_roll = {upn for upn, p in existing.items() if p.on_roll}
    for contact in contact_rows:
        if contact.upn in pupil_rows or (partial and contact.upn in on_roll):
            continue
        problems.append(
            f"{contacts_csv}:{contact.line}: upn {contact.upn} is not in the pupils file"
            + (" or on roll" if partial else " (a full import lists every pupil on roll)")
        )
    if problems:
        raise ImportFailed(problems)

    report = RosterReport(rows=len(pupil_rows) + len(contact_rows), dry_run=dry_run)
    _write_pupils(session, school, pupil_rows, existing, report)
    if not partial:
        leavers = [p for upn, p in existing.items() if p.on_roll and upn not in pupil_rows]
        _take_off_roll(session, leavers, report, now)
    if not dry_run:
        session.flush()
    pupil_ids = {
        upn: pid
        for upn, pid in session.execute(
            select(Pupil.upn, Pupil.id).where(Pupil.school_id == school.id)
        )
    }
    # Who the contacts file speaks for: everyone at the school, or in a partial import the
    # pupils either file names. Each of them ends with exactly the contacts listed.
    named = {*pupil_rows, *(c.upn for c in contact_rows)}
    covered = {pid for upn, pid in pupil_ids.items() if not partial or upn in named}
    _write_contacts(session, school, contact_rows, pupil_ids, covered, report)
    surnames = {upn: p.last_name for upn, p in existing.items()} | {
        upn: p.last_name for upn, p in pupil_rows.items()
    }
    report.warnings += _shared_numbers(contacts_csv, contact_rows, surnames)
    listed = {c.upn for c in contact_rows}
    report.warnings += [
        f"{pupils_csv}:{line}: no contact in {contacts_csv}: the office is asked to call "
        "instead of texting"
        for upn, line in pupil_lines.items()
        if upn not in listed
    ]
    landlines = sum(1 for c in {r.phone: r for r in contact_rows}.values() if not c.can_sms)
    if landlines:
        report.warnings.append(
            f"{landlines} contact number(s) cannot receive texts (landline or "
            "similar); they are kept for calls and never texted"
        )
    return report


def _take_off_roll(
    session: Session, leavers: list[Pupil], report: RosterReport, now: datetime
) -> None:
    report.left = sorted(p.id for p in leavers)
    if not leavers:
        return
    report.left_with_cases = (
        session.scalar(
            select(func.count(func.distinct(AbsenceCase.pupil_id))).where(
                AbsenceCase.pupil_id.in_(report.left), AbsenceCase.status != "closed"
            )
        )
        or 0
    )
    for pupil in leavers:
        # left_at starts the retention clock for the leaver's contacts.
        pupil.on_roll, pupil.left_at = False, now
    report.updated += len(leavers)


def _shared_numbers(path: Path, rows: list[ContactRow], surnames: dict[str, str]) -> list[str]:
    """A warning for each number given for children of different families, naming the
    lines of each family."""
    by_phone: dict[str, list[ContactRow]] = {}
    for row in rows:
        by_phone.setdefault(row.phone, []).append(row)
    warnings = []
    for phone_rows in by_phone.values():
        if len({r.upn for r in phone_rows}) < 2:
            continue
        groups = families([(r.line, surnames.get(r.upn, ""), r.name) for r in phone_rows])
        if len(groups) < 2:
            continue
        lines = sorted(r.line for r in phone_rows)
        parts = "; ".join("lines " + ", ".join(map(str, sorted(g))) for g in groups)
        warnings.append(
            f"{path}:{','.join(map(str, lines))}: one number is given for children of "
            f"{len(groups)} different families (different surnames and contact names: {parts}); "
            "each family is texted on its own, never naming another family's children"
        )
    return warnings


def _write_pupils(
    session: Session,
    school: School,
    rows: dict[str, PupilRow],
    existing: dict[str, Pupil],
    report: RosterReport,
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
            "on_roll": True,  # a pupil back in the file is back on roll
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


def _write_contacts(
    session: Session,
    school: School,
    rows: list[ContactRow],
    pupil_ids: dict[str, int],
    covered: set[int],
    report: RosterReport,
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
            # Listed again by the school: whatever Twilio said about it once is tried afresh.
            "undeliverable": None,
            "undeliverable_at": None,
        }
        contact = contacts.get(row.phone)
        if contact is None:
            new_contacts[row.phone] = {"school_id": school.id, "phone": row.phone, **values}
        elif any(getattr(contact, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(contact, k, v)
    if new_contacts and not report.dry_run:
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
        pupil_id, contact_id = pupil_ids.get(row.upn), contact_ids.get(row.phone)
        if pupil_id is None or contact_id is None:
            continue  # a dry run: the pupil or the number is new, so no link exists to change
        wanted[(pupil_id, contact_id)] = {
            "pupil_id": pupil_id,
            "contact_id": contact_id,
            "relationship_": row.relationship,
            "priority": row.priority,
            "parental_responsibility": row.parental_responsibility,
            "no_contact": row.no_contact,
            "contact_name": row.name,
        }
    current = {
        (link.pupil_id, link.contact_id): link
        for link in session.scalars(
            select(PupilContact).join(Pupil).where(Pupil.school_id == school.id)
        )
    }
    stale = [link.id for key, link in current.items() if key[0] in covered and key not in wanted]
    report.unlinked = len(stale)
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
