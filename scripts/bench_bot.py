#!/usr/bin/env python
"""Measure the intent engine: held-out accuracy, public benchmarks, latency, training time.

Usage (from the repository root)::

    .venv/bin/python scripts/bench_bot.py own                   # held-out set + default-model training time
    .venv/bin/python scripts/bench_bot.py latency               # `kefu bot predict` per-message latency
    .venv/bin/python scripts/bench_bot.py memory                # resident memory of a serving process
    .venv/bin/python scripts/bench_bot.py benchmark banking77 --data DIR --save /tmp/b77-model
    .venv/bin/python scripts/bench_bot.py latency --model /tmp/b77-model --texts DIR/test.csv
    .venv/bin/python scripts/bench_bot.py benchmark banking77 --data /path/to/banking77
    .venv/bin/python scripts/bench_bot.py tune banking77 --data /path/to/banking77   # 5-fold CV on train
    .venv/bin/python scripts/bench_bot.py tune clinc150 --data /path/to/clinc150     # on the val split

The numbers in docs/bot-engine.md come from these commands. ``tune`` never reads a test split.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from kefu.bot.engine.benchmarks import (  # noqa: E402
    BENCHMARK_OPTIONS,
    load_banking77,
    load_clinc150,
    resolve_options,
    run_benchmark,
)
from kefu.bot.engine.embeddings import MINILM, WORDLLAMA  # noqa: E402
from kefu.bot.engine.evaluation import evaluate, format_report  # noqa: E402
from kefu.bot.engine.model import IntentEngine  # noqa: E402

# Candidate settings compared by `tune`; the chosen ones live in BENCHMARK_OPTIONS.
GRID = [
    {"embeddings": None, "c": 1.0},
    {"embeddings": WORDLLAMA, "dense_weight": 1.0, "c": 0.5},
    {"embeddings": WORDLLAMA, "dense_weight": 1.0, "c": 1.0},
    {"embeddings": MINILM, "dense_weight": 1.0, "c": 0.5},
    {"embeddings": MINILM, "dense_weight": 2.0, "c": 0.25},
    {"embeddings": MINILM, "dense_weight": 2.0, "c": 0.5},
    {"embeddings": MINILM, "dense_weight": 2.0, "c": 1.0},
    {"embeddings": MINILM, "dense_weight": 3.0, "c": 1.0},
    {"embeddings": MINILM, "dense_weight": 2.0, "c": 0.5, "oos_similarity_weight": 2.0},
    {"embeddings": MINILM, "dense_weight": 2.0, "c": 0.5, "oos_similarity_weight": 4.0},
]


def cmd_own(args: argparse.Namespace) -> int:
    """Train the default model from the YAML (timed) and evaluate it on the held-out set."""
    from kefu.bot.engine.default import train_default_engine
    from kefu.bot.engine.training_data import evaluation_examples

    started = time.perf_counter()
    engine = train_default_engine()
    seconds = time.perf_counter() - started
    print(
        f"default model: trained in {seconds:.1f} s on {engine.report.n_examples} examples "
        f"(embedder: {engine.embedder or 'none'}, threshold {engine.threshold:.3f})"
    )
    report = evaluate(engine, [(e.text, e.intent) for e in evaluation_examples()], measure_latency=True)
    print(format_report(report, max_examples=args.errors))
    return 0


def cmd_latency(args: argparse.Namespace) -> int:
    """Time `kefu bot predict` answering one line at a time through a pipe, after it has loaded."""
    from kefu.bot.engine.training_data import evaluation_examples

    if args.texts:
        # One message per line, or a CSV with a `text` column (e.g. BANKING77's test.csv).
        if args.texts.suffix == ".csv":
            import csv

            with args.texts.open(encoding="utf-8", newline="") as handle:
                texts = [row["text"] for row in csv.DictReader(handle)]
        else:
            texts = [
                line.strip() for line in args.texts.read_text(encoding="utf-8").splitlines() if line.strip()
            ]
    else:
        texts = [e.text for e in evaluation_examples()]
    texts = (texts * (args.n // len(texts) + 1))[: args.n]
    command = [str(Path(sys.executable).with_name("kefu")), "bot", "predict"]
    if args.model:
        command += ["--model", str(args.model)]
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert process.stdin is not None and process.stdout is not None
    started = time.perf_counter()
    process.stdin.write(json.dumps({"text": "warm up"}) + "\n")
    process.stdin.flush()
    process.stdout.readline()
    print(f"load (first answer): {time.perf_counter() - started:.2f} s; resident {_rss_mb(process.pid)}")
    timings = []
    for text in texts:
        sent = time.perf_counter()
        process.stdin.write(json.dumps({"text": text}, ensure_ascii=False) + "\n")
        process.stdin.flush()
        json.loads(process.stdout.readline())
        timings.append((time.perf_counter() - sent) * 1000)
    rss_after = _rss_mb(process.pid)
    process.stdin.close()
    process.wait()
    print(f"resident memory after the messages: {rss_after}")
    print(
        f"{len(timings)} messages: p50 {np.percentile(timings, 50):.2f} ms, "
        f"p99 {np.percentile(timings, 99):.2f} ms, max {max(timings):.2f} ms"
    )
    return 0


def _rss_mb(pid: int) -> str:
    """Resident memory of a process (Linux /proc), for the memory budget of a serving process."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return f"{int(line.split()[1]) / 1024:.0f} MB"
    except OSError:
        pass
    return "unknown"


