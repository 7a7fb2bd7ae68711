"""Why a reply needs a person, from the parser's stored output, read defensively."""

from __future__ import annotations

from datetime import date

from rules.replies import parse_reply
from rules.review import language_name, review_reasons


def test_a_confident_english_reply_needs_nobody() -> None:
    assert review_reasons(parse_reply("he has a temperature", date(2026, 3, 10)).to_json()) == []
    assert review_reasons(None) == [] and review_reasons({}) == []


def test_the_reasons_are_the_parsers_own_words_for_the_office() -> None:
    parse = {
        "needs_review": True,
        "language": "pl",
        "per_child": {"Mia": "M", "Ollie": "I"},
        "confidence": 0.4,
    }
    assert review_reasons(parse) == [
        "written in Polish",
        "two children, different reasons",
        "low confidence",
    ]


def test_fields_the_parser_adds_later_are_used_and_odd_values_ignored() -> None:
    parse = {"needs_review": True, "review_reasons": ["child_authored"], "confidence": "high"}
    assert review_reasons(parse) == ["child authored"]
    assert review_reasons({"needs_review": True, "language": 7}) == ["the reader was unsure"]


def test_a_dutch_reply_from_the_parser() -> None:
    # Dutch: a language the corpus has too few replies in for the model to read it alone.
    text = "Goedemorgen, Tomas is vandaag ziek, hij heeft koorts"
    parse = parse_reply(text, date(2026, 3, 10), ["Tomas"]).to_json()
    assert "written in Dutch" in review_reasons(parse)


def test_language_names() -> None:
    assert language_name("pl") == "Polish" and language_name("en") is None
    assert language_name("xx") == "xx" and language_name(None) is None
