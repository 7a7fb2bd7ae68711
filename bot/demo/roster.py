"""A realistic made-up school: pupils, families with siblings, vulnerable pupils, no-contact
contacts and a landline, written as the CSV files a MIS export becomes. Used by the demo,
the benchmarks and the examples; deterministic for a given seed."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

from stdnum.gb.upn import calc_check_digit

from rules.phones import PhoneError, parse_phone
from storage.csvfile import CsvWriter

FIRST = [
    "Amira",
    "Jayden",
    "Olivia",
    "Noah",
    "Mia",
    "Leo",
    "Ava",
    "Zara",
    "Ollie",
    "Isla",
    "Mohammed",
    "Sophie",
    "Harry",
    "Aaliyah",
    "Jack",
    "Ruby",
    "Oscar",
    "Freya",
    "Yusuf",
    "Lily",
    "Arlo",
    "Maya",
    "Theo",
    "Grace",
    "Ibrahim",
    "Evie",
    "Kacper",
    "Zofia",
    "Andrei",
    "Ioana",
    "Bilal",
    "Hira",
    "Harpreet",
    "Gurleen",
    "Tiago",
    "Beatriz",
    "Omar",
    "Layla",
    "Finley",
    "Poppy",
    "Alfie",
    "Ella",
    "Reggie",
    "Willow",
    "Musa",
    "Hafsa",
    "Kai",
    "Esme",
    "Dylan",
    "Nia",
]
LAST = [
    "Smith",
    "Jones",
    "Khan",
    "Ahmed",
    "Taylor",
    "Brown",
    "Williams",
    "Patel",
    "Wilson",
    "Evans",
    "Hussain",
    "Walker",
    "Kowalski",
    "Nowak",
    "Popescu",
    "Ionescu",
    "Singh",
    "Kaur",
    "Silva",
    "Santos",
    "Ali",
    "Begum",
    "Wright",
    "Robinson",
    "Thompson",
    "White",
    "Hughes",
    "Green",
    "Hall",
    "Wood",
    "Clarke",
    "Jackson",
    "Turner",
    "Hill",
    "Moore",
]
MOTHERS = [
    "Sarah",
    "Emma",
    "Claire",
    "Gemma",
    "Fatima",
    "Ayesha",
    "Agnieszka",
    "Elena",
    "Manpreet",
    "Ana",
    "Laura",
    "Kelly",
]
FATHERS = [
    "Mark",
    "Daniel",
    "Imran",
    "Tomasz",
    "Mihai",
    "Gurpreet",
    "Paulo",
    "James",
    "Lee",
    "Adam",
]
LANGUAGES = ("en",) * 14 + ("pl", "ro", "ur", "pa", "ar", "pt")
FLAGS = ("social_worker", "cp_plan", "cin", "lac", "ehcp", "young_carer", "concern")
# Local authority code 383 is Leeds; the UPN's LA part must be a real one.
LA_CODE = "383"


@dataclass
class Family:
    surname: str
    contacts: list[
        tuple[str, str, str, str, bool, bool]
    ]  # name, relationship, phone, language, pr, no_contact
    children: list[dict[str, str]] = field(default_factory=list)


def make_upn(school_number: int, serial: int, year: int = 26) -> str:
    body = f"{LA_CODE}{school_number % 10000:04d}{year % 100:02d}{serial:03d}"
    # Serials run past 999 in a big trust: spill into the year digits to stay unique.
    if serial > 999:
        body = f"{LA_CODE}{school_number % 10000:04d}{(year + serial // 1000) % 100:02d}{serial % 1000:03d}"
    return calc_check_digit(body) + body


def _is_mobile(number: str) -> bool:
    try:
        return parse_phone(number).kind == "mobile"
    except PhoneError:
        return False


def _mobile(rng: random.Random, used: set[str]) -> str:
    while True:
        number = f"+4479{rng.randrange(10, 100):02d}{rng.randrange(0, 1000000):06d}"
        if number not in used and _is_mobile(number):
            used.add(number)
            return number


def build_school(
    pupils: int,
    *,
    seed: int = 1,
    school_number: int = 2001,
    classes_per_year: int = 2,
    years: tuple[str, ...] = ("R", "1", "2"),
    vulnerable_share: float = 0.04,
) -> list[Family]:
    """Families for a school of about `pupils` children."""
    rng = random.Random(seed)
    used: set[str] = set()
    families: list[Family] = []
    serial = 0
    landline_done = no_contact_done = False
    while serial < pupils:
        surname = rng.choice(LAST)
        language = rng.choice(LANGUAGES)
        contacts = [
            (
                f"{rng.choice(MOTHERS)} {surname}",
                "Mother",
                _mobile(rng, used),
                language,
                True,
                False,
            )
        ]
        if rng.random() < 0.8:
            contacts.append(
                (
                    f"{rng.choice(FATHERS)} {surname}",
                    "Father",
                    _mobile(rng, used),
                    language,
                    True,
                    False,
                )
            )
        if rng.random() < 0.3:
            contacts.append(
                (
                    f"{rng.choice(MOTHERS + FATHERS)} {rng.choice(LAST)}",
                    "Grandparent",
                    _mobile(rng, used),
                    "en",
                    False,
                    False,
                )
            )
        if not landline_done and len(families) == 3:
            # A family whose first number is a landline: kept for calls, never texted.
            name, rel, _, lang, pr, nc = contacts[0]
            contacts[0] = (name, rel, "+441132618000", lang, pr, nc)
            landline_done = True
        if not no_contact_done and len(families) == 5 and len(contacts) > 1:
            name, rel, phone, lang, pr, _ = contacts[1]
            contacts[1] = (name, rel, phone, lang, False, True)  # a court order
            no_contact_done = True
        family = Family(surname, contacts)
        siblings = 1 + (rng.random() < 0.25) + (rng.random() < 0.05)
        for _ in range(min(siblings, pupils - serial)):
            serial += 1
            year = rng.choice(years)
            flags = [rng.choice(FLAGS)] if rng.random() < vulnerable_share else []
            family.children.append(
                {
                    "upn": make_upn(school_number, serial),
                    "first_name": rng.choice(FIRST),
                    "last_name": surname,
                    "year_group": year,
                    "class": f"{year}{'ABCDEFGH'[rng.randrange(classes_per_year)]}",
                    "vulnerable": ";".join(flags),
                    "la_transport": "true" if rng.random() < 0.02 else "false",
                }
            )
        families.append(family)
    return families


def write_roster(families: list[Family], pupils_csv: Path, contacts_csv: Path) -> None:
    with pupils_csv.open("w", newline="") as p, contacts_csv.open("w", newline="") as c:
        pupils = CsvWriter(p)
        contacts = CsvWriter(c)
        pupils.writerow(
            ["upn", "first_name", "last_name", "year_group", "class", "vulnerable", "la_transport"]
        )
        contacts.writerow(
            [
                "upn",
                "name",
                "relationship",
                "phone",
                "priority",
                "parental_responsibility",
                "no_contact",
                "language",
            ]
        )
        for family in families:
            for child in family.children:
                pupils.writerow(child.values())
                for priority, (name, rel, phone, lang, pr, nc) in enumerate(family.contacts, 1):
                    contacts.writerow(
                        [
                            child["upn"],
                            name,
                            rel,
                            phone,
                            priority,
                            str(pr).lower(),
                            str(nc).lower(),
                            lang,
                        ]
                    )
