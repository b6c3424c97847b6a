"""Reading the bot's training and evaluation examples from the YAML files in ``kefu/bot/data``.

Layout::

    data/training/<group>.yaml     intent -> {zh-hans: [...], zh-hant: [...], en: [...]}
    data/evaluation/heldout.yaml   same shape; never used for training

Mixed Chinese/English messages go under ``zh-hans``. The label ``out_of_scope`` holds messages
the bot must reject.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from kefu.bot.engine.intents import INTENTS, OUT_OF_SCOPE

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
TRAINING_DIR = DATA_DIR / "training"
EVALUATION_FILE = DATA_DIR / "evaluation" / "heldout.yaml"
LANGUAGES = ("zh-hans", "zh-hant", "en")


@dataclass(frozen=True)
class Example:
    """One labelled message and where it came from."""

    text: str
    intent: str
    language: str
    source: str


def load_yaml_examples(path: Path) -> list[Example]:
    """Parse one data file; raises ``ValueError`` on unknown intents or languages."""
    import yaml

    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping of intent -> languages")
    known = {*INTENTS, OUT_OF_SCOPE}
    examples: list[Example] = []
    for intent, by_language in data.items():
        if intent not in known:
            raise ValueError(f"{path}: unknown intent {intent!r}")
        if not isinstance(by_language, dict):
            raise ValueError(f"{path}: {intent}: expected a mapping of language -> list")
        for language, texts in by_language.items():
            if language not in LANGUAGES:
                raise ValueError(f"{path}: {intent}: unknown language {language!r}")
            for text in texts or []:
                text = str(text).strip()
                if text:
                    examples.append(Example(text, intent, language, path.name))
    return examples


def training_files() -> list[Path]:
    """The training YAML files, in a stable order."""
    return sorted(TRAINING_DIR.glob("*.yaml"))


def training_examples() -> list[Example]:
    """All training examples, exact duplicates (same text and intent) removed."""
    seen: set[tuple[str, str]] = set()
    examples = []
    for path in training_files():
        for example in load_yaml_examples(path):
            key = (example.text, example.intent)
            if key not in seen:
                seen.add(key)
                examples.append(example)
    return examples


EVALUATION_SETS = {
    # Written with the training data in view, in the customer register: an upper bound.
    "heldout": EVALUATION_FILE,
    # Written by someone who never saw the training data, from INTENTS.md and the seed stories.
    "blind": DATA_DIR / "evaluation" / "blind.yaml",
    # The same, in the messiest register: rambling, typos, slang, emoji, indirect symptoms.
    "blind_hard": DATA_DIR / "evaluation" / "blind_hard.yaml",
}


def evaluation_examples(name: str = "heldout") -> list[Example]:
    """An evaluation set (``EVALUATION_SETS``); never used for training."""
    return load_yaml_examples(EVALUATION_SETS[name])


def training_data_digest() -> str:
    """SHA-256 over the training files' names and bytes: changes whenever the data changes."""
    digest = hashlib.sha256()
    for path in training_files():
        digest.update(path.name.encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()
