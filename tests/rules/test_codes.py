import pytest

from rules.attendance import attendance
from rules.codes import CODES, UnknownCode, lookup


def test_full_2024_code_set_is_present() -> None:
    expected = set(
        [
            "/",
            "\\",
            "L",
            "K",
            "V",
            "P",
            "W",
            "B",
            "D",
            "C1",
            "M",
            "J1",
            "S",
            "X",
            "C2",
            "C",
            "T",
            "R",
            "I",
            "E",
            "Q",
            "Y1",
            "Y2",
            "Y3",
            "Y4",
            "Y5",
            "Y6",
            "Y7",
            "G",
            "N",
            "O",
            "U",
            "Z",
            "#",
        ]
    )
    assert set(CODES) == expected


@pytest.mark.parametrize(
    ("code", "attended", "authorised", "unauthorised", "possible"),
    [
        ("/", True, False, False, True),
        ("L", True, False, False, True),
        ("V", True, False, False, True),
        ("I", False, True, False, True),
        ("M", False, True, False, True),
        ("C", False, True, False, True),
        ("G", False, False, True, True),
        ("N", False, False, True, True),
        ("U", False, False, True, True),
        ("Y1", False, False, False, False),
        ("X", False, False, False, False),
        ("D", False, False, False, False),
        ("#", False, False, False, False),
        ("Z", False, False, False, False),
    ],
)
def test_statistics_categories(
    code: str, attended: bool, authorised: bool, unauthorised: bool, possible: bool
) -> None:
    entry = lookup(code)
    assert (entry.attended, entry.authorised, entry.unauthorised, entry.possible) == (
        attended,
        authorised,
        unauthorised,
        possible,
    )


def test_lookup_accepts_lower_case_and_refuses_unknown() -> None:
    assert lookup("i").code == "I"
    assert lookup("y1").code == "Y1"
    with pytest.raises(UnknownCode):
        lookup("Q9")


def test_not_compulsory_age_and_dual_registration_are_not_possible_sessions() -> None:
    stats = attendance(["/", "X", "D", "I"])
    assert (stats.possible, stats.attended, stats.authorised) == (2, 1, 1)


@pytest.mark.parametrize(
    ("attended", "possible", "band"),
    [
        (2249, 2500, "persistent absence"),  # 89.96% reads 90.0%: still missing over 10%
        (90, 100, "persistent absence"),  # exactly 10% missed
        (901, 1000, "ok"),
        (50, 100, "severe absence"),  # exactly 50% missed
        (51, 100, "persistent absence"),
    ],
)
def test_bands_are_tested_on_sessions_missed_not_on_a_rounded_percent(
    attended: int, possible: int, band: str
) -> None:
    stats = attendance(["/"] * attended + ["O"] * (possible - attended))
    assert stats.band() == band
