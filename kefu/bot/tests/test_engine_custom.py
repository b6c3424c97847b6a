"""`kefu bot train` on the public benchmarks' file formats (BANKING77 CSV, CLINC150 JSON) and the
options it picks, on tiny files written here (the full benchmarks are in docs/bot-engine.md)."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kefu.bot.engine import OUT_OF_SCOPE, IntentEngine
from kefu.bot.engine.custom import read_examples, training_options
from kefu.bot.engine.embeddings import MINILM, get_embedder

KEFU = Path(sys.executable).with_name("kefu")

CARD = [
    "my card has not arrived",
    "when will my new card come",
    "card still not delivered",
    "where is my card",
]
TOPUP = ["top up failed", "my top-up did not work", "why was my top up declined", "cannot top up my account"]
PIN = ["how do I change my pin", "I want a new pin", "reset the pin of my card", "change pin number"]
OOS = ["what is the weather like", "tell me a joke", "who won the football game", "book a table for two"]


def run_kefu(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(KEFU), *args], capture_output=True, text=True, timeout=300, check=False)


def write_banking77_csv(path: Path, rows: list[tuple[str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "category"])
        writer.writerows(rows)
    return path


def write_clinc150_json(path: Path) -> Path:
    def labelled(texts: list[str], label: str) -> list[list[str]]:
        return [[t, label] for t in texts]

    in_scope = labelled(CARD, "card_arrival") + labelled(TOPUP, "top_up_failed") + labelled(PIN, "change_pin")
    data = {
        "train": in_scope,
        "oos_train": labelled(OOS, "oos"),
        "val": labelled(["card not here yet", "top up not working"], "card_arrival")[:1]
        + labelled(["top up not working"], "top_up_failed"),
        "oos_val": labelled(["play some music", "how tall is everest"], "oos"),
        "test": labelled(["my card never arrived"], "card_arrival")
        + labelled(["the top up failed again"], "top_up_failed")
        + labelled(["change my card pin"], "change_pin"),
        "oos_test": labelled(["what time is it in tokyo"], "oos"),
    }
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_read_examples_understands_the_benchmark_formats(tmp_path: Path) -> None:
    rows = [(t, "card_arrival") for t in CARD]
    assert read_examples(write_banking77_csv(tmp_path / "train.csv", rows)) == rows
    clinc = write_clinc150_json(tmp_path / "data_full.json")
    train = read_examples(clinc)
    assert ("tell me a joke", OUT_OF_SCOPE) in train and len(train) == 16
    assert read_examples(clinc, split="validation")[-1] == ("how tall is everest", OUT_OF_SCOPE)
    assert read_examples(clinc, split="test")[-1] == ("what time is it in tokyo", OUT_OF_SCOPE)
    (tmp_path / "bad.csv").write_text("sentence,what\nhi,there\n", encoding="utf-8")
    with pytest.raises(ValueError, match="header"):
        read_examples(tmp_path / "bad.csv")


def test_english_data_gets_the_encoder_and_chinese_data_the_built_in_options() -> None:
    english = training_options(CARD + TOPUP)
    chinese = training_options(["充值没到账", "提币一直不到", "忘记密码了", "card lost"])
    assert chinese["embeddings"] is None and chinese["features"].char_ngrams == (1, 3)
    assert english["features"].char_ngrams == (2, 5)
    # The encoder is a default dependency: a plain install trains English models with it.
    assert get_embedder(MINILM) is not None
    assert english["embeddings"] == MINILM and english["oos_similarity_weight"] == 2.0
    assert training_options(CARD, embeddings=False)["embeddings"] is None


def test_kefu_bot_train_and_eval_on_a_clinc150_file(tmp_path: Path) -> None:
    data = write_clinc150_json(tmp_path / "data_full.json")
    trained = run_kefu("bot", "train", "--examples", str(data), "--out", str(tmp_path / "model"))
    assert trained.returncode == 0, trained.stderr
    assert f"embedder: {MINILM}" in trained.stdout
    engine = IntentEngine.load(tmp_path / "model")
    assert engine.embedder == MINILM
    assert engine.report.threshold_source == "validation"  # CLINC150's val split placed it
    assert engine.predict("my card has still not arrived").intent == "card_arrival"
    evaluated = run_kefu("bot", "eval", "--model", str(tmp_path / "model"), "--data", str(data))
    assert evaluated.returncode == 0, evaluated.stderr
    assert "in-scope accuracy:" in evaluated.stdout and "out-of-scope recall:" in evaluated.stdout


def test_kefu_bot_train_on_a_banking77_csv(tmp_path: Path) -> None:
    rows = [(t, "card_arrival") for t in CARD] + [(t, "top_up_failed") for t in TOPUP]
    rows += [(t, "change_pin") for t in PIN]
    train = write_banking77_csv(tmp_path / "train.csv", rows)
    test = write_banking77_csv(tmp_path / "test.csv", [("my pin needs changing", "change_pin")])
    out = tmp_path / "model"
    trained = run_kefu("bot", "train", "--examples", str(train), "--out", str(out), "--no-embeddings")
    assert trained.returncode == 0, trained.stderr
    assert IntentEngine.load(out).predict("top up was declined").intent == "top_up_failed"
    evaluated = run_kefu("bot", "eval", "--model", str(out), "--data", str(test))
    assert evaluated.returncode == 0, evaluated.stderr
    assert "in-scope accuracy: 100.00%" in evaluated.stdout
    broken = run_kefu("bot", "train", "--examples", str(tmp_path / "missing.csv"), "--out", str(out))
    assert broken.returncode == 2 and "missing.csv" in broken.stderr


def test_english_model_without_out_of_scope_examples_never_rejects() -> None:
    # BANKING77 has no out-of-scope examples: the similarity memory has no threshold to place,
    # so keeping it (with the probability threshold 0) wrongly rejected a few in-scope queries.
    examples = [(t, "card_arrival") for t in CARD] + [(t, "top_up_failed") for t in TOPUP]
    engine = IntentEngine.train(examples, **training_options([t for t, _ in examples]))
    assert engine.embedder == MINILM and engine.memory is None
    for text in ["what is the weather like", "zzzz qqqq", "card", "🙂"]:
        assert engine.predict(text).intent != OUT_OF_SCOPE


def test_segmenter_keeps_the_common_dictionary_only() -> None:
    # A serving process holds this dictionary for good: jieba's full one is 498k entries (62 MB),
    # the common words 63k (13 MB) and score the same on the evaluation sets.
    from kefu.bot.engine import features

    tokenizer = features._jieba()
    assert 20_000 < len(tokenizer.FREQ) < 100_000
    assert features.word_tokens("我的提币一直没到账，助记词还安全吗") == [
        "我",
        "的",
        "提币",
        "一直",
        "没到账",
        "助记词",
        "还",
        "安全",
        "吗",
    ]


def test_default_engine_loads_the_segmenter_with_the_model(tmp_path: Path) -> None:
    # A server's warm-up calls default_engine(): the dictionary must come with it, not with the
    # first customer's message (and before the start-up's gc.freeze).
    from django.conf import settings

    script = (
        "from kefu.bot.engine import default_engine, features\n"
        "default_engine()\n"
        "print(features._tokenizer is not None)\n"
    )
    cache = settings.KEFU_MODEL_CACHE or (Path(settings.DATA_DIR) / "models")
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "KEFU_MODEL_CACHE": str(cache), "DJANGO_SETTINGS_MODULE": ""},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"
