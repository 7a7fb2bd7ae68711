"""Measure the reply parser honestly: cross-validated by voice, and once on fresh text.

    python benchmarks/replies.py                 cross-validated figures (corpus, dev.jsonl)
    python benchmarks/replies.py --fresh FILE    the shipped model on a fresh file, once
    python benchmarks/replies.py --shipped FILE  the shipped model on any labelled file
    add --misses to list every miss, --by-voice for the split by voice
    python benchmarks/replies.py --folds DIR [--threshold NAME=VALUE ...]
                                                 cross-validated, with fold models kept in
                                                 DIR: a combiner change measured in a minute

Cross-validation: the corpus (rules/replies/corpus/part-*.jsonl) is split into folds by
`voice_id` (GroupKFold), so no voice is in both the training and the test side; each
fold's model is trained from scratch exactly as `make model` trains the shipped one, and
reads only the replies it never saw.  The thresholds are the shipped model's (the
safeguarding one chosen on cross-validated probabilities).  dev.jsonl, which the rules
were tuned on, is never trained on: the shipped model reads it as unseen text.

Figures: intent and code accuracy, safeguarding recall and false-alarm rate, authorised
codes where only unauthorised ones are supported, return dates, "silent misses"
(safeguarding read as routine with no review flag), the share flagged `needs_review`;
split by safeguarding category; replies per second on one core (median of passes) and
the slowest reply.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rules.replies import ParsedReply, parse_reply  # noqa: E402
from rules.replies import load as load_parser  # noqa: E402
from rules.replies.combine import combine  # noqa: E402
from rules.replies.corpus import (  # noqa: E402
    AUTHORISED,
    CATEGORIES,
    CORPUS_DIR,
    DEV_FILE,
    Reply,
    load,
    training_files,
)
from rules.replies.learned import Learned, corpus_hash, shipped  # noqa: E402
from rules.replies.training import Example  # noqa: E402

PASSES = 5


@dataclass
class Tally:
    n: int = 0
    intent: int = 0
    code: int = 0
    sg_pos: int = 0
    sg_hit: int = 0
    sg_neg: int = 0
    sg_false: int = 0
    unauth: int = 0
    auth_for_unauth: int = 0
    rd_total: int = 0
    rd_ok: int = 0
    rd_none: int = 0
    rd_invented: int = 0
    silent: int = 0
    review: int = 0

    def add(self, r: Reply, got: ParsedReply, misses: list[str] | None) -> None:
        self.n += 1
        self.intent += got.intent == r.intent
        code_ok = (got.code in r.codes or (not r.codes and got.code is None)) and all(
            got.per_child.get(k) == v for k, v in r.per_child.items()
        )
        self.code += code_ok
        if r.codes and not set(r.codes) & AUTHORISED:
            self.unauth += 1
            self.auth_for_unauth += got.code in AUTHORISED
        if r.safeguarding:
            self.sg_pos += 1
            self.sg_hit += got.safeguarding
            self.silent += not got.safeguarding and not got.needs_review
        else:
            self.sg_neg += 1
            self.sg_false += got.safeguarding
        if r.return_date is not None:
            self.rd_total += 1
            self.rd_ok += got.return_date == r.return_date
        elif r.intent == "absence_reason":
            self.rd_none += 1
            self.rd_invented += got.return_date is not None
        self.review += got.needs_review
        if misses is None:
            return
        what = []
        if got.intent != r.intent:
            what.append(f"intent {r.intent}->{got.intent}")
        if not code_ok:
            what.append(f"code {list(r.codes)}{r.per_child or ''}->{got.code}{got.per_child or ''}")
        if r.safeguarding != got.safeguarding:
            what.append(f"safeguarding {r.safeguarding}->{got.safeguarding} {r.category or ''}")
        if got.return_date != r.return_date and (
            r.return_date is not None or r.intent == "absence_reason"
        ):
            what.append(f"return {r.return_date}->{got.return_date}")
        if what:
            misses.append(f"{r.source} [{r.voice_id}] {'; '.join(what)}\n      {r.text}")

    def rows(self) -> list[tuple[str, str]]:
        def pct(a: int, b: int) -> str:
            return f"{a / b:.3f} ({a}/{b})" if b else "n/a"

        return [
            ("replies", str(self.n)),
            ("intent", pct(self.intent, self.n)),
            ("code", pct(self.code, self.n)),
            ("safeguarding recall", pct(self.sg_hit, self.sg_pos)),
            ("safeguarding false alarms", pct(self.sg_false, self.sg_neg)),
            (
                "authorised code where only unauthorised is supported",
                pct(self.auth_for_unauth, self.unauth),
            ),
            ("return dates", pct(self.rd_ok, self.rd_total)),
            ("a return date where the reply gave none", pct(self.rd_invented, self.rd_none)),
            ("silent misses", str(self.silent)),
            ("flagged needs_review", pct(self.review, self.n)),
        ]


def print_table(columns: dict[str, Tally]) -> None:
    names = list(columns)
    rows = {name: dict(t.rows()) for name, t in columns.items()}
    print("| measure | " + " | ".join(names) + " |")
    print("| --- |" + " --- |" * len(names))
    for label, _ in next(iter(columns.values())).rows():
        print(f"| {label} | " + " | ".join(rows[n][label] for n in names) + " |")


def print_splits(replies: Sequence[Reply], preds: Sequence[ParsedReply], by_voice: bool) -> None:
    reasons = Counter(
        "written in another language" if why.startswith("written in") else why
        for got in preds
        for why in got.review_reasons
    )
    print("\nreview reasons (a reply may have several)")
    for why, n in reasons.most_common():
        print(f"  {why:32} {n:5}  {n / len(preds):.1%}")
    # The fresh sets are about half other languages, far more than most schools see: the
    # English replies on their own say what a school of mostly English speakers would get.
    english, other = Tally(), Tally()
    for r, got in zip(replies, preds, strict=True):
        (english if r.language == "en" else other).add(r, got, None)
    print("\nby language")
    print_table({"written in English": english, "in another language": other})
    cats: dict[str, Tally] = defaultdict(Tally)
    for r, got in zip(replies, preds, strict=True):
        if r.category:
            cats[r.category].add(r, got, None)
    print("\nsafeguarding by category: recall, silent misses")
    for cat in CATEGORIES:
        t = cats.get(cat)
        if t:
            print(f"  {cat:28} {t.sg_hit:3}/{t.sg_pos:<3} silent {t.silent}")
    voices: dict[str, Tally] = defaultdict(Tally)
    for r, got in zip(replies, preds, strict=True):
        voices[r.voice_id or r.source.split(":")[0]].add(r, got, None)
    codes = sorted(t.code / t.n for t in voices.values())
    print(
        f"\nby voice ({len(voices)} voices): code accuracy min {codes[0]:.2f}, "
        f"median {statistics.median(codes):.2f}, max {codes[-1]:.2f}"
    )
    if by_voice:
        print("  voice        n  intent  code  sg recall  review")
        for v, t in sorted(voices.items()):
            sg = f"{t.sg_hit}/{t.sg_pos}" if t.sg_pos else "-"
            print(
                f"  {v:10} {t.n:4}  {t.intent / t.n:.2f}   {t.code / t.n:.2f}  "
                f"{sg:9}  {t.review / t.n:.2f}"
            )


def speed(replies: Sequence[Reply]) -> None:
    """Wall-clock rate on one core, and the slowest reply both by the wall clock and by the
    CPU time of this thread (the wall clock includes time the scheduler gave to other
    processes, which on a shared machine is most of a "slow" reply).  The parser is loaded
    as a service loads it (`rules.replies.load`), out of the garbage collector's way."""
    # The replies are built first, so that `load` sets them aside from the garbage collector
    # with the parser: a service holds no corpus, and a full collection walking this
    # benchmark's own 100,000 objects stalled one reply by 40 to 50 ms.
    inputs = [(r.text, r.today, list(r.children)) for r in replies]
    load_parser()
    rates: list[float] = []
    cpu_rates: list[float] = []
    slowest = slowest_cpu = 0.0
    for _ in range(PASSES):
        start, cpu_start = time.perf_counter(), time.thread_time()
        for text, today, children in inputs:
            t0, c0 = time.perf_counter(), time.thread_time()
            parse_reply(text, today, children)
            slowest = max(slowest, time.perf_counter() - t0)
            slowest_cpu = max(slowest_cpu, time.thread_time() - c0)
        rates.append(len(inputs) / (time.perf_counter() - start))
        cpu_rates.append(len(inputs) / (time.thread_time() - cpu_start))
    print(
        f"\nreplies per second  {statistics.median(rates):,.0f} (median of {PASSES} passes over "
        f"{len(inputs)} replies; first pass {rates[0]:,.0f})"
    )
    print(f"replies per CPU-second  {statistics.median(cpu_rates):,.0f} (median, one thread)")
    print(
        f"slowest reply       {slowest * 1000:.2f} ms wall clock, "
        f"{slowest_cpu * 1000:.2f} ms CPU time"
    )
    print(f"this machine        {reference_loop():.2f} CPU-s for a plain loop of 10M additions")


