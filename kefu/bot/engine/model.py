"""The intent classifier: features -> linear SVM -> calibrated scores -> out-of-scope decision."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from kefu.bot.engine.embeddings import available_embedder, get_embedder
from kefu.bot.engine.features import FeatureConfig, TextVectorizer
from kefu.bot.engine.intents import OUT_OF_SCOPE
from kefu.bot.engine.normalize import normalize_text

FORMAT_VERSION = 1
_META_FILE = "model.json"
_ARRAYS_FILE = "weights.npz"


@dataclass(frozen=True)
class Prediction:
    """The engine's answer for one message.

    ``intent`` is the decision (possibly ``out_of_scope``); ``confidence`` is the calibrated
    probability of that decision; ``ranked`` lists every in-scope intent with its probability,
    best first, even when the decision is ``out_of_scope`` (useful for suggestions).
    """

    intent: str
    confidence: float
    ranked: list[tuple[str, float]]


@dataclass
class TrainReport:
    """What :meth:`IntentEngine.train` measured while fitting; kept in the saved model."""

    n_examples: int = 0
    n_intents: int = 0
    n_out_of_scope: int = 0
    n_features: int = 0
    scale: float = 1.0
    threshold: float = 0.0
    threshold_source: str = "none"
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


class IntentEngine:
    """Multilingual intent classifier with an explicit out-of-scope decision.

    Scores come from a one-vs-rest linear SVM over word and character TF-IDF n-grams,
    optionally next to averaged static word embeddings. A softmax with a temperature learned by
    cross-validation turns scores into probabilities. A message is out of scope when the
    ``out_of_scope`` class (if trained) wins or when the best in-scope probability is below a
    threshold chosen on held-out predictions.
    """

    def __init__(
        self,
        *,
        vectorizer: TextVectorizer,
        classes: list[str],
        coef: np.ndarray,
        intercept: np.ndarray,
        scale: float,
        threshold: float,
        embedder: str | None,
        embedder_fingerprint: str | None,
        dense_weight: float,
        report: TrainReport | None = None,
        oos_similarity_weight: float = 0.0,
        memory: np.ndarray | None = None,
    ) -> None:
        self.vectorizer = vectorizer
        self.classes = classes
        self.coef = coef
        self.intercept = intercept
        self.scale = scale
        self.threshold = threshold
        self.embedder = embedder
        self.embedder_fingerprint = embedder_fingerprint
        self.dense_weight = dense_weight
        self.report = report or TrainReport()
        # Out-of-scope score with a similarity term: unit embeddings of the in-scope training
        # examples (float16 on disk and in memory; see `_oos_scores`).
        self.oos_similarity_weight = oos_similarity_weight if memory is not None else 0.0
        self.memory = memory
        self._memory_t = None if memory is None else np.ascontiguousarray(memory.T, dtype=np.float32)
        self._in_scope = np.array([c != OUT_OF_SCOPE for c in classes])
        self._coef_t = np.ascontiguousarray(coef.T)

    # ----------------------------------------------------------------------------- training

    @classmethod
    def train(
        cls,
        examples: Iterable[tuple[str, str]],
        *,
        features: FeatureConfig | None = None,
        embeddings: str | None = "auto",
        dense_weight: float = 1.0,
        c: float = 1.0,
        threshold: float | None = None,
        validation: Iterable[tuple[str, str]] | None = None,
        oos_target_recall: float = 0.85,
        calibration_folds: int = 3,
        random_state: int = 0,
        oos_similarity_weight: float = 0.0,
    ) -> IntentEngine:
        """Fit an engine on ``(text, intent)`` pairs; intent ``out_of_scope`` marks texts to reject.

        Options:
            features: n-gram ranges and weights of the TF-IDF block.
            embeddings: ``"auto"`` (use the installed static embeddings if any), ``None`` (TF-IDF
                only) or an embedder name; see :mod:`kefu.bot.engine.embeddings`.
            dense_weight: weight of the embedding block next to the unit-norm TF-IDF blocks.
            c: SVM regularisation (larger fits the training data more closely).
            threshold: fixed minimum probability (or out-of-scope score, see
                ``oos_similarity_weight``) for an in-scope answer; if ``None`` it is chosen
                on ``validation`` if given, else on cross-validated training predictions, as the
                smallest threshold that rejects ``oos_target_recall`` of the out-of-scope
                examples there. With no out-of-scope examples the threshold is 0 (never reject).
            calibration_folds: folds used to learn the softmax temperature (and threshold);
                0 disables cross-validation.
            oos_similarity_weight: with an embedder, > 0 makes the out-of-scope decision use
                ``log(best in-scope probability) + weight * cosine similarity to the nearest
                in-scope training example`` instead of the probability alone (the threshold is then
                on that score). A query far from every training example is rejected more readily
                even when the classifier is confident. The model keeps the training embeddings.
        """
        from sklearn.model_selection import StratifiedKFold
        from sklearn.svm import LinearSVC

        started = time.perf_counter()
        pairs = [(str(text), str(label)) for text, label in examples]
        if not pairs:
            raise ValueError("no training examples")
        texts = [t for t, _ in pairs]
        labels = np.array([label for _, label in pairs])
        classes = sorted(set(labels.tolist()))
        if len([c_ for c_ in classes if c_ != OUT_OF_SCOPE]) < 1 or len(classes) < 2:
            raise ValueError("need at least two classes, one of them in scope")

        embedder_name = available_embedder() if embeddings == "auto" else embeddings
        vectorizer = TextVectorizer(features)
        sparse = vectorizer.fit_transform(texts)
        dense = _embed(embedder_name, texts)
        matrix = _with_dense(sparse, dense, dense_weight)
        validation_pairs = [(str(t), str(y)) for t, y in validation] if validation is not None else []
        # Without out-of-scope examples there is no threshold to place on the similarity score
        # (it would reject at 0 by mistake): the memory is kept only when it can be used.
        has_oos = OUT_OF_SCOPE in classes or any(y == OUT_OF_SCOPE for _, y in validation_pairs)
        memory = None
        if dense is not None and oos_similarity_weight > 0 and has_oos:
            memory = dense[labels != OUT_OF_SCOPE].astype(np.float16)

        def fit(rows: np.ndarray | slice) -> Any:
            model = LinearSVC(C=c, random_state=random_state)
            model.fit(matrix[rows], labels[rows])
            return model

        model = fit(slice(None))
        assert list(model.classes_) == classes
        coef = np.asarray(model.coef_, dtype=np.float32)
        intercept = np.asarray(model.intercept_, dtype=np.float32)
        if len(classes) == 2:
            # Binary LinearSVC has one row of weights; expand to one row per class.
            coef = np.vstack([-coef, coef])
            intercept = np.concatenate([-intercept, intercept])

        # Out-of-fold scores: an honest view of how confident the model is on unseen text.
        counts = Counter(labels.tolist())
        folds = min(calibration_folds, min(counts.values()))
        oof: np.ndarray | None = None
        if folds >= 2:
            oof = np.zeros((len(texts), len(classes)), dtype=np.float64)
            splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=random_state)
            for train_rows, test_rows in splitter.split(texts, labels):
                fold_model = fit(train_rows)
                fold_scores = fold_model.decision_function(matrix[test_rows])
                if fold_scores.ndim == 1:
                    fold_scores = np.column_stack([-fold_scores, fold_scores])
                oof[test_rows] = _align(fold_scores, list(fold_model.classes_), classes)
        scale = _fit_scale(oof, labels, classes) if oof is not None else 5.0

        engine = cls(
            vectorizer=vectorizer,
            classes=classes,
            coef=coef,
            intercept=intercept,
            scale=scale,
            threshold=0.0,
            embedder=embedder_name,
            embedder_fingerprint=_fingerprint(embedder_name),
            dense_weight=dense_weight,
            oos_similarity_weight=oos_similarity_weight,
            memory=memory,
        )

        source = "fixed"
        if threshold is None:
            threshold, source = 0.0, "none"
            if any(y == OUT_OF_SCOPE for _, y in validation_pairs):
                held_out_texts = [t for t, _ in validation_pairs]
                scores, held_out_dense = engine._scores(held_out_texts)
                probs = _softmax(scores * scale)
                oos_scores = engine._oos_scores(probs, held_out_dense)
                held_out_labels = np.array([y for _, y in validation_pairs])
                source = "validation"
            elif oof is not None and OUT_OF_SCOPE in counts:
                probs, held_out_labels = _softmax(oof * scale), labels
                # Held-out similarity of a training example: to its nearest *other* example.
                oos_scores = engine._oos_scores(probs, dense, leave_one_out=labels != OUT_OF_SCOPE)
                source = "cross-validation"
            if source != "none":
                threshold = _threshold_for_recall(
                    probs,
                    oos_scores,
                    held_out_labels,
                    engine._in_scope,
                    oos_target_recall,
                    floor=0.0 if engine.memory is None else float("-inf"),
                )
        engine.threshold = float(threshold)
        engine.report = TrainReport(
            n_examples=len(texts),
            n_intents=int(engine._in_scope.sum()),
            n_out_of_scope=counts.get(OUT_OF_SCOPE, 0),
            n_features=int(matrix.shape[1]),
            scale=float(scale),
            threshold=float(threshold),
            threshold_source=source,
            seconds=time.perf_counter() - started,
        )
        return engine

    # ---------------------------------------------------------------------------- prediction

    def predict(self, text: str) -> Prediction:
        """Classify one message."""
        return self.predict_many([text])[0]

    def predict_many(self, texts: Sequence[str]) -> list[Prediction]:
        """Classify many messages at once (faster than calling :meth:`predict` in a loop)."""
        if not texts:
            return []
        scores, dense = self._scores(list(texts))
        probs = _softmax(scores * self.scale)
        oos_scores = self._oos_scores(probs, dense)
        in_scope_idx = np.flatnonzero(self._in_scope)
        results = []
        for row, oos_score in zip(probs, oos_scores, strict=True):
            in_probs = row[in_scope_idx]
            order = np.argsort(-in_probs, kind="stable")
            ranked = [(self.classes[in_scope_idx[i]], round(float(in_probs[i]), 6)) for i in order]
            best_intent, best_prob = ranked[0]
            top = self.classes[int(np.argmax(row))]
            if top == OUT_OF_SCOPE or oos_score < self.threshold:
                # Confidence in rejecting: the mass not on the best in-scope intent.
                results.append(Prediction(OUT_OF_SCOPE, round(1.0 - best_prob, 6), ranked))
            else:
                results.append(Prediction(best_intent, best_prob, ranked))
        return results

    def _scores(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray | None]:
        """Class scores of ``texts`` and their embeddings (``None`` without an embedder)."""
        sparse = self.vectorizer.transform(texts)
        n_sparse = sparse.shape[1]
        # float32 features against float32 weights: no per-call upcast copy of the weight matrix.
        scores = np.asarray(sparse @ self._coef_t[:n_sparse], dtype=np.float64)
        dense = _embed(self.embedder, texts)
        if dense is not None:
            scores += (dense * self.dense_weight) @ self._coef_t[n_sparse:]
        return scores + self.intercept, dense

    def _probabilities(self, texts: list[str]) -> np.ndarray:
        return _softmax(self._scores(texts)[0] * self.scale)

    def _oos_scores(
        self, probs: np.ndarray, dense: np.ndarray | None, *, leave_one_out: np.ndarray | None = None
    ) -> np.ndarray:
        """What the threshold is compared with: low means out of scope.

        The best in-scope probability, or with a similarity memory ``log(best probability) +
        weight * max cosine similarity to the in-scope training examples``. ``leave_one_out``
        (training rows only) marks the rows that are themselves in the memory, in order, so that
        their own entry is left out.
        """
        best = probs[:, self._in_scope].max(axis=1)
        if self._memory_t is None or dense is None:
            return best
        sims = np.empty(len(dense), dtype=np.float32)
        memory_row = np.full(len(dense), -1)
        if leave_one_out is not None:
            memory_row[leave_one_out] = np.arange(int(leave_one_out.sum()))
        for start in range(0, len(dense), 2048):
            block = dense[start : start + 2048].astype(np.float32) @ self._memory_t
            rows = np.flatnonzero(memory_row[start : start + 2048] >= 0)
            block[rows, memory_row[start + rows]] = -1.0
            sims[start : start + 2048] = block.max(axis=1)
        return np.log(np.maximum(best, 1e-12)) + self.oos_similarity_weight * sims

    @property
    def intents(self) -> list[str]:
        """The in-scope intents this engine can return."""
        return [c for c in self.classes if c != OUT_OF_SCOPE]

    # ---------------------------------------------------------------------------- persistence

    def save(self, directory: Path) -> None:
        """Write the model as JSON plus a NumPy ``.npz`` (no pickle) into ``directory``."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        vec_meta, vec_arrays = self.vectorizer.state()
        meta = {
            "format": FORMAT_VERSION,
            "classes": self.classes,
            "scale": self.scale,
            "threshold": self.threshold,
            "embedder": self.embedder,
            "embedder_fingerprint": self.embedder_fingerprint,
            "dense_weight": self.dense_weight,
            "oos_similarity_weight": self.oos_similarity_weight,
            "vectorizer": vec_meta,
            "report": self.report.__dict__,
        }
        # Write to temporary names and rename, so a concurrent reader never sees half a model.
        tmp_arrays = directory / f".{_ARRAYS_FILE}.tmp"
        with tmp_arrays.open("wb") as handle:
            arrays: dict[str, Any] = {"coef": self.coef, "intercept": self.intercept, **vec_arrays}
            if self.memory is not None:
                arrays["memory"] = self.memory
            np.savez(handle, **arrays)
        tmp_meta = directory / f".{_META_FILE}.tmp"
        tmp_meta.write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
        tmp_arrays.replace(directory / _ARRAYS_FILE)
        tmp_meta.replace(directory / _META_FILE)

    @classmethod
    def load(cls, directory: Path) -> IntentEngine:
        """Load a model written by :meth:`save`."""
        directory = Path(directory)
        meta = json.loads((directory / _META_FILE).read_text(encoding="utf-8"))
        if meta.get("format") != FORMAT_VERSION:
            raise ValueError(f"unsupported model format {meta.get('format')!r} in {directory}")
        with np.load(directory / _ARRAYS_FILE, allow_pickle=False) as arrays:
            data = {key: arrays[key] for key in arrays.files}
        embedder = meta["embedder"]
        if embedder is not None:
            found = _fingerprint(embedder)
            if found is None:
                raise RuntimeError(
                    f"model in {directory} needs embedder {embedder!r}, which is not installed"
                )
            if found != meta["embedder_fingerprint"]:
                raise RuntimeError(f"model in {directory} was trained with different {embedder!r} weights")
        report = TrainReport(**meta.get("report", {}))
        return cls(
            vectorizer=TextVectorizer.from_state(meta["vectorizer"], data),
            classes=list(meta["classes"]),
            coef=data["coef"],
            intercept=data["intercept"],
            scale=float(meta["scale"]),
            threshold=float(meta["threshold"]),
            embedder=embedder,
            embedder_fingerprint=meta["embedder_fingerprint"],
            dense_weight=float(meta["dense_weight"]),
            report=report,
            oos_similarity_weight=float(meta.get("oos_similarity_weight", 0.0)),
            memory=data.get("memory"),
        )


