"""Each child's own reason, where one reply speaks for several children in its own words.

The rules split a reply between siblings where they read the reasons (English, mostly).
Elsewhere ("Gabija siandien turi dentist 11:15, o Lukas kosti ir 38.4 temperatura") this
finds where each child is named, in any script and with the endings other languages put
on names ("Lukui", "Elzai", "Bencének", "Софія" for Sofiia), and cuts the reply into one
stretch per child: from a child's name to the next child's.  The learned model then reads
each stretch on its own (combine.py).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from functools import lru_cache

from anyascii import anyascii
from rapidfuzz.distance import JaroWinkler

from .normalise import WORD_CHAR
from .vocabulary import is_known

# Scripts written without spaces between words: a name in Latin letters runs straight
# into them ("Yiyi今天上午在Alder Hey", "Leo没人送"), so a run of them is a token of its own.
_UNSPACED = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u0e00-\u0e7f"
# Words with their combining marks (the parser's own word characters), and the zero-width
# joiners some keyboards put inside Telugu or Persian names.
_TOKEN = re.compile(f"[{_UNSPACED}]+|(?:(?![{_UNSPACED}]){WORD_CHAR}|[\u200c\u200d])+")
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")
# Words that join two names into one mention ("Amal and Yusuf", "Elza un Roberts",
# "Bianca și Ioana"), as folded; "&" and commas fold to nothing and join too.
_JOINERS = frozenset(
    ["and", "n", "i", "y", "e", "et", "und", "en", "es", "a", "ve", "va", "ja", "og", "och"]
    + ["u", "un", "ir", "si", "ar", "ac", "dhe", "ta", "le"]
)
# A stretch with fewer words than this after the name says nothing of its own ("Amal,"
# before "Yusuf").
MIN_WORDS = 2


@lru_cache(maxsize=4096)
def fold(word: str) -> str:
    """A word in plain lower-case Latin letters, whatever its script ("Софія": sofiya)."""
    return re.sub(r"[^a-z]", "", anyascii(word).lower())


@lru_cache(maxsize=4096)
def _skeleton(folded: str) -> str:
    """Consonants only, as scripts without written vowels spell a name ("hmzh": Hamza)."""
    return re.sub(r"[aeiouyhw]", "", folded.replace("j", "z"))


def _key(name: str) -> str:
    first = _TOKEN.findall(name)
    return fold(first[0]) if first else ""


@lru_cache(maxsize=16384)
def names_child(token: str, key: str) -> bool:
    """Whether `token`, as written in the reply, is the child whose folded first name is
    `key`: the name itself, with an ending, a short form, or in another script."""
    if len(key) < 2:
        return False
    word = fold(token)
    if len(word) < 2:
        return False
    if word == key:
        return True
    latin = bool(_LATIN.match(token))
    capital = token[:1].isupper()
    if latin:
        if len(word) > len(key) + 5:
            return False
        if word.startswith(key) and (len(key) >= 4 or capital):
            return True  # "Elzai", "Robertam", "poppys"
        if is_known(word):
            return False  # "Poorly" beside Poppy: a word, capitalised to start a sentence
        if capital and len(word) >= 3 and key.startswith(word):
            return True  # the short form: "Isa" (Isabela), "Ayo" (Ayomide), "Santi"
        prefix = len(os.path.commonprefix([word, key]))
        if capital and (prefix >= 4 or (prefix >= 3 and prefix >= 0.6 * len(key))):
            return True  # "Lukui" (Lukas), "Ondra" (Ondřej), "Arbri" (Arbër)
        return capital and len(key) >= 4 and JaroWinkler.similarity(word, key) >= 0.9
    # Another script: the transliteration's consonants, or the transliteration itself.
    a, b = _skeleton(word), _skeleton(key)
    if len(b) >= 2 and len(a) >= 2 and (a.startswith(b) or b.startswith(a)):
        return True
    return JaroWinkler.similarity(word, key) >= 0.88


def stretches(text: str, children: Sequence[str]) -> dict[int, str]:
    """Each child's own stretch of the reply, by the child's place in `children`.

    A stretch runs from the child's name to the next name of another child, after what
    the reply says before any name.  Names joined by "and" make one mention of them all,
    which is nobody's own.  Empty unless at least two children are named apart, each with
    something said of them."""
    if len(children) < 2:
        return {}
    keys = [_key(c) for c in children]
    found: list[tuple[int, int, set[int]]] = []  # (start, end, children) per mention
    for m in _TOKEN.finditer(text):
        who = {k for k, key in enumerate(keys) if names_child(m.group(), key)}
        if not who:
            continue
        if found:
            start, end, prev = found[-1]
            gap = text[end : m.start()].split()
            if (
                who == prev
                or len(gap) <= 1
                and all(fold(g) in _JOINERS or not fold(g) for g in gap)
            ):
                found[-1] = (start, m.end(), prev | who)
                continue
        found.append((m.start(), m.end(), who))
    # Said of one child alone: a stretch naming several ("Amal and Yusuf stay home") is the
    # reply's own reading of them all.
    alone = [(i, next(iter(who))) for i, (_s, _e, who) in enumerate(found) if len(who) == 1]
    if len({k for _i, k in alone}) < 2:
        return {}
    # What comes before the first name ("No electric since Saturday, ...") is said of all.
    preface = text[: found[0][0]]
    out: dict[int, list[str]] = {}
    for i, k in alone:
        stop = found[i + 1][0] if i + 1 < len(found) else len(text)
        piece = text[found[i][0] : stop]
        if len(_TOKEN.findall(piece)) >= MIN_WORDS + 1:
            out.setdefault(k, [preface]).append(piece)
    if len(out) < 2:
        return {}
    return {k: " ".join(pieces).strip() for k, pieces in out.items()}
