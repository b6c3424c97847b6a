#!/usr/bin/env python
"""Whole-reply latency of the bot's dialogue manager, through its HTTP API.

Plays multi-turn dialogues (the format of ``kefu bot eval --dialogues``) on a throw-away
database and times every message: POST /api/v1/bot/messages with Django's test client — the
secret guard, intent prediction, detail extraction, answers, facts (announcements, the signed-in
customer's wallet records), hand-off and the saved turns — everything but the network. The
model is loaded and one warm-up round is played first, as a server's warm-up would.

Usage (from the repository root)::

    .venv/bin/python scripts/bench_dialogues.py                       # the dev dialogues, 3 rounds
    .venv/bin/python scripts/bench_dialogues.py --dialogues FILE --rounds 5
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--dialogues", type=Path, default=REPO / "kefu/bot/data/evaluation/dialogues_dev.yaml"
    )
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds over every dialogue")
    args = parser.parse_args()
    os.environ.setdefault("KEFU_DATA_DIR", tempfile.mkdtemp(prefix="kefu-bench-dialogues-"))
    from kefu.cli import setup_django

    setup_django()
    from kefu.bot import dialogue_eval
    from kefu.bot.engine import default_engine

    dialogues = dialogue_eval.load_dialogues(args.dialogues)
    default_engine()  # model load (and training on a cold cache) is start-up, not a reply
    timings: list[tuple[float, float]] = []
    warm: list[tuple[float, float]] = []
    results = dialogue_eval.run_on_scratch_database(dialogues, timings=warm, rounds=1)
    results = dialogue_eval.run_on_scratch_database(dialogues, timings=timings, rounds=args.rounds)
    walls = [w * 1000 for w, _ in timings]
    cpus = [c * 1000 for _, c in timings]
    print(
        f"{len(dialogues)} dialogues x {args.rounds} rounds = {len(walls)} messages (after a warm-up round)"
    )
    for name, values in (("wall", walls), ("CPU", cpus)):
        print(
            f"{name:>4} ms per reply: p50 {percentile(values, 50):.1f}  p95 {percentile(values, 95):.1f}  "
            f"p99 {percentile(values, 99):.1f}  max {max(values):.1f}"
        )
    passed = sum(r.passed for r in results)
    print(f"(dialogues passing every check in the last round: {passed}/{len(results)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