# --------------------------------------------------------------------------------- helpers


def _embed(name: str | None, texts: list[str]) -> np.ndarray | None:
    if name is None:
        return None
    embedder = get_embedder(name)
    if embedder is None:
        raise RuntimeError(f"embedder {name!r} is not installed")
    return embedder.embed([normalize_text(t) for t in texts])


def _fingerprint(name: str | None) -> str | None:
    if name is None:
        return None
    embedder = get_embedder(name)
    return None if embedder is None else embedder.fingerprint()


def _with_dense(sparse: sp.csr_matrix, dense: np.ndarray | None, weight: float) -> sp.csr_matrix:
    if dense is None:
        return sparse
    return sp.hstack([sparse, sp.csr_matrix(dense * weight)], format="csr")


def _softmax(scores: np.ndarray) -> np.ndarray:
    shifted = scores - scores.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


def _align(scores: np.ndarray, fold_classes: list[str], classes: list[str]) -> np.ndarray:
    """Put a fold model's score columns in the full class order (missing classes score low)."""
    out = np.full((scores.shape[0], len(classes)), -10.0)
    index = {c: i for i, c in enumerate(classes)}
    for j, cls_name in enumerate(fold_classes):
        out[:, index[cls_name]] = scores[:, j]
    return out


def _fit_scale(scores: np.ndarray, labels: np.ndarray, classes: list[str]) -> float:
    """Softmax temperature minimising the log loss of out-of-fold scores (temperature scaling)."""
    from scipy.optimize import minimize_scalar

    index = {c: i for i, c in enumerate(classes)}
    truth = np.array([index[y] for y in labels])

    def nll(log_scale: float) -> float:
        probs = _softmax(scores * np.exp(log_scale))
        return float(-np.mean(np.log(probs[np.arange(len(truth)), truth] + 1e-12)))

    result = minimize_scalar(nll, bounds=(np.log(0.1), np.log(200.0)), method="bounded")
    return float(np.exp(result.x))


def _threshold_for_recall(
    probs: np.ndarray,
    oos_scores: np.ndarray,
    labels: np.ndarray,
    in_scope: np.ndarray,
    target: float,
    *,
    floor: float = 0.0,
) -> float:
    """Smallest threshold on ``oos_scores`` that rejects ``target`` of the out-of-scope rows.

    Rows already rejected because the out-of-scope class wins count as caught at any threshold.
    Picking the smallest such threshold costs the fewest in-scope answers. Without out-of-scope
    rows, or when the class alone reaches the target, the threshold is ``floor`` (rejects
    nothing more: 0 for a probability, -inf for a score that can be negative).
    """
    is_oos = labels == OUT_OF_SCOPE
    if not is_oos.any():
        return floor
    won_by_oos = ~in_scope[probs.argmax(axis=1)]
    oos_best = np.sort(oos_scores[is_oos & ~won_by_oos])
    already = int((is_oos & won_by_oos).sum())
    needed = int(np.ceil(target * is_oos.sum())) - already
    if needed <= 0:
        return floor
    # Reject a row when score < threshold, so the threshold sits just above the needed-th lowest.
    if needed > len(oos_best):
        return float(np.inf)
    return float(np.nextafter(oos_best[needed - 1], np.inf))
