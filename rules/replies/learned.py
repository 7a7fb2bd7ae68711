"""The learned half of the reply parser: linear models over word and character n-grams.

Trained by `make model` (rules/replies/training.py, scikit-learn) and shipped as plain
arrays (`trained/model.npz`, loaded without pickle) plus `trained/model.json` (vocabulary,
class names, thresholds and the hash of what it was trained from).  Scoring here is numpy
and dicts only: the feature function below is the very one the trainer fits on, so a reply
is scored exactly as scikit-learn would, in a fraction of a millisecond.

Each head is a linear model over the same features: the TF-IDF of the reply's words, word
pairs and character 2-5-grams within words (which survive misspellings, text-speak and
other scripts), plus what the rule engine read (its intent, code, safeguarding cue...), so
the model learns when the exact rules can be trusted and when they miss.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import unicodedata
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from .lexicon import concept_features
from .lexicon import files as lexicon_files
from .model import ParsedReply
from .normalise import WORD_MARKS, emoji_words

MODEL_DIR = Path(__file__).resolve().parent / "trained"
WEIGHTS_FILE = "model.npz"
META_FILE = "model.json"
CHAR_SIZES = (2, 3, 4, 5)
MAX_CHARS = 2000
# Words as the rules and the lexicon cut them: an Indic vowel sign is inside its word.
_WORD = re.compile(rf"[\w{WORD_MARKS}]+|&")
# A concept ("k:fever") counts as if the reply said it this often: with sublinear TF that is
# 1 + ln 8, three times the weight of an n-gram seen once.  A concept is shared by every
# language, so what thousands of English replies teach reaches the few dozen in Tigrinya.
# Code accuracy cross-validated by voice, replies in other languages / dev.jsonl: no
# concepts 0.65 / -, weight 1 0.68 / 0.98, this weight 0.73 / 0.95, 20 0.74 / 0.95.
CONCEPT_REPEAT = 8
_APOSTROPHES = re.compile(r"['\u2019\u2018`]")
# The one "rule feature" of a child's own stretch of a reply (siblings.stretches), read
# apart from the rest: the model learns such stretches from the corpus's per-child codes,
# and they are scored with this in place of the rules' reading.
PIECE_FEATURES = ("piece",)


def clean(text: str) -> str:
    """Lowercase, compatibility-folded, apostrophes dropped ("she's" = "shes"), and the
    emoji that carry a reason as words, as the rules read them."""
    text = unicodedata.normalize("NFKC", emoji_words(text[:MAX_CHARS])).lower()
    return _APOSTROPHES.sub("", text)


def _char_grams(word: str) -> list[str]:
    padded = f" {word} "
    size = len(padded)
    return [padded[i : i + n] for n in CHAR_SIZES for i in range(size - n + 1)]


def text_features(text: str) -> list[str]:
    """Every n-gram of a reply: words ("w:"), word pairs ("b:") and characters in words."""
    toks = _WORD.findall(clean(text))
    out = [f"w:{t}" for t in toks]
    out += [f"b:{a} {b}" for a, b in zip(toks, toks[1:], strict=False)]
    for t in toks:
        out += _char_grams(t)
    return out + concept_features(text) * CONCEPT_REPEAT


def rule_features(rule: ParsedReply, child_authored: bool) -> list[str]:
    """What the rule engine read, as features the model weighs against the text."""
    out = [f"intent={rule.intent}", f"code={rule.code}", f"lang={rule.language}"]
    if rule.safeguarding:
        out.append("sg")
        out += [f"sg={i}" for i in rule.indicators]
    if rule.leave is not None:
        out.append("leave")
    if rule.per_child:
        out.append("per_child")
    if rule.return_date is not None:
        out.append("return")
    if child_authored:
        out.append("child")
    out.append("sure" if rule.confidence >= 0.75 else "unsure")
    return out


def corpus_hash(files: Iterable[Path]) -> str:
    """SHA-256 of the corpus files' bytes and of what turns them into a model: the parser's
    own modules (what the rules read is part of what the model learns from) and the concept
    lexicon."""
    digest = hashlib.sha256()
    # combine.py and siblings.py are not among them: they read the model's output and are
    # not trained on.
    after = ("combine.py", "siblings.py")
    code = sorted(p for p in Path(__file__).resolve().parent.glob("*.py") if p.name not in after)
    for path in [*sorted(files), *code, *lexicon_files()]:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class Head:
    name: str
    classes: tuple[str, ...]
    start: int  # first column of this head in the weight matrix
    binary: bool

    @property
    def stop(self) -> int:
        return self.start + (1 if self.binary else len(self.classes))


@dataclass(frozen=True, slots=True)
class Scores:
    """Class probabilities for each head."""

    heads: dict[str, dict[str, float]]
    concepts: frozenset[str] = frozenset()  # the lexicon's concepts in the reply

    def best(self, head: str, allowed: Sequence[str] | None = None) -> tuple[str, float]:
        probs = self.heads[head]
        pool = {k: v for k, v in probs.items() if allowed is None or k in allowed} or probs
        label = max(pool, key=pool.__getitem__)
        return label, probs[label]

    def p(self, head: str, label: str = "yes") -> float:
        return self.heads.get(head, {}).get(label, 0.0)


class Learned:
    """A trained model: vocabulary, idf, one weight matrix for all heads, thresholds."""

    def __init__(
        self,
        vocabulary: Sequence[str],
        idf: np.ndarray,
        rule_vocabulary: Sequence[str],
        weights: np.ndarray,
        bias: np.ndarray,
        heads: Sequence[Head],
        thresholds: dict[str, float],
        trained_on: str = "",
        languages: Collection[str] = (),
    ) -> None:
        self.index = {g: i for i, g in enumerate(vocabulary)}
        self.idf = idf.astype(np.float64)
        self.rule_index = {g: i for i, g in enumerate(rule_vocabulary)}
        n_text = len(vocabulary)
        # float64 throughout: mixing types makes numpy copy on every reply.
        self.text_weights = np.ascontiguousarray(weights[:n_text], dtype=np.float64)
        self.rule_weights = np.ascontiguousarray(weights[n_text:], dtype=np.float64)
        self.bias = bias.astype(np.float64)
        self.heads = {h.name: h for h in heads}
        self.thresholds = dict(thresholds)
        self.trained_on = trained_on
        # The languages the model was taught enough of to read without a person (training
        # READ_MIN): another language passes without review only among these.
        self.languages = frozenset(languages)
        self._words: dict[str, np.ndarray] = {}

    # -- scoring ---------------------------------------------------------------------

    def _word_grams(self, word: str) -> np.ndarray:
        """Vocabulary indices of a word's own n-grams, cached as an array: replies repeat
        words, and joining arrays costs less than turning hundreds of ints into one."""
        known = self._words.get(word)
        if known is None:
            index = self.index
            grams = [f"w:{word}", *_char_grams(word)]
            known = np.array([index[g] for g in grams if g in index], dtype=np.int64)
            if len(self._words) > 100_000:
                self._words.clear()
            self._words[word] = known
        return known

    def scores(self, text: str, rule_feats: Sequence[str]) -> Scores:
        toks = _WORD.findall(clean(text))
        index = self.index
        pairs = map(index.get, [f"b:{a} {b}" for a, b in zip(toks, toks[1:], strict=False)])
        more = [i for i in pairs if i is not None]
        concepts = concept_features(text)
        more += [i for i in map(index.get, concepts) if i is not None] * CONCEPT_REPEAT
        ids = np.concatenate([*map(self._word_grams, toks), np.array(more, dtype=np.int64)])
        z = self.bias.copy()
        if len(ids):
            # Counting by sorting: np.unique does the same with more overhead per call.
            ids.sort()
            first = np.empty(len(ids), dtype=bool)
            first[0] = True
            np.not_equal(ids[1:], ids[:-1], out=first[1:])
            idx = ids[first]
            starts = np.flatnonzero(first)
            tf = np.empty(len(starts), dtype=np.float64)
            tf[:-1] = starts[1:] - starts[:-1]
            tf[-1] = len(ids) - starts[-1]
            values = (1.0 + np.log(tf)) * self.idf[idx]
            values /= math.sqrt(float(values @ values))
            z += values @ self.text_weights[idx]
        rule_idx = [self.rule_index[f] for f in rule_feats if f in self.rule_index]
        if rule_idx:
            z += self.rule_weights[rule_idx].sum(axis=0)
        logits = z.tolist()
        out: dict[str, dict[str, float]] = {}
        for head in self.heads.values():
            part = logits[head.start : head.stop]
            if head.binary:
                p = 1.0 / (1.0 + math.exp(-part[0]))
                out[head.name] = {"yes": p, "no": 1.0 - p}
            else:
                top = max(part)
                e = [math.exp(v - top) for v in part]
                total = sum(e)
                out[head.name] = {c: v / total for c, v in zip(head.classes, e, strict=True)}
        return Scores(out, frozenset(c.removeprefix("k:") for c in concepts))

    # -- files -----------------------------------------------------------------------

    def save(self, directory: Path, meta_extra: dict[str, object]) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        vocabulary = sorted(self.index, key=self.index.__getitem__)
        weights = np.vstack([self.text_weights, self.rule_weights]).astype(np.float16)
        np.savez_compressed(
            directory / WEIGHTS_FILE,
            idf=self.idf.astype(np.float32),
            weights=weights,
            bias=self.bias.astype(np.float32),
        )
        meta = {
            "trained_on": self.trained_on,
            "heads": [
                {"name": h.name, "classes": list(h.classes), "start": h.start, "binary": h.binary}
                for h in self.heads.values()
            ],
            "thresholds": self.thresholds,
            "languages": sorted(self.languages),
            "rule_vocabulary": sorted(self.rule_index, key=self.rule_index.__getitem__),
            **meta_extra,
            "vocabulary": vocabulary,
        }
        (directory / META_FILE).write_text(
            json.dumps(meta, ensure_ascii=False, indent=0) + "\n", encoding="utf-8"
        )

    @classmethod
    def load(cls, directory: Path = MODEL_DIR) -> Learned:
        meta = json.loads((directory / META_FILE).read_text(encoding="utf-8"))
        with np.load(directory / WEIGHTS_FILE, allow_pickle=False) as arrays:
            idf, weights, bias = arrays["idf"], arrays["weights"], arrays["bias"]
        heads = [
            Head(h["name"], tuple(h["classes"]), int(h["start"]), bool(h["binary"]))
            for h in meta["heads"]
        ]
        return cls(
            meta["vocabulary"],
            idf,
            meta["rule_vocabulary"],
            weights,
            bias,
            heads,
            meta["thresholds"],
            meta.get("trained_on", ""),
            meta.get("languages", ()),
        )


def shipped_meta(directory: Path = MODEL_DIR) -> dict[str, object]:
    """The shipped model's description, without its vocabulary."""
    meta = json.loads((directory / META_FILE).read_text(encoding="utf-8"))
    meta.pop("vocabulary", None)
    return meta


@lru_cache(maxsize=1)
def shipped() -> Learned | None:
    """The model in the repository, loaded once per process (None before the first
    `make model`, when the rules read alone)."""
    if not (MODEL_DIR / META_FILE).exists():
        return None
    return Learned.load(MODEL_DIR)
