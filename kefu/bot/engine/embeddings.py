"""Optional dense sentence features from static token embeddings shipped inside a wheel.

TF-IDF n-grams only match words the training data used. Averaged pretrained token embeddings
add a little general word meaning ("card" ~ "debit", "cancel" ~ "stop"), which measurably helps
on English benchmarks. The weights come from the ``wordllama`` PyPI package, whose wheel ships a
256-dimensional embedding table and its tokenizer; nothing is ever downloaded. We read those
files directly (``safetensors`` + ``tokenizers``) instead of calling ``wordllama.WordLlama.load``,
which tries the network for files it already has.

Everything here is optional: when the packages are missing, :func:`get_embedder` returns
``None`` and the engine uses TF-IDF features alone.
"""

from __future__ import annotations

import hashlib
import importlib.util
import threading
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import numpy as np

WORDLLAMA = "wordllama-l2-supercat-256"


class SentenceEmbedder(Protocol):
    """Maps texts to l2-normalised dense vectors; one implementation per weight source."""

    name: str
    dim: int

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Return a ``(len(texts), dim)`` float32 array with unit-length rows (zeros if empty)."""
        ...

    def fingerprint(self) -> str:
        """A short digest of the weights, stored with a model to refuse mismatched weights."""
        ...


class WordLlamaEmbedder:
    """Mean of WordLlama token embeddings (special tokens excluded), l2-normalised."""

    name = WORDLLAMA

    def __init__(self, package_dir: Path) -> None:
        from safetensors import safe_open
        from tokenizers import Tokenizer

        self._weights_path = package_dir / "weights" / "l2_supercat_256.safetensors"
        tokenizer_path = package_dir / "tokenizers" / "l2_supercat_tokenizer_config.json"
        with safe_open(str(self._weights_path), framework="np") as handle:
            self._table = np.asarray(handle.get_tensor("embedding.weight"), dtype=np.float32)
        self._tokenizer = Tokenizer.from_file(str(tokenizer_path))
        self.dim = int(self._table.shape[1])
        self._fingerprint: str | None = None
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """See :class:`SentenceEmbedder`."""
        # The Rust tokenizer is not documented as thread-safe for concurrent batch calls.
        with self._lock:
            encodings = self._tokenizer.encode_batch(list(texts), add_special_tokens=False)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, encoding in enumerate(encodings):
            if encoding.ids:
                out[row] = self._table[encoding.ids].mean(axis=0)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-9)

    def fingerprint(self) -> str:
        """See :class:`SentenceEmbedder`."""
        if self._fingerprint is None:
            digest = hashlib.sha256()
            with self._weights_path.open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
            self._fingerprint = digest.hexdigest()[:16]
        return self._fingerprint


def _package_dir(name: str) -> Path | None:
    # find_spec locates the package without importing it (its __init__ pulls in extra modules).
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


@lru_cache(maxsize=4)
def get_embedder(name: str) -> Any:
    """The embedder called ``name``, loaded once per process; ``None`` if it is not installed."""
    if name != WORDLLAMA:
        raise ValueError(f"unknown embedder {name!r}")
    package_dir = _package_dir("wordllama")
    if package_dir is None:
        return None
    try:
        return WordLlamaEmbedder(package_dir)
    except (ImportError, OSError):
        return None


def available_embedder() -> str | None:
    """Name of the best embedder installed here, or ``None`` for TF-IDF only."""
    return WORDLLAMA if get_embedder(WORDLLAMA) is not None else None
