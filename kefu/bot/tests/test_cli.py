"""Tests of the ``kefu bot`` commands, run as a customer of the CLI would: in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

from kefu.bot.engine import INTENTS, OUT_OF_SCOPE, default_engine

KEFU = Path(sys.executable).with_name("kefu")

TINY_EXAMPLES = [
    {"text": "I forgot my password", "intent": "password_reset"},
    {"text": "reset my password please", "intent": "password_reset"},
    {"text": "忘记密码了", "intent": "password_reset"},
    {"text": "how to change my password", "intent": "password_reset"},
    {"text": "my deposit has not arrived", "intent": "deposit_not_credited"},
    {"text": "充值没到账", "intent": "deposit_not_credited"},
    {"text": "deposit still missing after an hour", "intent": "deposit_not_credited"},
    {"text": "where is my deposit", "intent": "deposit_not_credited"},
    {"text": "what's the weather today", "intent": "out_of_scope"},
    {"text": "tell me a joke", "intent": "out_of_scope"},
    {"text": "今天天气怎么样", "intent": "out_of_scope"},
    {"text": "which coin will go up", "intent": "out_of_scope"},
]


@pytest.fixture(scope="module")
def shared_model_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One on-disk cache for the default model per test session (test_engine and test_cli).

    Subprocesses inherit the variable, so `kefu bot predict` finds the model trained in-process.
    """
    cache = tmp_path_factory.getbasetemp() / "kefu-model-cache"
    previous = os.environ.get("KEFU_MODEL_CACHE")
    os.environ["KEFU_MODEL_CACHE"] = str(cache)
    # This process read its settings already: tell them too (the code reads settings only).
    previous_setting = settings.KEFU_MODEL_CACHE
    settings.KEFU_MODEL_CACHE = cache
    yield cache
    settings.KEFU_MODEL_CACHE = previous_setting
    if previous is None:
        os.environ.pop("KEFU_MODEL_CACHE", None)
    else:
        os.environ["KEFU_MODEL_CACHE"] = previous


