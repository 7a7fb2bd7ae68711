"""What a helper-written lexicon file would add to the concept lexicon, checked before it
joins: each variant against the shipped lexicon, and against the corpus it would be read
over.

    python benchmarks/lexicon.py NEW.json... [--deny VARIANT...] [--write rules/replies/lexicon/lex-N.json]
    python benchmarks/lexicon.py --collisions
    python benchmarks/lexicon.py --disagree

A variant is dropped when the lexicon already has it (under its own concept: a repeat;
under another: a clash), when two new concepts share it, when it is a Latin word of three
letters or fewer in another language or a stem under four letters, when a single word of
another language is in three or more English replies of the corpus, or when it is named
with `--deny`.  What is left is listed where the corpus shows it mostly beside another
reason than its concept's (a death word mostly in replies that are not `C`) or mostly in
another language's replies: a person reads that list, and denies what has another sense
("daća" folds to Romanian "daca", if), keeping a cognate of the same sense ("médecin").

`--collisions` reads the shipped lexicon instead: each word or stem of a sign of risk that
the corpus finds mostly in innocent replies in other languages than its own (Turkmen
"uruş*", war, in Indonesian "urusan", affairs; English "od", overdose, in Polish "od",
since).  Such a word teaches the model that its concept means little, and raises false
alarms in the language it collides with; a person reads the list and takes out what has
another sense there, keeping a cognate of the same sense (Romanian "panic*").
"""

from __future__ import annotations

import argparse
import json
import sys
from bisect import bisect_left
from collections import Counter, defaultdict
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rules.replies import lexicon
from rules.replies.corpus import CORPUS_DIR, Reply, load, training_files

ENGLISH_HITS = 3  # English replies a word of another language may be found in
MIN_HITS = 4  # replies a variant must be found in before its agreement is judged
AGREEMENT = 0.4  # share of its replies under which a variant is listed
COLLISIONS = 3  # innocent replies in other languages a risk word is listed from...
COLLISION_SHARE = 2  # ...where they are at least this many times its risky ones there
DISAGREE_HITS = 8  # replies a reason word must be found in before --disagree judges it
# The concepts that are a sign of risk, or raise the alarm beside one.
RISK = frozenset(
    lexicon.FREE_ORDER
    | {"war", "engaged", "ceremony", "leaving", "abroad", "bullying", "mental", "court"}
)


def _code(*codes: str) -> Callable[[Reply], bool]:
    return lambda r: bool(set(r.codes) & set(codes))


# The concepts whose replies have a code or a label to agree with.
AGREES: dict[str, Callable[[Reply], bool]] = {
    "death": _code("C"),
    "funeral": _code("C"),
    **dict.fromkeys(("ill", "pain", "fever", "vomit", "injury"), _code("I")),
    "snow_flood": _code("Y2"),
    "disruption": _code("Y2"),
    "taxi": _code("Y1"),
    "permission": lambda r: r.intent == "leave_request" or r.leave is not None,
    "unsure": lambda r: r.return_date is None,
}


class Corpus:
    """The corpus's replies, indexed by their lexicon tokens."""

    def __init__(self, replies: list[Reply]) -> None:
        self.replies = replies
        self.tokens = [lexicon.tokens(r.text) for r in replies]
        self.unspaced = [i for i, r in enumerate(replies) if lexicon._UNSPACED.search(r.text)]
        self.by_token: dict[str, set[int]] = defaultdict(set)
        for i, toks in enumerate(self.tokens):
            for t in toks:
                self.by_token[t].add(i)
        self.sorted_tokens = sorted(self.by_token)
        self.english = Counter(
            t
            for r, toks in zip(replies, self.tokens, strict=True)
            if r.language == "en"
            for t in set(toks)
        )

    def hits(self, concept: str, variant: str) -> list[int]:
        """The replies the lexicon finds the variant in: the index narrows them to those
        with its first word, and the lexicon's own matcher decides."""
        one = lexicon.build([(concept, variant)])
        return [
            i
            for i in self._candidates(variant)
            if one.concepts(self.tokens[i], self.replies[i].text)
        ]

    def _candidates(self, variant: str) -> list[int]:
        raw = variant.strip()
        if lexicon._UNSPACED.search(raw):
            return self.unspaced
        parts = lexicon.tokens(raw.rstrip("*"))
        if not parts:
            return []
        if raw.endswith("*") and len(parts) == 1:
            return sorted(self.with_prefix(parts[0]))
        return sorted(self.by_token.get(parts[0], ()))

    def with_prefix(self, prefix: str) -> set[int]:
        """The replies with a token that starts with `prefix`."""
        start = bisect_left(self.sorted_tokens, prefix)
        end = bisect_left(self.sorted_tokens, prefix + "\U0010ffff")
        return {i for t in self.sorted_tokens[start:end] for i in self.by_token[t]}

    def in_english(self, variant: str) -> int:
        parts = lexicon.tokens(variant.rstrip("*"))
        if len(parts) != 1:
            return 0
        if variant.endswith("*"):
            return sum(n for t, n in self.english.items() if t.startswith(parts[0]))
        return self.english[parts[0]]


