"""``kefu bot ...`` subcommands: predict, train, eval, benchmark.

Imports stay inside the command functions so that ``kefu --help`` does not load scikit-learn,
jieba or the model.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, TextIO


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``bot`` command and its actions to the ``kefu`` parser."""
    parser = sub.add_parser("bot", help="intent engine: predict, train, evaluate, benchmark")
    actions = parser.add_subparsers(dest="bot_command", metavar="ACTION", required=True)

    p = actions.add_parser(
        "predict", help='classify JSON lines {"text": ...} from stdin, one JSON line out each'
    )
    p.add_argument(
        "--model", type=Path, help="model directory from `kefu bot train` (default: the built-in model)"
    )
    p.set_defaults(func=cmd_predict)

    p = actions.add_parser("train", help='train a model from JSON lines {"text": ..., "intent": ...}')
    p.add_argument(
        "--examples",
        type=Path,
        required=True,
        help="JSONL {text, intent} (intent out_of_scope = examples to reject), a CSV with text and "
        "intent/category columns (BANKING77's train.csv) or CLINC150's data_full.json",
    )
    p.add_argument(
        "--validation",
        type=Path,
        help="held-out examples (same formats) that place the out-of-scope threshold; "
        "default: CLINC150's val split for its JSON, else cross-validation",
    )
    p.add_argument("--out", type=Path, required=True, help="directory to save the model into")
    p.add_argument("--no-embeddings", action="store_true", help="TF-IDF features only")
    p.set_defaults(func=cmd_train)

    p = actions.add_parser("eval", help="accuracy of the built-in model on the project's held-out set")
    p.add_argument("--model", type=Path, help="evaluate this model directory instead of the built-in model")
    p.add_argument("--examples", type=int, default=3, help="misclassified examples shown per intent")
    p.add_argument(
        "--data",
        type=Path,
        metavar="FILE",
        help="evaluate on this file instead of a built-in set: `kefu bot train`'s formats "
        "(BANKING77's test.csv; CLINC150's data_full.json uses its test and oos_test lists)",
    )
    p.add_argument(
        "--set",
        dest="eval_set",
        choices=["heldout", "blind", "blind_hard"],
        default="heldout",
        help="heldout: written beside the training data; blind, blind_hard: written without seeing it",
    )
    p.add_argument(
        "--dialogues",
        type=Path,
        metavar="FILE",
        help="play the multi-turn dialogues of this YAML file through the bot's API on a scratch "
        "database and apply their checks (instead of per-message intent accuracy)",
    )
    p.add_argument("--show-failures", action="store_true", help="with --dialogues: print each failing turn")
    p.add_argument(
        "--json", type=Path, metavar="OUT", help="with --dialogues: write every turn and verdict here"
    )
    p.set_defaults(func=cmd_eval)

    p = actions.add_parser("benchmark", help="train and test on a public data set (BANKING77, CLINC150)")
    p.add_argument("dataset", choices=["banking77", "clinc150"])
    p.add_argument("--data", type=Path, required=True, help="folder with the data set's files")
    p.add_argument("--errors", type=int, default=0, help="misclassified examples shown per intent")
    p.add_argument("--no-embeddings", action="store_true", help="TF-IDF features only, even if installed")
    p.set_defaults(func=cmd_benchmark)


def _load_engine(model: Path | None) -> Any:
    from kefu.bot.engine import IntentEngine, default_engine

    return IntentEngine.load(model) if model is not None else default_engine()


def cmd_predict(args: argparse.Namespace) -> int:
    """Stream predictions: one output line per input line, in order, flushed at once."""
    engine = _load_engine(args.model)
    return predict_stream(engine, sys.stdin, sys.stdout)