def run_kefu(
    *args: str, stdin: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(KEFU), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
        check=False,
    )


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model trained by `kefu bot train` on a tiny JSONL file."""
    directory = tmp_path_factory.mktemp("tiny")
    examples = directory / "examples.jsonl"
    examples.write_text(
        "\n".join(json.dumps(e, ensure_ascii=False) for e in TINY_EXAMPLES) + "\n", encoding="utf-8"
    )
    result = run_kefu(
        "bot", "train", "--examples", str(examples), "--out", str(directory / "model"), "--no-embeddings"
    )
    assert result.returncode == 0, result.stderr
    assert "trained on 12 examples" in result.stdout
    return directory / "model"


def test_train_then_predict_with_model(tiny_model: Path) -> None:
    """`kefu bot train` output loads with `--model`; answers follow the tiny training set."""
    lines = [{"text": "I can't remember my password"}, {"text": "my deposit is missing"}]
    result = run_kefu(
        "bot", "predict", "--model", str(tiny_model), stdin="".join(json.dumps(x) + "\n" for x in lines)
    )
    assert result.returncode == 0, result.stderr
    outputs = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["intent"] for o in outputs] == ["password_reset", "deposit_not_credited"]
    assert {r["intent"] for r in outputs[0]["ranked"]} == {"password_reset", "deposit_not_credited"}


def test_predict_one_line_per_input_in_order_with_errors(shared_model_cache: Path) -> None:
    """Every input line gets exactly one JSON line, in order; a malformed line gets an error."""
    default_engine()  # train (or load) in-process first so the subprocess finds it in the cache
    stdin = "\n".join(
        [
            json.dumps({"text": "我的账户被冻结了"}, ensure_ascii=False),
            "{not json",
            json.dumps({"text": "how do I reset my 2fa"}),
            json.dumps({"message": "no text key"}),
            json.dumps({"text": "今天天气怎么样"}, ensure_ascii=False),
        ]
    )
    result = run_kefu("bot", "predict", stdin=stdin + "\n")
    assert result.returncode == 0, result.stderr
    outputs = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(outputs) == 5
    assert outputs[0]["intent"] == "account_locked"
    assert "error" in outputs[1] and "intent" not in outputs[1]
    assert outputs[2]["intent"] == "two_factor"
    assert "error" in outputs[3]
    assert outputs[4]["intent"] == OUT_OF_SCOPE
    for output in (outputs[0], outputs[2], outputs[4]):
        assert 0.0 <= output["confidence"] <= 1.0
        ranked = output["ranked"]
        assert sorted(r["intent"] for r in ranked) == sorted(INTENTS)
        assert [r["score"] for r in ranked] == sorted((r["score"] for r in ranked), reverse=True)


def test_predict_answers_each_line_before_the_next_arrives(tiny_model: Path) -> None:
    """Output is flushed per line, so a chat bridge can keep the process open and talk to it."""
    process = subprocess.Popen(
        [str(KEFU), "bot", "predict", "--model", str(tiny_model)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdin is not None and process.stdout is not None
        for text, intent in [
            ("forgot my password", "password_reset"),
            ("充值没到账", "deposit_not_credited"),
        ]:
            process.stdin.write(json.dumps({"text": text}, ensure_ascii=False) + "\n")
            process.stdin.flush()
            assert json.loads(process.stdout.readline())["intent"] == intent
    finally:
        process.stdin.close()  # type: ignore[union-attr]
        assert process.wait(timeout=60) == 0


def test_train_rejects_malformed_examples(tmp_path: Path) -> None:
    """A bad line in the training file is reported with its line number, and nothing is saved."""
    examples = tmp_path / "bad.jsonl"
    examples.write_text('{"text": "hi", "intent": "greeting"}\n{"text": "no intent"}\n', encoding="utf-8")
    result = run_kefu("bot", "train", "--examples", str(examples), "--out", str(tmp_path / "model"))
    assert result.returncode == 2
    assert "bad.jsonl:2" in result.stderr
    assert not (tmp_path / "model").exists()


def test_help_lists_bot_commands() -> None:
    result = run_kefu("bot", "--help")
    assert result.returncode == 0
    for action in ("predict", "train", "eval", "benchmark"):
        assert action in result.stdout


def test_eval_prints_the_measures(tiny_model: Path) -> None:
    """`kefu bot eval` reports in-scope accuracy, out-of-scope recall and precision, and errors."""
    result = run_kefu("bot", "eval", "--model", str(tiny_model))
    assert result.returncode == 0, result.stderr
    for measure in (
        "in-scope accuracy:",
        "out-of-scope recall:",
        "out-of-scope precision:",
        "errors by expected intent:",
    ):
        assert measure in result.stdout
    blind = run_kefu("bot", "eval", "--model", str(tiny_model), "--set", "blind")
    assert blind.returncode == 0, blind.stderr
    assert "blind.yaml" in blind.stdout and "in-scope accuracy:" in blind.stdout


def test_benchmark_banking77_on_a_small_copy(tmp_path: Path) -> None:
    """`kefu bot benchmark` trains on train.csv, reports on test.csv, with time and latency."""
    rows = {
        "card_arrival": [
            "where is my card",
            "my card has not arrived",
            "card still not here",
            "when will the card come",
        ],
        "exchange_rate": [
            "what is the exchange rate",
            "rate for euros",
            "how much is a dollar",
            "exchange rate today",
        ],
    }
    train = ["text,category"] + [f"{t},{c}" for c, texts in rows.items() for t in texts]
    (tmp_path / "train.csv").write_text("\n".join(train) + "\n", encoding="utf-8")
    test = ["text,category", "my card did not arrive,card_arrival", "euro exchange rate,exchange_rate"]
    (tmp_path / "test.csv").write_text("\n".join(test) + "\n", encoding="utf-8")
    result = run_kefu("bot", "benchmark", "banking77", "--data", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "BANKING77 accuracy (top-ranked intent): 100.00%" in result.stdout
    assert "training time:" in result.stdout and "p99" in result.stdout