def _variants(paths: list[Path]) -> list[tuple[str, str, str]]:
    out = []
    for path in paths:
        try:
            out += [(c, lang, v.strip()) for c, lang, v in lexicon.read_variants(path) if v.strip()]
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise SystemExit(
                f'{path}: not a lexicon file ({{"concepts": {{concept: {{language: '
                f"[variant, ...]}}}}}}): {exc!r}"
            ) from None
    return out


def check(
    new: list[tuple[str, str, str]], corpus: Corpus, deny: set[str]
) -> tuple[dict[str, dict[str, list[str]]], Counter[str], list[str]]:
    """The variants kept (concept -> language -> variants), why the others were dropped,
    and the kept ones a person should read."""
    known: dict[str, set[str]] = defaultdict(set)
    for concept, _language, variant in lexicon.shipped_variants():
        known[lexicon.fold(variant.strip())].add(concept)
    owners: dict[str, set[str]] = defaultdict(set)
    for concept, _language, variant in new:
        owners[lexicon.fold(variant.rstrip("*"))].add(concept)
    kept: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    dropped: Counter[str] = Counter()
    listed: list[str] = []
    for concept, language, variant in new:
        key = lexicon.fold(variant)
        stem = lexicon.fold(variant.rstrip("*"))
        reason = None
        if variant in deny:
            reason = "denied"
        elif key in known:
            reason = "repeat" if concept in known[key] else "clash with another concept"
        elif len(owners[stem]) > 1:
            reason = "two new concepts"
        elif language != "en" and lexicon._too_short(variant):
            reason = "three letters or fewer"
        elif variant.endswith("*") and len(stem) < lexicon.MIN_STEM:
            reason = "stem under four letters"
        elif language != "en" and corpus.in_english(variant) >= ENGLISH_HITS:
            reason = "in English replies"
        if reason:
            dropped[reason] += 1
            continue
        known[key].add(concept)
        kept[concept][language].append(variant)
        hits = corpus.hits(concept, variant)
        if len(hits) < MIN_HITS:
            continue
        replies = [corpus.replies[i] for i in hits]
        own = sum(r.language == language for r in replies) / len(replies)
        agrees = AGREES.get(concept)
        share = sum(agrees(r) for r in replies) / len(replies) if agrees else 1.0
        if own < AGREEMENT or share < AGREEMENT:
            languages = Counter(r.language for r in replies).most_common(3)
            listed.append(
                f"{concept}\t{language}\t{variant}\t{len(hits)} replies, "
                f"{own:.0%} in {language}, {share:.0%} agree\t{dict(languages)}"
            )
    return kept, dropped, listed


def _single_words(concepts: AbstractSet[str]) -> dict[tuple[str, str, bool], set[str]]:
    """The shipped lexicon's single words and stems of these concepts, as (concept, word,
    is a stem) -> the languages that have it; the variants the lexicon never reads are left
    out (short Latin words, short stems, unspaced scripts)."""
    languages: dict[tuple[str, str, bool], set[str]] = defaultdict(set)
    for concept, language, variant in lexicon.shipped_variants():
        raw = variant.strip()
        if concept not in concepts or lexicon._UNSPACED.search(raw):
            continue
        if language != "en" and lexicon._too_short(raw):
            continue  # never read (lexicon._entries)
        parts = lexicon.tokens(raw.rstrip("*"))
        if len(parts) == 1 and not (raw.endswith("*") and len(parts[0]) < lexicon.MIN_STEM):
            languages[concept, parts[0], raw.endswith("*")].add(language)
    return languages