def predict_stream(engine: Any, stdin: TextIO, stdout: TextIO) -> int:
    """Answer each JSON line of ``stdin`` with a JSON line on ``stdout``; bad lines get an error."""
    for line in stdin:
        if not line.strip():
            continue  # blank lines (e.g. a trailing newline) are not messages
        try:
            payload = json.loads(line)
            if not isinstance(payload, dict) or not isinstance(payload.get("text"), str):
                raise ValueError('expected an object with a string "text"')
            prediction = engine.predict(payload["text"])
            out: dict[str, Any] = {
                "intent": prediction.intent,
                "confidence": round(prediction.confidence, 6),
                "ranked": [{"intent": name, "score": score} for name, score in prediction.ranked],
            }
        except ValueError as exc:  # json.JSONDecodeError is a ValueError
            out = {"error": str(exc)}
        stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
        stdout.flush()
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    """Train an engine on an example file (kefu.bot.engine.custom) and save it."""
    from kefu.bot.engine import IntentEngine
    from kefu.bot.engine.custom import is_clinc150, read_examples, training_options

    try:
        examples = read_examples(args.examples)
        validation = None
        if args.validation is not None:
            validation = read_examples(args.validation, split="validation")
        elif is_clinc150(args.examples):
            validation = read_examples(args.examples, split="validation")
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    options = training_options([text for text, _ in examples], embeddings=not args.no_embeddings)
    print(f"training on {len(examples)} examples (embedder: {options['embeddings'] or 'none'})", flush=True)
    try:
        engine = IntentEngine.train(examples, validation=validation, **options)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    engine.save(args.out)
    report = engine.report
    print(
        f"trained on {report.n_examples} examples ({report.n_intents} intents, "
        f"{report.n_out_of_scope} out of scope) in {report.seconds:.1f} s; saved to {args.out}"
    )
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    """Report accuracy on an evaluation set in kefu/bot/data/evaluation/ (or play dialogues)."""
    if getattr(args, "dialogues", None) is not None:
        return cmd_eval_dialogues(args)
    from kefu.bot.engine.evaluation import evaluate, format_report
    from kefu.bot.engine.normalize import normalize_text
    from kefu.bot.engine.training_data import EVALUATION_SETS, evaluation_examples, training_examples

    engine = _load_engine(args.model)
    if getattr(args, "data", None) is not None:
        from kefu.bot.engine.custom import read_examples

        report = evaluate(engine, read_examples(args.data, split="test"), measure_latency=True)
        print(f"evaluation file: {args.data}")
        print(format_report(report, max_examples=args.examples))
        return 0
    name = getattr(args, "eval_set", "heldout")
    examples = [(e.text, e.intent) for e in evaluation_examples(name)]
    print(f"held-out set: {EVALUATION_SETS[name]}")
    print(format_report(evaluate(engine, examples, measure_latency=True), max_examples=args.examples))
    # An independent author writes some of the same short messages ("你好", "thanks"): report the
    # set without them too (only meaningful for the built-in model, trained on the YAML).
    seen = {normalize_text(e.text) for e in training_examples()}
    unseen = [(text, intent) for text, intent in examples if normalize_text(text) not in seen]
    if args.model is None and len(unseen) < len(examples):
        report = evaluate(engine, unseen)
        print(
            f"without the {len(examples) - len(unseen)} messages also in the training data: "
            f"in-scope accuracy {report.in_scope_accuracy:.2%}, out-of-scope recall {report.oos_recall:.2%}"
        )
    return 0


def cmd_eval_dialogues(args: argparse.Namespace) -> int:
    """``kefu bot eval --dialogues FILE``: the multi-turn checks, on a throw-away database."""
    from kefu.cli import setup_django

    setup_django()
    from kefu.bot import dialogue_eval

    try:
        dialogues = dialogue_eval.load_dialogues(args.dialogues)
    except (OSError, dialogue_eval.DialogueFormatError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"dialogues: {args.dialogues} ({len(dialogues)})", flush=True)
    results = dialogue_eval.run_on_scratch_database(dialogues)
    print(dialogue_eval.format_report(results, show_failures=args.show_failures))
    if args.json is not None:
        args.json.write_text(
            json.dumps(dialogue_eval.results_json(results), ensure_ascii=False, indent=1), encoding="utf-8"
        )
    return 0


def cmd_benchmark(args: argparse.Namespace) -> int:
    """Train on a public data set's train split and report on its test split."""
    from kefu.bot.engine.benchmarks import BENCHMARK_OPTIONS, run_benchmark
    from kefu.bot.engine.evaluation import format_report

    options = {**BENCHMARK_OPTIONS[args.dataset], "embeddings": None} if args.no_embeddings else None
    result = run_benchmark(args.dataset, args.data, options=options, log=lambda msg: print(msg, flush=True))
    report = result.report
    print(f"training time: {result.train_seconds:.1f} s on {result.n_train} examples")
    if args.dataset == "banking77":
        print(f"BANKING77 accuracy (top-ranked intent): {report.top1_accuracy:.2%}")
    else:
        print(f"CLINC150 in-scope accuracy: {report.in_scope_accuracy:.2%}")
        print(f"CLINC150 out-of-scope recall: {report.oos_recall:.2%}")
        print(f"out-of-scope threshold {result.threshold:.3f} (chosen on: {result.threshold_source})")
    print(format_report(report, max_examples=args.errors))
    return 0
