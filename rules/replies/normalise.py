"""Turn a raw SMS into a flat, predictable token stream.

Everything downstream (cue matching, dates, safeguarding) works on one space-joined string
of lowercase, accent-free tokens, so that a phrase written once in the vocabulary matches
"She's", "shes" and "SHE'S" alike, and Polish or Romanian words match with or without
their diacritics (phones often drop them).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from itertools import accumulate


def words(text: str) -> frozenset[str]:
    """A word set written as one space-separated string, for readable vocabulary."""
    return frozenset(text.split())


# Replies longer than this are letters, not texts; the first part carries the reason and
# capping keeps the worst case bounded.
MAX_CHARS = 2000
MAX_TOKENS = 400

PUNCT = frozenset(".,!?;:")
SENTENCE_END = frozenset(".!?;")

_QUOTES = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201b": "'",
        "\u2032": "'",
        "`": "'",
        "\u00b4": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2026": ".",
        # Letters that NFKD does not decompose but that phones type interchangeably.
        "\u0142": "l",
        "\u0141": "l",
        "\u00f8": "o",
        "\u00df": "ss",
        "\u0111": "d",
        "\u0131": "i",
        "\u00e6": "ae",
        "\u0153": "oe",
    }
)

# Emoji carry meaning in these texts ("🤒🤢 not coming in"); the rest are noise.
_EMOJI_WORDS = {
    "\U0001f912": " feverish ",
    "\U0001f922": " nauseous ",
    "\U0001f92e": " vomiting ",
    "\U0001f927": " sneezing ",
    "\U0001f637": " poorly ",
    "\U0001f915": " injured ",
    "\U0001f3e5": " hospital ",
    "\U0001f9b7": " tooth ",
    "\u2708": " flight ",
    "\U0001f6eb": " flight ",
    "\U0001f3d6": " beach ",
    "\U0001f3a2": " theme park ",
    "\U0001f382": " birthday ",
    "\U0001f48d": " wedding ",
    "\U0001f44d": " ok ",
}
_EMOJI_RE = re.compile("|".join(re.escape(k) for k in _EMOJI_WORDS))

# The combining marks that belong inside a word: Latin, Greek and Cyrillic accents, Hebrew
# points, Arabic vowel marks, Thaana's vowels, the vowel signs of the Indic scripts, Thai,
# Lao, Tibetan, Burmese and Khmer.  Python's \w leaves them all out, so "बुखार" would be
# three one-letter words and a Dhivehi word one word a consonant.
WORD_MARKS = (
    "\u0300-\u036f\u0483-\u0489\u0591-\u05c7\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed"
    "\u07a6-\u07b0\u0900-\u0dff\u0e31-\u0e3a\u0e47-\u0e4e\u0eb1-\u0ebc\u0ec8-\u0ecd"
    "\u0f00-\u0fff\u1000-\u109f\u17b4-\u17d3"
)
# A word's letter: a letter or digit of any script, or one of those marks.
WORD_CHAR = rf"(?:[^\W_]|[{WORD_MARKS}])"
_TOKEN_RE = re.compile(rf"\d+(?:[.:/]\d+)+|{WORD_CHAR}+(?:[&'+]{WORD_CHAR}+)*|[.!?;:,]|\n")
_XRAY = re.compile(r"\bx[- ]?rays?\b")
_DIGIT_WORD = re.compile(r"^(\d+)([a-z]+)$")
_ORDINAL = re.compile(r"^\d{1,2}(?:st|nd|rd|th)$")

# Text-speak and apostrophe-less contractions, mapped to the words the vocabulary uses.
TEXTSPEAK: dict[str, str] = {
    "2day": "today",
    "neva": "never",
    "nevr": "never",
    "2dy": "today",
    "tday": "today",
    "todai": "today",
    "2moro": "tomorrow",
    "2moz": "tomorrow",
    "2mro": "tomorrow",
    "2morrow": "tomorrow",
    "2mrw": "tomorrow",
    "2mora": "tomorrow",
    "tmrw": "tomorrow",
    "tmr": "tomorrow",
    "tmw": "tomorrow",
    "tomoz": "tomorrow",
    "tomoro": "tomorrow",
    "tomorow": "tomorrow",
    "tommorow": "tomorrow",
    "tommorrow": "tomorrow",
    "tomorro": "tomorrow",
    "tomo": "tomorrow",
    "tomrw": "tomorrow",
    "morrow": "tomorrow",
    "2nite": "tonight",
    "tonite": "tonight",
    "bk": "back",
    "bac": "back",
    "bak": "back",
    "bck": "back",
    "shud": "should",
    "shld": "should",
    "cud": "could",
    "wud": "would",
    "n": "and",
    "u": "you",
    "ur": "your",
    "r": "are",
    "b": "be",
    "pls": "please",
    "plz": "please",
    "plse": "please",
    "thx": "thanks",
    "ty": "thanks",
    "cuz": "because",
    "coz": "because",
    "cos": "because",
    "cus": "because",
    "bc": "because",
    "bcos": "because",
    "bcoz": "because",
    "becuase": "because",
    "becasue": "because",
    "gna": "going to",
    "gonna": "going to",
    "gunna": "going to",
    "wanna": "want to",
    "gotta": "got to",
    "dr": "doctor",
    "drs": "doctors",
    "doc": "doctor",
    "docs": "doctors",
    "appt": "appointment",
    "appts": "appointments",
    "apt": "appointment",
    "appnt": "appointment",
    "appmt": "appointment",
    "hosp": "hospital",
    "wk": "week",
    "wks": "weeks",
    "hr": "hours",
    "hrs": "hours",
    "mins": "minutes",
    "b4": "before",
    "l8": "late",
    "l8r": "later",
    "sum1": "someone",
    "some1": "someone",
    "no1": "no one",
    "noone": "no one",
    "nobody": "no one",
    "w": "with",
    "wiv": "with",
    "av": "have",
    "feelin": "feeling",
    "goin": "going",
    "comin": "coming",
    "bday": "birthday",
    "sik": "sick",
    "omw": "on my way",
    "asap": "as soon as possible",
    "abit": "a bit",
    "tbh": "to be honest",
    "atm": "at the moment",
    "fyi": "for your information",
    "im": "i am",
    "ive": "i have",
    "id": "i would",
    "wont": "will not",
    "cant": "can not",
    "cannot": "can not",
    "dont": "do not",
    "didnt": "did not",
    "isnt": "is not",
    "wasnt": "was not",
    "doesnt": "does not",
    "dosnt": "does not",
    "hasnt": "has not",
    "havent": "have not",
    "couldnt": "could not",
    "wouldnt": "would not",
    "shouldnt": "should not",
    "arent": "are not",
    "werent": "were not",
    "aint": "is not",
    "hes": "he s",
    "shes": "she s",
    "its": "it s",
    "thats": "that s",
    "theres": "there s",
    "theyre": "they are",
    "youre": "you are",
    "theyll": "they will",
    "itll": "it will",
    "whos": "who s",
    "whats": "what s",
    "lets": "let s",
    "mum's": "mum s",
    "ae": "a&e",
    "a+e": "a&e",
    "d+v": "d&v",
    "dnv": "d&v",
    "x": "",
    "xx": "",
    "xxx": "",
    "xxxx": "",
    "xo": "",
    "mon": "monday",
    "tue": "tuesday",
    "tues": "tuesday",
    "weds": "wednesday",
    "wed": "wednesday",
    "thu": "thursday",
    "thur": "thursday",
    "thurs": "thursday",
    "fri": "friday",
    "hol": "holiday",
    "hols": "holidays",
    "gp's": "gp s",
    "mam": "mum",
    "mom": "mum",
    "mummy": "mum",
    "mommy": "mum",
    "nanna": "nan",
    "nana": "nan",
    "nanny": "nan",
    "gran": "nan",
    "granny": "nan",
    "grandma": "nan",
    "grandmother": "nan",
    "grampa": "grandad",
    "grandpa": "grandad",
    "granddad": "grandad",
    "grandfather": "grandad",
}

_NT = {
    "won't": "will not",
    "can't": "can not",
    "shan't": "shall not",
    "ain't": "is not",
    "don't": "do not",
}
_SUFFIXES = (
    ("n't", " not"),
    ("'ll", " will"),
    ("'ve", " have"),
    ("'re", " are"),
    ("'m", " am"),
    ("'d", " would"),
    ("'s", " s"),
)

# "ill bring him in" is "I'll", not "ill"; these verbs only follow the pronoun.
_ILL_VERBS = words(
    "bring drop be let ring call send keep try see get pick take update text email phone "
    "explain have make give sort check pop come speak talk message collect"
)


class _Uncombined(dict[int, int | None]):
    """A `str.translate` table that drops combining marks, filled as characters are met:
    one lookup in C per character instead of a Python call."""

    def __missing__(self, point: int) -> int | None:
        kept = None if unicodedata.combining(chr(point)) else point
        self[point] = kept
        return kept


_UNCOMBINED = _Uncombined()


def fold(text: str) -> str:
    """Lowercase, straighten quotes and strip accents, keeping non-Latin scripts intact."""
    text = text.translate(_QUOTES).casefold()
    if text.isascii():
        return text
    return unicodedata.normalize("NFKD", text).translate(_UNCOMBINED)


@dataclass(frozen=True, slots=True)
class Normalised:
    text: str  # tokens joined by single spaces
    tokens: tuple[str, ...]
    offsets: tuple[int, ...]  # char offset of each token in `text`
    sentence: tuple[int, ...]  # sentence number of each token
    clause: tuple[int, ...]  # clause number of each token
    fuzzy: frozenset[int]  # indices of tokens changed by fuzzy correction


# In a reply in another language, text-speak this short is a word of that language ("mon
# mari", "w czwartek", "n vai", "bac si"), not an English abbreviation.
_SHORT_TEXTSPEAK = 3


@lru_cache(maxsize=16384)
def _expand(word: str, short: bool = True) -> tuple[str, ...]:
    mapped = TEXTSPEAK.get(word)
    if mapped is not None and (short or len(word) > _SHORT_TEXTSPEAK):
        return tuple(mapped.split())
    if "'" in word:
        if word in _NT:
            return tuple(_NT[word].split())
        for suffix, repl in _SUFFIXES:
            if word.endswith(suffix) and len(word) > len(suffix):
                return (*_expand(word[: -len(suffix)]), *repl.split())
        return (word.replace("'", ""),)
    m = _DIGIT_WORD.match(word)
    if m and not _ORDINAL.match(word) and m.group(2) not in ("am", "pm"):
        return (m.group(1), *_expand(m.group(2)))
    return (word,)


def emoji_words(text: str) -> str:
    """The emoji that carry a reason, as words ("🤒" is "feverish")."""
    return _EMOJI_RE.sub(lambda m: _EMOJI_WORDS[m.group(0)], text)


_SHORT_WORDS = re.compile(
    r"(?<![\w'])(?:"
    + "|".join(
        sorted(
            (re.escape(w) for w in TEXTSPEAK if len(w) <= _SHORT_TEXTSPEAK), key=len, reverse=True
        )
    )
    + r")(?![\w'])"
)


def has_short_textspeak(raw: str) -> bool:
    """Whether `tokenise(raw, english=False)` can differ from `tokenise(raw)`."""
    return _SHORT_WORDS.search(fold(raw[:MAX_CHARS])) is not None


def tokenise(raw: str, english: bool = True) -> list[str]:
    """Words, numbers and punctuation, folded, with text-speak spelt out (only the longer
    abbreviations where the reply is not in English)."""
    text = emoji_words(raw[:MAX_CHARS])
    text = _XRAY.sub("xray", fold(text))
    out: list[str] = []
    for tok in _TOKEN_RE.findall(text):
        if tok == "\n":
            if out and out[-1] not in PUNCT:
                out.append(".")
            continue
        if tok in PUNCT:
            out.append(tok)
            continue
        out.extend(_expand(tok, english))
        if len(out) >= MAX_TOKENS:
            break
    # "ill" at the start of a clause before a verb is an apostrophe-less "I'll".
    for i, tok in enumerate(out):
        if tok == "ill" and i + 1 < len(out) and out[i + 1] in _ILL_VERBS:
            out[i] = "i will"
    return " ".join(out).split()[:MAX_TOKENS]


# Words that end a clause: negation and time references do not reach across them.
CLAUSE_BREAKS = words(
    ", but however although though whereas because as since so and then just also plus while"
)


# What each token does to the sentence and clause counts: (new sentence, new clause).
_BREAK_OF = {**{t: (0, 1) for t in CLAUSE_BREAKS | PUNCT}, **{t: (1, 1) for t in SENTENCE_END}}


def build(tokens: list[str], fuzzy: frozenset[int] = frozenset()) -> Normalised:
    offsets = [0, *accumulate(len(tok) + 1 for tok in tokens)][:-1] if tokens else []
    sentence: list[int] = []
    clause: list[int] = []
    s = c = 0
    breaks = _BREAK_OF.get
    for tok in tokens:
        sentence.append(s)
        step = breaks(tok)
        if step is not None:
            s += step[0]
            c += step[1]
        clause.append(c)
    return Normalised(
        text=" ".join(tokens),
        tokens=tuple(tokens),
        offsets=tuple(offsets),
        sentence=tuple(sentence),
        clause=tuple(clause),
        fuzzy=fuzzy,
    )
