import pytest

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
