"""The 2024 national attendance code set (School Attendance (Pupil Registration) (England)
Regulations 2024), with what each code counts as in the statistics."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time
from enum import StrEnum


class Category(StrEnum):
    PRESENT = "present"
    APPROVED_ACTIVITY = "approved_educational_activity"
    LEAVE = "authorised_leave_of_absence"
    AUTHORISED_OTHER = "authorised_other"
    UNABLE_TO_ATTEND = "unable_to_attend"
    UNAUTHORISED = "unauthorised"
    ADMINISTRATIVE = "administrative"


@dataclass(frozen=True, slots=True)
class Code:
    code: str
    meaning: str
    category: Category

    @property
    def possible(self) -> bool:
        """Counts as a possible session (DfE, 2024): not the administrative codes, not the
        unavoidable-cause codes, and not the sessions a pupil is not expected at this
        school: `X` (not of compulsory school age) and `D` (at the other school of a dual
        registration)."""
        return (
            self.category not in (Category.ADMINISTRATIVE, Category.UNABLE_TO_ATTEND)
            and self.code not in NOT_COUNTED
        )

    @property
    def attended(self) -> bool:
        return self.possible and self.category in (Category.PRESENT, Category.APPROVED_ACTIVITY)

    @property
    def authorised(self) -> bool:
        return self.possible and self.category in (Category.LEAVE, Category.AUTHORISED_OTHER)

    @property
    def unauthorised(self) -> bool:
        return self.category is Category.UNAUTHORISED

    @property
    def absent(self) -> bool:
        return self.authorised or self.unauthorised


# Recorded but neither attended nor missed: out of the possible sessions altogether.
NOT_COUNTED = frozenset({"X", "D"})

_C = Category
CODES: dict[str, Code] = {
    c.code: c
    for c in (
        Code("/", "present (AM)", _C.PRESENT),
        Code("\\", "present (PM)", _C.PRESENT),
        Code("L", "late, arrived before the register closed", _C.PRESENT),
        Code(
            "K",
            "attending education provision arranged by the local authority",
            _C.APPROVED_ACTIVITY,
        ),
        Code("V", "attending an educational visit or trip", _C.APPROVED_ACTIVITY),
        Code("P", "participating in a supervised sporting activity", _C.APPROVED_ACTIVITY),
        Code("W", "attending work experience", _C.APPROVED_ACTIVITY),
        Code("B", "attending any other approved educational activity", _C.APPROVED_ACTIVITY),
        Code("D", "dual registered, at another school", _C.APPROVED_ACTIVITY),
        Code("C1", "leave: regulated performance or employment abroad", _C.LEAVE),
        Code("M", "leave: medical or dental appointment", _C.LEAVE),
        Code("J1", "leave: interview", _C.LEAVE),
        Code("S", "leave: study leave", _C.LEAVE),
        Code("X", "not of compulsory school age", _C.LEAVE),
        Code("C2", "leave: part-time timetable", _C.LEAVE),
        Code("C", "leave: exceptional circumstances", _C.LEAVE),
        Code("T", "parent travelling for occupational purposes", _C.AUTHORISED_OTHER),
        Code("R", "religious observance", _C.AUTHORISED_OTHER),
        Code("I", "illness", _C.AUTHORISED_OTHER),
        Code("E", "suspended or excluded, no alternative provision", _C.AUTHORISED_OTHER),
        Code("Q", "unable to attend: lack of access arrangements", _C.UNABLE_TO_ATTEND),
        Code("Y1", "unable to attend: LA transport not available", _C.UNABLE_TO_ATTEND),
        Code("Y2", "unable to attend: widespread travel disruption", _C.UNABLE_TO_ATTEND),
        Code("Y3", "unable to attend: part of premises closed", _C.UNABLE_TO_ATTEND),
        Code("Y4", "unable to attend: whole site unexpectedly closed", _C.UNABLE_TO_ATTEND),
        Code("Y5", "unable to attend: criminal justice detention", _C.UNABLE_TO_ATTEND),
        Code("Y6", "unable to attend: public health guidance or law", _C.UNABLE_TO_ATTEND),
        Code("Y7", "unable to attend: any other unavoidable cause", _C.UNABLE_TO_ATTEND),
        Code("G", "unauthorised: holiday not granted", _C.UNAUTHORISED),
        Code("N", "unauthorised: reason not yet established", _C.UNAUTHORISED),
        Code("O", "unauthorised: other or unknown", _C.UNAUTHORISED),
        Code("U", "unauthorised: arrived after the register closed", _C.UNAUTHORISED),
        Code("Z", "pupil not yet on roll", _C.ADMINISTRATIVE),
        Code("#", "planned whole-school closure", _C.ADMINISTRATIVE),
    )
}

PRESENT_MARKS = frozenset({"/", "\\"})
# The codes the headteacher chooses from when approving leave (its reason decides which).
LEAVE_CODES = ("C", "R", "T", "C1", "J1", "S", "C2", "M")
# Codes a parent's reply can make provisional; everything else is for staff to set.
N_CODE = "N"  # absent, no reason yet established
UNEXPLAINED = frozenset({N_CODE})


class UnknownCode(ValueError):
    pass


def lookup(code: str) -> Code:
    """The catalogue entry for a code, accepting any case for letters ("i" is "I")."""
    key = code.strip()
    found = CODES.get(key) or CODES.get(key.upper())
    if found is None:
        raise UnknownCode(f"unknown attendance code {code!r}")
    return found


def normalise(code: str) -> str:
    return lookup(code).code


def is_n_code(code: str | None) -> bool:
    """The code is N: absent, with no reason established yet."""
    return code == N_CODE


def is_absence_needing_reason(code: str | None) -> bool:
    """An unexplained absence: no mark at all, or N."""
    return code is None or code in UNEXPLAINED


def in_school(code: str | None) -> bool:
    """The register shows the pupil in school (or at approved education) for the session:
    present, late (L, or U after the late cut-off) or an approved activity. An absence case
    ends here."""
    if code is None:
        return False
    entry = lookup(code)
    return entry.category in (Category.PRESENT, Category.APPROVED_ACTIVITY) or entry.code == "U"


def arrival_code(session_label: str, arrival: time, closes: time, late_cutoff: time) -> str:
    """The mark for a pupil who arrived at `arrival`: present by the close, L by the late
    cut-off (the school's `late_until`; the close when it has none), U after it."""
    if arrival <= closes:
        return "/" if session_label == "AM" else "\\"
    return "L" if arrival <= late_cutoff else "U"


# The words of a leave request that point to the code the headteacher would choose; the
# head can always choose another (`/leave approve ID CODE`). Checked in this order.
_LEAVE_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("C2", ("part-time timetable", "part time timetable", "reduced timetable")),
    ("S", ("study leave", "revision")),
    ("J1", ("interview",)),
    ("C1", ("perform", "audition", "filming", "acting", "licence", "license", "modelling")),
    ("R", ("religio", "eid", "diwali", "vaisakhi", "yom kippur", "rosh hashanah", "festival")),
    ("T", ("traveller", "travelling show", "fair", "circus", "occupational")),
    ("M", ("dentist", "doctor", "hospital", "medical", "appointment", "orthodont", "clinic")),
)


def leave_code_for(reason: str) -> str:
    """The default code for approved leave, from the request's reason: C (exceptional
    circumstances) unless the reason names one of the specific leave codes."""
    text = reason.lower()
    for code, words in _LEAVE_WORDS:
        if any(word in text for word in words):
            return code
    return "C"
