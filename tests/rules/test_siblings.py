"""Finding each child in a reply: names with endings, short forms and other scripts."""

from __future__ import annotations

import pytest

from rules.replies.siblings import fold, names_child, stretches


@pytest.mark.parametrize(
    ("token", "name"),
    [
        ("Lukas", "Lukas"),
        ("poppys", "Poppy"),  # a possessive without its apostrophe
        ("Elzai", "Elza"),  # Latvian dative
        ("Robertam", "Roberts"),
        ("Bencének", "Bence"),  # Hungarian
        ("Lukui", "Lukas"),  # Lithuanian dative
        ("Ondra", "Ondřej"),  # Czech short form
        ("Софія", "Sofiia"),  # Cyrillic
        ("Максим", "Maksym"),
        ("حمزة", "Hamza"),  # Arabic writes no short vowels
        ("مريم", "Maryam"),
        ("ক্রিশ", "Krish"),  # Bengali: the vowel signs belong to the word
        ("Ελένη", "Eleni"),
        ("Isa", "Isabela"),  # a short form: the start of the name, capitalised
        ("Ayo", "Ayomide"),
    ],
)
def test_a_child_is_found_as_written(token: str, name: str) -> None:
    assert names_child(token, _key(name))


def _key(name: str) -> str:
    return fold(name)


@pytest.mark.parametrize(
    ("token", "name"),
    [
        ("amar", "Amal"),  # Bengali "my", lower case: not a name
        ("Luton", "Lukas"),
        ("Poorly", "Poppy"),  # a word, capitalised to start a sentence
        ("a", "Ali"),
        ("The", "Theo"),  # the start of the name, but a word
        ("isa", "Isabela"),  # a short form must be written as a name
    ],
)
def test_other_words_are_not_the_child(token: str, name: str) -> None:
    assert not names_child(token, _key(name))


def test_each_child_gets_the_stretch_after_their_name() -> None:
    got = stretches(
        "Gabija siandien turi dentist 11:15, o Lukas kosti ir 38.4 temperatura. Atsiprasau",
        ("Gabija", "Lukas"),
    )
    assert got == {
        0: "Gabija siandien turi dentist 11:15, o",
        1: "Lukas kosti ir 38.4 temperatura. Atsiprasau",
    }


def test_a_name_in_latin_letters_is_found_inside_text_written_without_spaces() -> None:
    got = stretches(
        "Yiyi今天上午在Alder Hey看牙齿矫正，要一整天。Leo没人送，所以两个都没去。", ("Yiyi", "Leo")
    )
    assert got == {
        0: "Yiyi今天上午在Alder Hey看牙齿矫正，要一整天。",
        1: "Leo没人送，所以两个都没去。",
    }


def test_what_comes_before_any_name_is_said_of_every_child() -> None:
    got = stretches(
        "No electric since Saturday. Poppy has no clean uniform. Alfie won't go without her",
        ("Poppy", "Alfie"),
    )
    assert got[0].startswith("No electric since Saturday.")
    assert got[1].startswith("No electric since Saturday.")


@pytest.mark.parametrize(
    "text",
    [
        "Amal and Yusuf stay home today, snow",  # named together: nobody's own stretch
        "Bianca și Ioana nu vin azi, e înmormântarea bunicii",
        "Zuzia ma grypę, leży z gorączką.",  # one child named
        "Both of them are poorly",
    ],
)
def test_no_stretches_unless_two_children_are_named_apart(text: str) -> None:
    children = [n for n in ("Amal", "Yusuf", "Bianca", "Ioana", "Zuzanna", "Kacper")]
    assert stretches(text, children) == {}


def test_one_child_has_no_siblings() -> None:
    assert stretches("Gabija has the dentist and Lukas is ill", ("Gabija",)) == {}
