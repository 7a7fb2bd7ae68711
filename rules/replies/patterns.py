"""A tiny phrase language compiled to anchored regexes, and a token-indexed matcher.

Vocabulary is written as readable phrases ("lost {POSS} voice", "refus*", "[really] bad
cold") instead of raw regexes.  Each phrase is indexed by its first word, so a reply is
scanned once token by token and only the phrases that can start at a token are tried:
that is what keeps a parse well under a millisecond with thousands of phrases.

Phrase syntax, tokens separated by spaces:
  word        exact token            word*   token starting with "word"
  a|b*|c      any of the alternatives
  [spec]      optional token         _       any one word       _3   zero to three words
  #           a number
  {NAME}      macro, expanded from the table given to `compile_phrases`
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from .normalise import Normalised, fold

_WORD = r"[^ ]"
_ANY = r"[^ .,!?;:][^ ]*"
_NUM = r"\d[^ ]*"


@dataclass(frozen=True, slots=True)
class Cue:
    kind: str
    weight: int
    phrase: str
    regex: re.Pattern[str]
    # Exact words the second token must be, when known: a set lookup that saves most of
    # the regex calls for phrases starting with common words ("i", "not", "my").
    second: frozenset[str] | None = None
    # The most tokens a match can cover: a match from token i never sees token i + span.
    span: int = 1


@dataclass(frozen=True, slots=True)
class Hit:
    kind: str
    weight: int
    start: int  # first token index
    end: int  # one past the last token index
    phrase: str

    def following(self, norm: Normalised, skip: int = 0) -> str:
        """The token just after the phrase, or `skip` tokens further ("" past the end)."""
        at = self.end + skip
        return norm.tokens[at] if at < len(norm.tokens) else ""


def _alt_regex(alt: str) -> str:
    if alt == "_":
        return _ANY
    if alt == "#":
        return _NUM
    if alt.endswith("*"):
        return re.escape(fold(alt[:-1])) + _WORD + "*"
    return re.escape(fold(alt))


def _expand_macros(phrase: str, macros: Mapping[str, str]) -> str:
    if "{" not in phrase:
        return phrase
    for name, value in macros.items():
        phrase = phrase.replace("{" + name + "}", value)
    return phrase


def _second(phrase: str) -> frozenset[str] | None:
    specs = phrase.split()
    if len(specs) < 2 or specs[1].startswith(("[", "_", "#")):
        return None
    alts = specs[1].split("|")
    if any(a.endswith("*") or a in ("_", "#") for a in alts):
        return None
    return frozenset(fold(a) for a in alts)


def _span(phrase: str) -> int:
    return sum(int(spec[1]) if re.fullmatch(r"_\d", spec) else 1 for spec in phrase.split())


def _compile(phrase: str) -> tuple[re.Pattern[str], list[str]]:
    specs = phrase.split()
    if not specs or specs[0].startswith(("[", "_")):
        raise ValueError(f"phrase must start with a required word: {phrase!r}")
    parts: list[str] = []
    for i, spec in enumerate(specs):
        if re.fullmatch(r"_\d", spec):
            parts.append(f"(?: {_ANY}){{0,{spec[1]}}}")
            continue
        optional = spec.startswith("[") and spec.endswith("]")
        body = spec[1:-1] if optional else spec
        alt = "(?:" + "|".join(_alt_regex(a) for a in body.split("|")) + ")"
        if i == 0:
            parts.append(alt)
        elif optional:
            parts.append(f"(?: {alt})?")
        else:
            parts.append(" " + alt)
    regex = re.compile("".join(parts) + r"(?= |$)")
    return regex, specs[0].split("|")


class Matcher:
    """All phrases of every kind, indexed by the first token they can start with."""

    def __init__(
        self,
        tables: Iterable[tuple[str, int, Iterable[str]]],
        macros: Mapping[str, str] | None = None,
    ) -> None:
        self._exact: dict[str, list[Cue]] = {}
        self._prefix: dict[str, list[tuple[str, Cue]]] = {}
        self.literals: set[str] = set()
        self._cache: dict[str, tuple[Cue, ...]] = {}
        macros = macros or {}
        seen: set[tuple[str, str]] = set()
        for kind, weight, phrases in tables:
            for raw in phrases:
                phrase = _expand_macros(raw.strip(), macros)
                if not phrase or (kind, phrase) in seen:
                    continue
                seen.add((kind, phrase))
                regex, firsts = _compile(phrase)
                cue = Cue(kind, weight, raw.strip(), regex, _second(phrase), _span(phrase))
                for first in firsts:
                    if first.endswith("*"):
                        stem = fold(first[:-1])
                        self._prefix.setdefault(stem[:2], []).append((stem, cue))
                    else:
                        self._exact.setdefault(fold(first), []).append(cue)
                for spec in phrase.split():
                    for alt in spec.strip("[]").split("|"):
                        if alt and not alt.endswith("*") and alt[0] not in "_#":
                            self.literals.add(fold(alt))

    def _candidates(self, tok: str) -> tuple[Cue, ...]:
        found = self._cache.get(tok)
        if found is None:
            tried = list(self._exact.get(tok, ()))
            tried.extend(cue for stem, cue in self._prefix.get(tok[:2], ()) if tok.startswith(stem))
            found = tuple(tried)
            if len(self._cache) > 50_000:  # bound memory on adversarial input
                self._cache.clear()
            self._cache[tok] = found
        return found

    def find(self, norm: Normalised, reaching: Sequence[int] = ()) -> list[Hit]:
        """Every cue in the reply; with `reaching` (sorted token indices), only the matches
        that could reach one of those tokens (the rest are the same as without them)."""
        text, offsets, tokens = norm.text, norm.offsets, norm.tokens
        last = len(tokens) - 1
        hits: list[Hit] = []
        for i, tok in enumerate(tokens):
            tried = self._candidates(tok)
            if not tried:
                continue
            reach = -1  # how far the nearest token to reach is: no limit without any
            if reaching:
                k = bisect_left(reaching, i)
                if k == len(reaching):
                    break
                reach = reaching[k] - i
            pos = offsets[i]
            nxt = tokens[i + 1] if i < last else ""
            for cue in tried:
                if cue.span <= reach or (cue.second is not None and nxt not in cue.second):
                    continue
                m = cue.regex.match(text, pos)
                if m:
                    end = bisect_left(offsets, m.end())
                    hits.append(Hit(cue.kind, cue.weight, i, max(end, i + 1), cue.phrase))
        return hits
