"""Reason concepts in many languages: "gorączka", "bukhar", "حمى" and "fever" are one concept.

The learned model sees each concept a reply mentions as a feature of its own ("k:fever")
beside its n-grams, so what it learns from thousands of English replies about a temperature
carries over to the few dozen Polish or Tigrinya ones it has seen.  The words are in
`lexicon/*.json` (`{"concepts": {concept: {language: [variant, ...]}}}`), one file per group
of languages, written by people who speak them; a variant is a word, a short phrase, a stem
ending in "*" (any word that starts with it), or for scripts written without spaces
(Chinese, Japanese, Thai, Lao, Tibetan, Burmese, Khmer) a string found anywhere in the reply.

Matching folds case and Latin, Greek and Cyrillic accents the same way on both sides, and
keeps the vowel signs of Indic and other scripts, which carry meaning there.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from .normalise import WORD_CHAR

LEXICON_DIR = Path(__file__).resolve().parent / "lexicon"
STEM_KEY = 3  # stems are indexed by their first letters
MIN_STEM = 4
_TOKEN = re.compile(f"{WORD_CHAR}+")
# Scripts written without spaces between words (Thai, Lao, Tibetan, Burmese, Khmer,
# Chinese, Japanese) or with endings joined onto them (Korean): their variants are found as
# substrings.
_UNSPACED = re.compile(
    r"[\u0e00-\u0eff\u0f00-\u0fff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u3400-\u4dbf"
    r"\u4e00-\u9fff\uac00-\ud7af]"
)
# Arabic and Hebrew write "and", "the", "with the" and "to the" onto the word: "وبكرة" is
# "and tomorrow", "بالمستشفى" "in the hospital", "ומחר" "and tomorrow".  A word the lexicon
# does not know is looked up again without one of these.  Single "ب" and "ل" are left
# alone: "بعيد" is "far", not "with Eid".
_CLITIC = re.compile(r"(?:وال|بال|فال|لل|ال|و|ف|וה|ו|ה|ב|ל)(?=.)")
# The signs of risk are also matched with two neighbouring words swapped: word order moves
# in a subordinate clause ("vill inte leva", but "att hon inte vill leva"), and Polish,
# Turkish or Hindi order words freely ("boi się", "się boi").  The reasons for an absence
# are not: "e a", "she can" and "de pe" swapped are everyday words.
FREE_ORDER = frozenset(
    {
        "alcohol_drugs",
        "alone",
        "cant_cope",
        "changing_story",
        "hit",
        "missing",
        "money_phone",
        "no_food",
        "no_power",
        "older_men",
        "police",
        "prison",
        "scared",
        "self_harm",
        "social_worker",
        "suicide",
        "violence",
        "war",
    }
)
_APOSTROPHES = re.compile(r"['\u2019\u2018`]")
_ACCENTS = re.compile(r"[\u0300-\u036f]")
# Letters that are not a base letter and an accent, folded by hand as people type them.
# Zero-width joiners are dropped: some keyboards put them inside Malayalam or Persian words.
_PLAIN = str.maketrans(
    {
        "ł": "l",
        "ø": "o",
        "đ": "d",
        "ß": "ss",
        "æ": "ae",
        "ı": "i",
        "ð": "d",
        "\u200c": "",
        "\u200d": "",
    }
)


# Words that mean something else after these: German "Morgen" is tomorrow, but "heute
# Morgen" and "guten Morgen" are this morning and good morning.
_OTHER_SENSE_AFTER: dict[str, frozenset[str]] = {
    "morgen": frozenset({"heute", "guten", "am", "jeden", "diesen"}),
    # "esta mañana", "a la una de la mañana": the morning, not tomorrow.
    "manana": frozenset({"la", "esta", "cada", "por", "toda"}),
}
# ...and before these: "kal" is tomorrow and yesterday in Hindi, Urdu, Punjabi, Bengali and
# Gujarati, and "kal raat" is last night.
_NIGHT = frozenset(
    {"raat", "rat", "raath", "raati", "rate", "rait", "raite", "رات", "रात", "রাত", "রাতে", "রাতের"}
    | {"ਰਾਤ", "ਰਾਤੀਂ", "ਰਾਤਿ", "રાત", "રાતે", "રાત્રે"}
)
_OTHER_SENSE_BEFORE: dict[str, frozenset[str]] = {
    word: _NIGHT
    for word in ("kal", "kall", "kail", "kaal", "kale", "kaale", "کل", "कल", "ਕੱਲ੍ਹ", "ਕੱਲ")
    + ("কাল", "কালকে", "કાલે", "કાલ")
}


_OTHER_SENSE_WORDS = frozenset(_OTHER_SENSE_AFTER) | frozenset(_OTHER_SENSE_BEFORE)


def other_sense(toks: Sequence[str], i: int) -> bool:
    """Whether token i means something else beside the word before or after it ("heute
    Morgen", "kal raat")."""
    before = _OTHER_SENSE_AFTER.get(toks[i])
    if before is not None and i > 0 and toks[i - 1] in before:
        return True
    after = _OTHER_SENSE_BEFORE.get(toks[i])
    return after is not None and i + 1 < len(toks) and toks[i + 1] in after


def fold(text: str) -> str:
    """Lowercase; accents off Latin, Greek and Cyrillic letters; apostrophes dropped."""
    lowered = text.lower().translate(_PLAIN)
    if lowered.isascii():
        return _APOSTROPHES.sub("", lowered)
    # The accents of Latin, Greek and Cyrillic letters decompose into this block; the vowel
    # signs of Indic scripts and Arabic's marks are in blocks of their own, and stay.
    bare = _ACCENTS.sub("", unicodedata.normalize("NFKD", lowered))
    return _APOSTROPHES.sub("", unicodedata.normalize("NFC", bare))


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(fold(text))


@dataclass(slots=True)
class Lexicon:
    words: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    stems: dict[str, list[tuple[str, str]]] = field(default_factory=lambda: defaultdict(list))
    # A phrase is indexed by its first two words: "ne" alone begins a hundred of them.
    phrases: dict[tuple[str, str], list[tuple[tuple[str, ...], str]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    # A phrase whose last word is a stem ("nie wysyłajcie wiadomo*"), by its first word.
    stem_phrases: dict[str, list[tuple[tuple[str, ...], str]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    # Unspaced variants by their first character: a reply has a few dozen characters, the
    # lexicon thousands of such variants.
    unspaced: dict[str, list[tuple[str, str]]] = field(default_factory=lambda: defaultdict(list))
    # A word's concepts as a whole word or by a stem, cached: replies repeat their words.
    # Tuples, not frozensets: the garbage collector stops tracking a tuple of strings, but
    # walks every set on each full collection (60,000 of them cost 20 ms after a corpus).
    _by_token: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def add(self, concept: str, variant: str) -> None:
        raw = variant.strip()
        if not raw:
            return
        if _UNSPACED.search(raw):
            squashed = fold(raw).replace(" ", "")
            self.unspaced[squashed[0]].append((squashed, concept))
            return
        stem = raw.endswith("*")
        parts = tokens(raw.rstrip("*"))
        if not parts:
            return
        self._by_token.clear()
        if len(parts) > 1 and stem:
            self.stem_phrases[parts[0]].append((tuple(parts), concept))
            if concept in FREE_ORDER:
                # The stem stays last: it is where the word's ending goes.
                for swapped in _swaps(parts[:-1]):
                    self.stem_phrases[swapped[0]].append(((*swapped, parts[-1]), concept))
        elif len(parts) > 1:
            self.phrases[parts[0], parts[1]].append((tuple(parts), concept))
            if concept in FREE_ORDER:
                for swapped in _swaps(parts):
                    self.phrases[swapped[0], swapped[1]].append((swapped, concept))
        elif stem and len(parts[0]) >= MIN_STEM:
            self.stems[parts[0][:STEM_KEY]].append((parts[0], concept))
        else:
            self.words[parts[0]].add(concept)

    def concepts(self, toks: list[str], text: str = "") -> set[str]:
        """The concepts among a reply's tokens (`tokens(text)`); `text` for unspaced scripts."""
        found: set[str] = set()
        by_token = self._by_token
        phrases = self.phrases
        stem_phrases = self.stem_phrases
        last = len(toks)
        for i, tok in enumerate(toks):
            if tok in _OTHER_SENSE_WORDS and other_sense(toks, i):
                continue
            known = by_token.get(tok)
            if known is None:
                known = self.word_concepts(tok)
            if known:
                found.update(known)
            if i + 1 < last:
                for phrase, concept in phrases.get((tok, toks[i + 1]), ()):
                    if len(phrase) == 2 or tuple(toks[i : i + len(phrase)]) == phrase:
                        found.add(concept)
                for phrase, concept in stem_phrases.get(tok, ()):
                    end = i + len(phrase) - 1
                    if (
                        end < last
                        and toks[end].startswith(phrase[-1])
                        and tuple(toks[i + 1 : end]) == phrase[1:-1]
                    ):
                        found.add(concept)
        if text and self.unspaced and _UNSPACED.search(text):
            squashed = fold(text).replace(" ", "")
            unspaced = self.unspaced
            found.update(
                concept
                for first in set(squashed)
                for variant, concept in unspaced.get(first, ())
                if variant in squashed
            )
        return found

    def word_concepts(self, tok: str) -> tuple[str, ...]:
        """A token's concepts as a word or by a stem, cached (phrases are not looked at)."""
        known = self._by_token.get(tok)
        if known is None:
            if len(self._by_token) > 100_000:
                self._by_token.clear()
            known = self._by_token[tok] = self._token_concepts(tok)
        return known

    def _token_concepts(self, tok: str) -> tuple[str, ...]:
        found = self._lookup(tok)
        if not found:
            clitic = _CLITIC.match(tok)
            if clitic is not None and len(tok) - clitic.end() >= 3:
                found = self._lookup(tok[clitic.end() :])
        return tuple(found)

    def _lookup(self, tok: str) -> set[str]:
        found = set(self.words.get(tok, ()))
        found.update(c for stem, c in self.stems.get(tok[:STEM_KEY], ()) if tok.startswith(stem))
        return found


def _swaps(parts: list[str]) -> list[tuple[str, ...]]:
    """The phrase with each pair of neighbouring words swapped, where both are words and
    not a letter or a clitic ("e a", "n a")."""
    out = []
    for k in range(len(parts) - 1):
        if len(parts[k]) < 2 or len(parts[k + 1]) < 2 or parts[k] == parts[k + 1]:
            continue
        swapped = [*parts]
        swapped[k], swapped[k + 1] = parts[k + 1], parts[k]
        out.append(tuple(swapped))
    return out


def build(entries: Iterable[tuple[str, str]]) -> Lexicon:
    lexicon = Lexicon()
    for concept, variant in entries:
        lexicon.add(concept, variant)
    return lexicon


def files(directory: Path = LEXICON_DIR) -> list[Path]:
    return sorted(directory.glob("*.json"))


@lru_cache(maxsize=1)
def shipped_variants() -> tuple[tuple[str, str, str], ...]:
    """(concept, language, variant) for every entry of the shipped lexicon files, read once:
    the concepts and the language detector's marker words both come from here."""
    return tuple(v for path in files() for v in read_variants(path))


def read_variants(path: Path) -> list[tuple[str, str, str]]:
    """(concept, language, variant) for every entry of one lexicon file."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return [
        (concept, language, variant)
        for concept, languages in data["concepts"].items()
        for language, variants in languages.items()
        for variant in variants
    ]


def _entries(variants: Iterable[tuple[str, str, str]]) -> Iterable[tuple[str, str]]:
    for concept, language, variant in variants:
        if language == "en" or not _too_short(variant):
            yield concept, variant


def _too_short(variant: str) -> bool:
    """A Latin-script word of three letters or fewer in another language is too often a
    word or a name in English or a third language ("sam" is "alone" in Polish, "ma" "has")."""
    word = fold(variant.strip().rstrip("*"))
    return word.isascii() and " " not in word and len(word) <= 3


@lru_cache(maxsize=1)
def shipped() -> Lexicon:
    return build(_entries(shipped_variants()))


def concept_features(text: str) -> list[str]:
    """The model's concept features of a reply: "k:fever", "k:dentist"..."""
    lexicon = shipped()
    return [f"k:{c}" for c in sorted(lexicon.concepts(tokens(text), text))]