def reference_loop() -> float:
    """CPU time of a fixed pure-Python loop: machines here differ by two to three times in
    speed, so a rate is read beside this (benchmarks/fresh/README.md, "Reading the figures")."""
    start = time.thread_time()
    total = 0
    for i in range(10_000_000):
        total += i
    return time.thread_time() - start


def _fold_models(
    exs: Sequence[Example], thresholds: dict[str, float] | None, cache: Path | None
) -> list[tuple[list[int], Learned]]:
    """Each fold's test indices and the model trained without them: read from `cache` where
    `make model` (training --folds) or an earlier `--folds` run kept folds of this very
    corpus there, else trained (and kept there, when `cache` is given)."""
    from rules.replies.training import load_folds, out_of_fold, save_folds

    trained_on = corpus_hash(training_files(CORPUS_DIR))
    out = load_folds(cache, trained_on, exs) if cache is not None else None
    if out is None:
        out = out_of_fold(exs)
        if cache is not None:
            save_folds(cache, trained_on, out)
    for _, model in out:
        model.thresholds = dict(thresholds or {})
    return out


def cross_validated(
    show_misses: bool,
    by_voice: bool,
    cache: Path | None = None,
    overrides: dict[str, float] | None = None,
) -> None:
    from rules.replies.training import examples

    loaded = load(training_files(CORPUS_DIR))
    for problem in loaded.problems:
        print(f"skipped {problem}", file=sys.stderr)
    exs = examples(loaded.replies)
    learned = shipped()
    thresholds = {**(learned.thresholds if learned else {}), **(overrides or {})}
    preds: list[ParsedReply | None] = [None] * len(exs)
    started = time.perf_counter()
    for test, model in _fold_models(exs, thresholds, cache):
        for i in test:
            ex = exs[i]
            preds[i] = combine(ex.rules, ex.reply.text, ex.reply.today, model)
    took = time.perf_counter() - started
    replies = [ex.reply for ex in exs]
    got = [p for p in preds if p is not None]
    corpus, dev = Tally(), Tally()
    misses: list[str] = []
    for r, p in zip(replies, got, strict=True):
        corpus.add(r, p, misses)
    # dev.jsonl is never trained on: the shipped model reads it as unseen text.
    dev_replies = load([CORPUS_DIR / DEV_FILE]).replies
    for r in dev_replies:
        dev.add(r, parse_reply(r.text, r.today, list(r.children)), misses)
    groups = len({ex.group for ex in exs})
    print(f"cross-validated: {groups} voices in 5 folds split by voice ({took:.0f} s)\n")
    print_table({"corpus (CV by voice)": corpus, "dev.jsonl (unseen by the model)": dev})
    print_splits(replies, got, by_voice)
    if show_misses:
        print(f"\nmisses ({len(misses)})")
        print("\n".join(f"  {m}" for m in misses))
    speed(replies)


