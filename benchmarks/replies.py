"""Score the reply parser on a labelled corpus (JSON lines in the dev.jsonl format).

    python benchmarks/replies.py [CORPUS.jsonl] [--misses]

Prints intent and code accuracy, safeguarding recall and false-alarm rate, the rate of
authorised codes given where only an unauthorised one was expected, return-date accuracy,
replies per second (one process, median of several passes) and the slowest reply.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rules.replies import parse_reply  # noqa: E402

DEFAULT_CORPUS = ROOT.parent / "shared/replies/dev.jsonl"
AUTHORISED = {"I", "M", "R", "C", "T", "J1", "Y1", "Y2"}
UNAUTHORISED = {"O", "G", "U", "N"}
PASSES = 5


def _codes(expected: Any) -> set[Any]:
    return set(expected) if isinstance(expected, list) else {expected}


def load(path: Path) -> list[dict[str, Any]]:
    rows = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            line = line.strip()
            if line:
                rows.append(json.loads(line))
    return rows


def score(rows: list[dict[str, Any]], show_misses: bool) -> None:
    n = len(rows)
    intent_ok = code_ok = 0
    sg_tp = sg_fn = sg_fp = sg_neg = 0
    auth_for_unauth = unauth_expected = 0
    rd_total = rd_ok = rd_spurious = 0
    misses: list[tuple[str, str, Any, Any, str]] = []

    for row in rows:
        exp = row["expect"]
        got = parse_reply(row["text"], date.fromisoformat(row["today"]), row.get("children", []))
        rid, text = row.get("id", "?"), row["text"]

        if got.intent == exp["intent"]:
            intent_ok += 1
        else:
            misses.append((rid, "intent", exp["intent"], got.intent, text))

        wanted = _codes(exp.get("code"))
        ok = got.code in wanted
        exp_per = exp.get("per_child") or {}
        if exp_per:
            for child, code in exp_per.items():
                if got.per_child.get(child) != code:
                    ok = False
        if ok:
            code_ok += 1
        else:
            shown = {"code": got.code, "per_child": got.per_child} if exp_per else got.code
            want = {"code": exp.get("code"), "per_child": exp_per} if exp_per else exp.get("code")
            misses.append((rid, "code", want, shown, text))

        if wanted and wanted <= UNAUTHORISED:
            unauth_expected += 1
            if got.code in AUTHORISED:
                auth_for_unauth += 1

        if exp.get("safeguarding"):
            if got.safeguarding:
                sg_tp += 1
            else:
                sg_fn += 1
                misses.append((rid, "safeguarding", True, False, text))
        else:
            sg_neg += 1
            if got.safeguarding:
                sg_fp += 1
                misses.append((rid, "safeguarding", False, list(got.indicators), text))

        exp_rd = exp.get("return_date")
        got_rd = got.return_date.isoformat() if got.return_date else None
        if exp_rd is not None:
            rd_total += 1
            if got_rd == exp_rd:
                rd_ok += 1
            else:
                misses.append((rid, "return_date", exp_rd, got_rd, text))
        elif got_rd is not None:
            rd_spurious += 1
            misses.append((rid, "return_date", None, got_rd, text))

    rates: list[float] = []
    slowest = 0.0
    inputs = [(r["text"], date.fromisoformat(r["today"]), r.get("children", [])) for r in rows]
    for _ in range(PASSES):
        start = time.perf_counter()
        for text, today, children in inputs:
            t0 = time.perf_counter()
            parse_reply(text, today, children)
            slowest = max(slowest, time.perf_counter() - t0)
        rates.append(len(inputs) / (time.perf_counter() - start))

    def pct(a: int, b: int) -> str:
        return f"{a / b:.3f} ({a}/{b})" if b else "n/a"

    print(f"corpus                     {n} replies")
    print(f"intent accuracy            {pct(intent_ok, n)}")
    print(f"code accuracy              {pct(code_ok, n)}")
    print(f"safeguarding recall        {pct(sg_tp, sg_tp + sg_fn)}")
    print(f"safeguarding false alarms  {pct(sg_fp, sg_neg)}")
    print(f"authorised-for-unauth      {pct(auth_for_unauth, unauth_expected)}")
    print(f"return-date accuracy       {pct(rd_ok, rd_total)}")
    print(f"return dates not expected  {rd_spurious}")
    print(
        f"replies per second         {statistics.median(rates):,.0f} (median of {PASSES}; "
        f"first timed pass: {rates[0]:,.0f})"
    )
    print(f"slowest reply              {slowest * 1000:.2f} ms")

    if show_misses:
        print(f"\nmisses ({len(misses)})")
        for rid, field, want, got_value, text in misses:
            print(f"  {rid} {field}: expected {want!r}, got {got_value!r}\n      {text}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", nargs="?", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--misses", action="store_true", help="list every miss")
    args = parser.parse_args(argv)
    score(load(args.corpus), args.misses)
    return 0


if __name__ == "__main__":
    sys.exit(main())
