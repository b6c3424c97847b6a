"""Accuracy measures shared by ``kefu bot eval``, ``kefu bot benchmark`` and the bench script."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from kefu.bot.engine.intents import OUT_OF_SCOPE
from kefu.bot.engine.model import IntentEngine


@dataclass
class EvalReport:
    """Results of classifying labelled messages.

    ``in_scope_accuracy`` counts an in-scope message as correct only if the final decision is
    its intent (a wrong rejection is an error); ``top1_accuracy`` ignores the rejection and
    looks at the best-ranked in-scope intent (BANKING77's measure).
    """

    n: int = 0
    n_in_scope: int = 0
    n_out_of_scope: int = 0
    in_scope_accuracy: float = 0.0
    top1_accuracy: float = 0.0
    oos_recall: float | None = None
    oos_precision: float | None = None
    errors: list[tuple[str, str, str]] = field(default_factory=list)  # (text, expected, got)
    latency_ms_p50: float = 0.0
    latency_ms_p99: float = 0.0

    def errors_by_intent(self) -> list[tuple[str, int, Counter[str]]]:
        """Per expected intent: number of errors and what it was confused with, worst first."""
        grouped: dict[str, Counter[str]] = {}
        for _, expected, got in self.errors:
            grouped.setdefault(expected, Counter())[got] += 1
        return sorted(
            ((intent, sum(c.values()), c) for intent, c in grouped.items()), key=lambda row: (-row[1], row[0])
        )


def evaluate(
    engine: IntentEngine, examples: Sequence[tuple[str, str]], *, measure_latency: bool = False
) -> EvalReport:
    """Classify ``(text, expected_intent)`` pairs and compute the report.

    With ``measure_latency`` each message is also classified alone, as ``kefu bot predict``
    does, to measure per-message latency (batch prediction is what the accuracy uses).
    """
    texts = [t for t, _ in examples]
    expected = [y for _, y in examples]
    predictions = engine.predict_many(texts)
    report = EvalReport(n=len(examples))
    in_total = in_correct = top1_correct = 0
    oos_total = oos_caught = rejected = 0
    for text, want, pred in zip(texts, expected, predictions, strict=True):
        if pred.intent == OUT_OF_SCOPE:
            rejected += 1
        if want == OUT_OF_SCOPE:
            oos_total += 1
            oos_caught += pred.intent == OUT_OF_SCOPE
        else:
            in_total += 1
            in_correct += pred.intent == want
            top1_correct += pred.ranked[0][0] == want
        if pred.intent != want:
            report.errors.append((text, want, pred.intent))
    report.n_in_scope, report.n_out_of_scope = in_total, oos_total
    report.in_scope_accuracy = in_correct / in_total if in_total else 0.0
    report.top1_accuracy = top1_correct / in_total if in_total else 0.0
    if oos_total:
        report.oos_recall = oos_caught / oos_total
        report.oos_precision = oos_caught / rejected if rejected else 0.0
    if measure_latency:
        timings = []
        for text in texts:
            started = time.perf_counter()
            engine.predict(text)
            timings.append((time.perf_counter() - started) * 1000)
        report.latency_ms_p50 = float(np.percentile(timings, 50))
        report.latency_ms_p99 = float(np.percentile(timings, 99))
    return report


def format_report(report: EvalReport, *, max_examples: int = 3) -> str:
    """Human-readable summary, including a per-intent error table."""
    lines = [f"messages: {report.n} ({report.n_in_scope} in scope, {report.n_out_of_scope} out of scope)"]
    lines.append(f"in-scope accuracy: {report.in_scope_accuracy:.2%}")
    lines.append(f"top-1 accuracy (ignoring rejection): {report.top1_accuracy:.2%}")
    if report.oos_recall is not None:
        lines.append(f"out-of-scope recall: {report.oos_recall:.2%}")
        lines.append(f"out-of-scope precision: {report.oos_precision:.2%}")
    if report.latency_ms_p50:
        lines.append(
            f"latency per message: p50 {report.latency_ms_p50:.2f} ms, p99 {report.latency_ms_p99:.2f} ms"
        )
    if report.errors:
        lines.append("errors by expected intent:")
        samples: dict[str, list[str]] = {}
        for text, expected, got in report.errors:
            samples.setdefault(expected, []).append(f"{text!r} -> {got}")
        for intent, count, confused in report.errors_by_intent():
            confused_with = ", ".join(f"{name} x{n}" for name, n in confused.most_common())
            lines.append(f"  {intent}: {count} ({confused_with})")
            for sample in samples[intent][:max_examples]:
                lines.append(f"      {sample}")
    return "\n".join(lines)