def score_file(path: Path, label: str, show_misses: bool, by_voice: bool) -> None:
    loaded = load([path])
    for problem in loaded.problems:
        print(f"skipped {problem}", file=sys.stderr)
    replies = loaded.replies
    if not replies:
        raise SystemExit(f"{path}: no valid replies")
    load_parser()
    preds = [parse_reply(r.text, r.today, list(r.children)) for r in replies]
    tally = Tally()
    misses: list[str] = []
    for r, p in zip(replies, preds, strict=True):
        tally.add(r, p, misses)
    print_table({label: tally})
    print_splits(replies, preds, by_voice)
    if show_misses:
        print(f"\nmisses ({len(misses)})")
        print("\n".join(f"  {m}" for m in misses))
    speed(replies)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fresh", type=Path, help="score the shipped model once on FILE")
    parser.add_argument("--shipped", type=Path, help="score the shipped model on FILE")
    parser.add_argument("--misses", action="store_true", help="list every miss")
    parser.add_argument("--by-voice", action="store_true", help="a line per voice")
    parser.add_argument(
        "--folds",
        type=Path,
        help="cross-validate with the fold models in DIR, training and saving them there "
        "first if it has none: a change to combine.py or siblings.py, or a threshold, is "
        "then measured in a minute (anything the model is trained on needs fresh folds)",
    )
    parser.add_argument(
        "--threshold",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="cross-validate with this combiner threshold instead of the shipped one",
    )
    args = parser.parse_args(argv)
    overrides: dict[str, float] = {}
    for item in args.threshold:
        name, _, value = item.partition("=")
        try:
            overrides[name] = float(value)
        except ValueError:
            parser.error(f"--threshold {item!r}: expected NAME=NUMBER")
    if args.fresh:
        score_file(args.fresh, f"fresh: {args.fresh.name}", args.misses, args.by_voice)
    elif args.shipped:
        score_file(args.shipped, f"shipped model: {args.shipped.name}", args.misses, args.by_voice)
    else:
        cross_validated(args.misses, args.by_voice, args.folds, overrides)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