def cmd_memory(args: argparse.Namespace) -> int:
    """Resident memory of a serving process, step by step: what `kefu serve`'s start-up loads
    (the ASGI app, the help-centre indexes, the bot's model and segmenter), in this process."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kefu.settings")
    if os.environ.get("KEFU_MODEL_CACHE", "").endswith("kefu-bench-models"):
        del os.environ["KEFU_MODEL_CACHE"]  # the server's own cache (trained once if missing)
    import django

    django.setup()
    import kefu.asgi  # noqa: F401 - the application a server imports

    print(f"Django and the ASGI application: {_rss_mb(os.getpid())}")
    from kefu.serve import settle_memory, warm_up_search

    warm_up_search()
    print(f"+ help-centre search and passage indexes: {_rss_mb(os.getpid())}")
    from kefu.bot.engine import default_engine

    default_engine()
    settle_memory()
    print(f"+ the bot's intent model and segmenter: {_rss_mb(os.getpid())}")
    return 0


def cmd_benchmark(args: argparse.Namespace) -> int:
    """Same as `kefu bot benchmark`: train on train, report on test."""
    result = run_benchmark(args.dataset, args.data)
    if args.save:
        assert result.engine is not None
        result.engine.save(args.save)
        print(f"model saved to {args.save} (for `latency --model`)")
    report = result.report
    print(f"embedder: {result.embedder or 'none'}; training time: {result.train_seconds:.1f} s")
    print(f"top-1 accuracy: {report.top1_accuracy:.2%}; in-scope accuracy: {report.in_scope_accuracy:.2%}")
    if report.oos_recall is not None:
        print(
            f"out-of-scope recall: {report.oos_recall:.2%}, precision {report.oos_precision:.2%}; "
            f"threshold {result.threshold:.3f} ({result.threshold_source})"
        )
    print(f"latency p50 {report.latency_ms_p50:.2f} ms, p99 {report.latency_ms_p99:.2f} ms")
    return 0


def cmd_tune(args: argparse.Namespace) -> int:
    """Compare GRID settings: BANKING77 by k-fold CV on train, CLINC150 on the validation split."""
    from sklearn.model_selection import StratifiedKFold

    base = {k: v for k, v in BENCHMARK_OPTIONS[args.dataset].items() if k != "per_embedder"}
    for candidate in GRID:
        options = resolve_options({**base, **candidate, "calibration_folds": 0})
        started = time.perf_counter()
        if args.dataset == "banking77":
            train, _ = load_banking77(args.data)
            labels = np.array([y for _, y in train])
            scores = []
            splitter = StratifiedKFold(n_splits=args.folds, shuffle=True, random_state=0)
            for fit_rows, test_rows in splitter.split(np.zeros(len(train)), labels):
                engine = IntentEngine.train([train[i] for i in fit_rows], **options)
                scores.append(evaluate(engine, [train[i] for i in test_rows]).top1_accuracy)
            summary = f"cv accuracy {np.mean(scores):.2%} (folds: {', '.join(f'{s:.2%}' for s in scores)})"
        else:
            train, validation, _ = load_clinc150(args.data)
            # calibration_folds=0 leaves the softmax scale at its default. The in-scope accuracy
            # is read off val at several out-of-scope recall levels (a threshold fitted on val for
            # each), so settings are compared over the whole trade-off, not at one point.
            engine = IntentEngine.train(train, validation=validation, **options)
            summary = "val in-scope at out-of-scope recall " + ", ".join(
                f"{target:.0%}: {accuracy:.2%}" for target, accuracy in _val_curve(engine, validation)
            )
        print(f"{candidate}: {summary} [{time.perf_counter() - started:.0f} s]", flush=True)
    return 0


def _val_curve(engine: IntentEngine, validation: list[tuple[str, str]]) -> list[tuple[float, float]]:
    """(recall target, in-scope accuracy) on ``validation`` with a threshold fitted there for each."""
    from kefu.bot.engine.intents import OUT_OF_SCOPE
    from kefu.bot.engine.model import _softmax, _threshold_for_recall

    scores, dense = engine._scores([t for t, _ in validation])
    probs = _softmax(scores * engine.scale)
    oos_scores = engine._oos_scores(probs, dense)
    labels = np.array([y for _, y in validation])
    classes = np.array(engine.classes)
    in_idx = np.flatnonzero(engine._in_scope)
    best = classes[in_idx][probs[:, in_idx].argmax(axis=1)]
    won = ~engine._in_scope[probs.argmax(axis=1)]
    in_scope = labels != OUT_OF_SCOPE
    curve = []
    for target in (0.70, 0.75, 0.80, 0.85, 0.90):
        floor = 0.0 if engine.memory is None else float("-inf")
        threshold = _threshold_for_recall(probs, oos_scores, labels, engine._in_scope, target, floor=floor)
        rejected = won | (oos_scores < threshold)
        curve.append((target, float(((best == labels) & ~rejected)[in_scope].mean())))
    return curve


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("own")
    p.add_argument("--errors", type=int, default=3)
    p.set_defaults(func=cmd_own)
    p = sub.add_parser("memory")
    p.set_defaults(func=cmd_memory)
    p = sub.add_parser("latency")
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--model", type=Path)
    p.add_argument("--texts", type=Path, help="messages to send: one per line, or a CSV with a text column")
    p.set_defaults(func=cmd_latency)
    for name, func in (("benchmark", cmd_benchmark), ("tune", cmd_tune)):
        p = sub.add_parser(name)
        p.add_argument("dataset", choices=sorted(BENCHMARK_OPTIONS))
        p.add_argument("--data", type=Path, required=True)
        p.add_argument("--folds", type=int, default=5)
        if name == "benchmark":
            p.add_argument("--save", type=Path, help="also save the trained model here")
        p.set_defaults(func=func)
    args = parser.parse_args()
    # The default model is cached per user; benchmarks must not depend on or pollute that cache.
    os.environ.setdefault("KEFU_MODEL_CACHE", str(Path(tempfile.gettempdir()) / "kefu-bench-models"))
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
