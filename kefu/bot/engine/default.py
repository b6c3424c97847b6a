"""The process-wide default engine for the intents in :mod:`kefu.bot.engine.intents`.

The model is trained from the repository's YAML on first use (a few seconds) and cached on disk
under a key derived from the training data, the engine options, the engine's source code and the
library versions, so a changed data file, engine change or upgraded library trains a fresh model
instead of loading a stale one.
Nothing is downloaded.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from importlib import metadata
from pathlib import Path
from typing import Any

from kefu.bot.engine.embeddings import available_embedder, get_embedder
from kefu.bot.engine.features import FeatureConfig
from kefu.bot.engine.model import FORMAT_VERSION, IntentEngine
from kefu.bot.engine.training_data import training_data_digest, training_examples

logger = logging.getLogger(__name__)

# Options of the default model, compared on the held-out set in kefu/bot/data/evaluation and
# documented in docs/bot-engine.md. TF-IDF only: on the held-out set it is within one message of the model with static embeddings
# (99.2 % vs 99.4 % in scope), trains in a third of the time, and behaves the same whether or not
# the optional embedding packages are installed. The embeddings matter for the English benchmarks.
DEFAULT_OPTIONS: dict[str, Any] = {
    "embeddings": None,
    "features": FeatureConfig(word_ngrams=(1, 2), char_ngrams=(1, 3)),
    "dense_weight": 1.0,
    "c": 1.0,
    "oos_target_recall": 0.9,
    "calibration_folds": 3,
}
_LIBRARIES = (
    "numpy",
    "scipy",
    "scikit-learn",
    "jieba",
    "opencc-python-reimplemented",
    "tokenizers",
    "safetensors",
    "onnxruntime",
)

_lock = threading.Lock()
_engine: IntentEngine | None = None


def default_engine() -> IntentEngine:
    """The default intent engine, loaded or trained once per process (thread-safe)."""
    global _engine
    if _engine is None:
        with _lock:
            if _engine is None:
                engine = _load_or_train()
                # Load the segmenter's dictionary and OpenCC's tables now (what the first
                # message would otherwise wait for), so a server's warm-up covers them too.
                engine.predict("你好 hello")
                _engine = engine
    return _engine


def default_model_key() -> str:
    """Cache key of the default model: training data, options, engine code and library versions."""
    embedder = DEFAULT_OPTIONS["embeddings"]
    if embedder == "auto":
        embedder = available_embedder()
    parts = {
        "data": training_data_digest(),
        "options": {
            k: (v.to_dict() if isinstance(v, FeatureConfig) else v) for k, v in DEFAULT_OPTIONS.items()
        },
        # Any change to the engine's code (normalisation, features...) retrains the model.
        "engine": _engine_source_digest(),
        "format": FORMAT_VERSION,
        "embedder": embedder,
        "embedder_fingerprint": get_embedder(embedder).fingerprint() if embedder else None,
        "libraries": {name: _version(name) for name in _LIBRARIES},
    }
    blob = json.dumps(parts, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:20]


def model_cache_root() -> Path:
    """Where default models are cached.

    ``KEFU_MODEL_CACHE`` if set, else ``settings.DATA_DIR / "models"`` when Django is configured
    (the server), else the user cache directory (the command line without settings).
    """
    from django.conf import settings

    # `settings.configured` stays False until something touches the lazy settings object, so a
    # process that names its settings module (the server, pytest-django) counts as configured too.
    if settings.configured or os.environ.get("DJANGO_SETTINGS_MODULE"):
        try:
            configured, data_dir = settings.KEFU_MODEL_CACHE, getattr(settings, "DATA_DIR", None)
        except Exception:  # broken or missing settings module: fall back to the user cache
            configured, data_dir = None, None
        if configured:
            return Path(configured)
        if data_dir is not None:
            return Path(data_dir) / "models"
    else:
        from kefu import conf

        # No Django settings in this process: the registry reads the variable itself.
        if configured := conf.env_value("KEFU_MODEL_CACHE"):
            return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or (Path.home() / ".cache")
    return Path(base) / "kefu" / "models"


def train_default_engine() -> IntentEngine:
    """Train the default model from the repository YAML (no caching)."""
    examples = [(e.text, e.intent) for e in training_examples()]
    return IntentEngine.train(examples, **DEFAULT_OPTIONS)


def _load_or_train() -> IntentEngine:
    directory = _writable_cache_root() / f"intent-{default_model_key()}"
    if (directory / "model.json").exists():
        try:
            return IntentEngine.load(directory)
        except (OSError, ValueError, RuntimeError, KeyError) as exc:
            logger.warning("ignoring unreadable cached model %s: %s", directory, exc)
    elif _train_in_child(directory):
        try:
            return IntentEngine.load(directory)
        except (OSError, ValueError, RuntimeError, KeyError) as exc:
            logger.warning("could not load the model trained in %s: %s", directory, exc)
    engine = train_default_engine()
    _save(engine, directory)
    return engine


def _train_in_child(directory: Path) -> bool:
    """Train the default model in a child process that saves it into ``directory``; True once
    it is there.

    Training peaks at a few hundred MB (feature matrices, calibration folds, scikit-learn's
    working copies) that the allocator keeps in a long-running process after they are freed: a
    server that trained on its first start stayed at 300-400 MB where one that loads the saved
    model stays under 200. The child returns all of it when it exits. Any failure (no
    interpreter to start, a crash) falls back to training here.
    """
    code = "import sys\nfrom kefu.bot.engine.default import train_and_save\ntrain_and_save(sys.argv[1])\n"
    try:
        subprocess.run([sys.executable, "-c", code, str(directory)], check=True, timeout=1800)
    except (OSError, subprocess.SubprocessError) as exc:
        logger.warning("training the intent model in a child process failed (%s); training here", exc)
        return False
    return (directory / "model.json").exists()


def train_and_save(directory: str) -> None:
    """Train the default model and save it into ``directory`` (the child of _train_in_child)."""
    _save(train_default_engine(), Path(directory))


def _save(engine: IntentEngine, directory: Path) -> None:
    # Save into a fresh temporary directory and rename it into place: two processes training at
    # once both succeed, and readers never see a half-written model.
    try:
        directory.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".intent-", dir=directory.parent))
        engine.save(staging)
        try:
            staging.rename(directory)
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)  # another process won the race
    except OSError as exc:
        logger.warning("could not cache the default model in %s: %s", directory, exc)


def _writable_cache_root() -> Path:
    root = model_cache_root()
    try:
        root.mkdir(parents=True, exist_ok=True)
        return root
    except OSError:
        return Path(tempfile.gettempdir()) / "kefu-models"


def _engine_source_digest() -> str:
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).resolve().parent.glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None