def _found(corpus: Corpus, word: str, stem: bool) -> set[int]:
    return corpus.with_prefix(word) if stem else corpus.by_token.get(word, set())


def collisions(corpus: Corpus) -> list[tuple[int, str]]:
    """The shipped lexicon's single words and stems of risk concepts found mostly in
    innocent replies in other languages, as (those replies, a line to read), most first."""
    out = []
    for (concept, word, stem), own in _single_words(RISK).items():
        ids = _found(corpus, word, stem)
        elsewhere = [corpus.replies[i] for i in ids if corpus.replies[i].language not in own]
        innocent = sum(not r.safeguarding for r in elsewhere)
        risky = len(elsewhere) - innocent
        if innocent >= COLLISIONS and innocent >= COLLISION_SHARE * risky:
            seen = Counter(r.language for r in elsewhere if not r.safeguarding).most_common(3)
            line = (
                f"{concept}\t{'/'.join(sorted(own))}\t{word}{'*' if stem else ''}\t"
                f"{innocent} innocent and {risky} risky replies elsewhere\t{dict(seen)}"
            )
            out.append((innocent, line))
    return sorted(out, reverse=True)


def disagreements(corpus: Corpus) -> list[tuple[int, str]]:
    """The shipped lexicon's single words and stems of the concepts that have a code to
    agree with (`AGREES`: a death word and C) found in at least DISAGREE_HITS replies, few
    of which agree: a word that folds to an everyday one (Turkish "öldü", died, folds to
    "oldu", became, as in "kötü oldu", got ill).  Most first."""
    out = []
    for (concept, word, stem), own in _single_words(AGREES.keys()).items():
        replies = [corpus.replies[i] for i in _found(corpus, word, stem)]
        if len(replies) < DISAGREE_HITS:
            continue
        agree = sum(AGREES[concept](r) for r in replies)
        if agree < AGREEMENT * len(replies):
            seen = Counter(r.language for r in replies).most_common(3)
            line = (
                f"{concept}\t{'/'.join(sorted(own))}\t{word}{'*' if stem else ''}\t"
                f"{len(replies)} replies, {agree} agree\t{dict(seen)}"
            )
            out.append((len(replies) - agree, line))
    return sorted(out, reverse=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="*", type=Path, help="helper-written lexicon files")
    parser.add_argument(
        "--collisions",
        action="store_true",
        help="list the shipped risk words found mostly in innocent replies in other languages",
    )
    parser.add_argument(
        "--disagree",
        action="store_true",
        help="list the shipped reason words found mostly in replies with another code",
    )
    parser.add_argument("--deny", nargs="*", default=[], help="variants to leave out")
    parser.add_argument("--write", type=Path, help="write the kept variants to this file")
    args = parser.parse_args(argv)
    corpus = Corpus(load(training_files(CORPUS_DIR)).replies)
    if args.collisions:
        found = collisions(corpus)
        print(f"{len(found)} risk words found mostly in innocent replies in other languages:")
        print("\n".join(f"  {line}" for _n, line in found))
        return 0
    if args.disagree:
        found = disagreements(corpus)
        print(f"{len(found)} reason words found mostly in replies with another code:")
        print("\n".join(f"  {line}" for _n, line in found))
        return 0
    if not args.files:
        parser.error("name the lexicon files to check, or --collisions or --disagree")
    new = _variants(args.files)
    kept, dropped, listed = check(new, corpus, set(args.deny))
    total = sum(len(v) for langs in kept.values() for v in langs.values())
    print(f"kept {total}; dropped {sum(dropped.values())}: {dict(dropped)}")
    if listed:
        print(f"\nfound mostly beside another reason or in another language ({len(listed)}):")
        print("\n".join(f"  {line}" for line in listed))
    if args.write:
        data = {"concepts": {c: dict(langs) for c, langs in kept.items()}}
        text = json.dumps(data, ensure_ascii=False, indent=1)
        args.write.write_text(text + "\n", encoding="utf-8")
        print(f"\nwrote {args.write}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
