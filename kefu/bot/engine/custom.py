"""Models trained by ``kefu bot train``: reading example files and choosing the engine options.

Example files (the format is chosen by the file name):

* ``*.jsonl``: one ``{"text": ..., "intent": ...}`` per line (intent ``out_of_scope`` marks
  texts to reject);
* ``*.csv``: a header with ``text`` and one of ``intent``/``category``/``label`` (BANKING77's
  ``train.csv`` and ``test.csv`` as published);
* ``*.json``: CLINC150's ``data_full.json`` (label ``oos`` becomes ``out_of_scope``). Its
  ``train``/``oos_train`` lists train, ``val``/``oos_val`` place the out-of-scope threshold,
  ``test``/``oos_test`` evaluate (``kefu bot eval --model DIR --data FILE``).

Options: the sentence encoder (``embeddings.py``, all-MiniLM-L6-v2) is English-only, so it is
used for English data only, with the settings tuned on the English benchmarks' training and
validation splits (docs/bot-engine.md). Chinese or mixed data gets the built-in model's options
(TF-IDF, measured on the zh/en evaluation sets), which the encoder does not improve.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

from kefu.bot.engine.benchmarks import resolve_options
from kefu.bot.engine.embeddings import MINILM, WORDLLAMA
from kefu.bot.engine.features import FeatureConfig
from kefu.bot.engine.intents import OUT_OF_SCOPE

Pairs = list[tuple[str, str]]
Split = Literal["train", "validation", "test"]

# English data: character n-grams from 2 (single letters say nothing), rare ones dropped; the
# encoder weighted ×2 next to the TF-IDF blocks; with out-of-scope examples, the out-of-scope
# score adds similarity to the nearest training example. Chosen by 3-fold CV on BANKING77 train
# and on CLINC150's validation split (scripts/bench_bot.py tune), never on a test split.
ENGLISH_OPTIONS: dict[str, Any] = {
    "features": FeatureConfig(word_ngrams=(1, 2), char_ngrams=(2, 5), char_min_df=2),
    "embeddings": "auto",
    "per_embedder": {
        MINILM: {"dense_weight": 2.0, "c": 0.5, "oos_similarity_weight": 2.0},
        WORDLLAMA: {"dense_weight": 1.0, "c": 1.0},
        None: {"c": 1.0},
    },
}
# A text counts as Chinese when it has a CJK character; data with more than this share of such
# texts is trained like the built-in (Chinese-first) model.
CJK_SHARE = 0.2
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")

_CLINC_KEYS: dict[Split, tuple[str, str]] = {
    "train": ("train", "oos_train"),
    "validation": ("val", "oos_val"),
    "test": ("test", "oos_test"),
}


def is_clinc150(path: Path) -> bool:
    return path.suffix.lower() == ".json"


def read_examples(path: Path, *, split: Split = "train") -> Pairs:
    """``(text, intent)`` pairs from ``path`` (see the module docstring for the formats).

    ``split`` matters for CLINC150's single file only. Raises ``ValueError`` with the file and
    line of a malformed entry.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".json":
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or not all(k in data for k in _CLINC_KEYS[split]):
            raise ValueError(
                f"{path}: expected CLINC150's data_full.json (keys {', '.join(_CLINC_KEYS[split])})"
            )
        return [
            (str(text), OUT_OF_SCOPE if label == "oos" else str(label))
            for key in _CLINC_KEYS[split]
            for text, label in data[key]
        ]
    if suffix == ".csv":
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            fields = reader.fieldnames or []
            label = next((name for name in ("intent", "category", "label") if name in fields), None)
            if "text" not in fields or label is None:
                raise ValueError(f"{path}: expected a header with text and intent (or category, label)")
            return [(row["text"], row[label]) for row in reader]
    pairs: Pairs = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                pairs.append((str(row["text"]), str(row["intent"])))
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"{path}:{number}: {exc}") from exc
    return pairs


def training_options(texts: Iterable[str], *, embeddings: bool = True) -> dict[str, Any]:
    """``IntentEngine.train`` options for a model trained on ``texts`` (see the module docstring)."""
    from kefu.bot.engine.default import DEFAULT_OPTIONS

    texts = list(texts)
    chinese = sum(1 for t in texts if _CJK.search(t))
    if texts and chinese / len(texts) > CJK_SHARE:
        return {**DEFAULT_OPTIONS, "embeddings": None}
    options = dict(ENGLISH_OPTIONS)
    if not embeddings:
        options["embeddings"] = None
    return resolve_options(options)
