"""Sparse TF-IDF features for short customer messages in Chinese and English.

Two views of each normalised message are combined:

* word n-grams: jieba segments Chinese (English words come through whole), so "提币" and
  "冻结" are features even when the surrounding words are new;
* character n-grams within word boundaries: robust to typos, missing segmentation, slang
  glued to Chinese ("提u", "gas费") and English inflections ("withdrawal" / "withdrawing").

The vectoriser is our own rather than scikit-learn's so that a saved model is plain JSON and
numbers (no pickle) and loads identically under any library version.
"""

from __future__ import annotations

import io
import logging
import math
import re
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from kefu.bot.engine.normalize import normalize_text

# Words jieba's general dictionary does not know or splits in unhelpful places. Segmenting them
# as one token gives the word view a feature that the customer's vocabulary shares with ours.
DOMAIN_WORDS = (
    "提币",
    "提现",
    "充币",
    "充值",
    "到账",
    "未到账",
    "没到账",
    "出金",
    "入金",
    "提u",
    "充u",
    "助记词",
    "私钥",
    "公钥",
    "keystore",
    "冷钱包",
    "热钱包",
    "硬件钱包",
    "观察钱包",
    "验证码",
    "短信验证码",
    "邮箱验证码",
    "谷歌验证",
    "谷歌验证器",
    "身份验证器",
    "二次验证",
    "双重验证",
    "实名认证",
    "人脸识别",
    "转人工",
    "人工客服",
    "在线客服",
    "客服电话",
    "手续费",
    "矿工费",
    "gas费",
    "燃料费",
    "链上",
    "主网",
    "公链",
    "合约地址",
    "标签",
    "memo",
    "备注",
    "哈希",
    "交易哈希",
    "区块浏览器",
    "确认数",
    "工单",
    "申诉",
    "冻结",
    "解冻",
    "解封",
    "被盗",
    "盗号",
    "钓鱼",
    "白屏",
    "闪退",
    "卡顿",
    "空投",
    "质押",
    "兑换",
    "闪兑",
    "授权",
    "限额",
    "单笔",
    "风控",
    "审核中",
    "处理中",
    "排队",
)
_WORD_CHARS = re.compile(r"\w", re.UNICODE)
_NON_WORD = re.compile(r"[^\w]+", re.UNICODE)

# Words of jieba's dictionary kept for segmentation: those with at least this frequency.
MIN_WORD_FREQ = 50

_tokenizer_lock = threading.Lock()
_tokenizer: Any = None


def _jieba() -> Any:
    """A private jieba tokenizer with the domain words added; built once per process.

    A private instance leaves the global ``jieba`` dictionary of other code untouched. jieba
    logs its "Building prefix dict" banner through its logger; it is silenced here because the
    ``kefu bot predict`` output is JSON lines.
    """
    global _tokenizer
    if _tokenizer is None:
        with _tokenizer_lock:
            if _tokenizer is None:
                import jieba

                jieba.setLogLevel(logging.WARNING)
                logging.getLogger("jieba").setLevel(logging.WARNING)
                tokenizer = jieba.Tokenizer()
                # jieba's full dictionary (349k words, 62 MB in memory) has a long tail of rare
                # words and names; the 52k words seen at least MIN_WORD_FREQ times segment our
                # messages as well (held-out/blind/blind_hard scores equal or one message better,
                # docs/bot-engine.md) in 13 MB, which keeps a serving process lean.
                with open(jieba.get_dict_file().name, "rb") as handle:
                    common = b"".join(line for line in handle if _dict_freq(line) >= MIN_WORD_FREQ)
                tokenizer.FREQ, tokenizer.total = tokenizer.gen_pfdict(io.BytesIO(common))
                tokenizer.initialized = True
                for word in DOMAIN_WORDS:
                    tokenizer.add_word(word, freq=20000)
                _tokenizer = tokenizer
    return _tokenizer


def _dict_freq(line: bytes) -> int:
    parts = line.split()
    try:
        return int(parts[1])
    except (IndexError, ValueError):
        return 0


def word_tokens(normalized: str) -> list[str]:
    """Segment normalised text into words, dropping whitespace and punctuation."""
    return [tok for tok in _jieba().lcut(normalized, HMM=True) if _WORD_CHARS.search(tok)]


def word_ngrams(tokens: Sequence[str], ngram_range: tuple[int, int]) -> list[str]:
    """Word n-grams (joined with a space) for every n in ``ngram_range``."""
    low, high = ngram_range
    grams: list[str] = []
    for n in range(low, high + 1):
        grams.extend(" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1))
    return grams


def char_ngrams(normalized: str, ngram_range: tuple[int, int]) -> list[str]:
    """Character n-grams inside word boundaries, each chunk padded with spaces.

    Chinese has no spaces, so a whole Chinese clause is one chunk and its n-grams cross word
    boundaries, which is what makes them robust to segmentation mistakes.
    """
    low, high = ngram_range
    grams: list[str] = []
    for chunk in _NON_WORD.sub(" ", normalized).split():
        padded = f" {chunk} "
        for n in range(low, high + 1):
            if n > len(padded):
                break
            grams.extend(padded[i : i + n] for i in range(len(padded) - n + 1))
    return grams


@dataclass
class _Block:
    """One TF-IDF vocabulary: term -> column, with inverse document frequencies."""

    vocabulary: dict[str, int] = field(default_factory=dict)
    idf: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @classmethod
    def fit(cls, docs: Sequence[list[str]], min_df: int) -> _Block:
        df: Counter[str] = Counter()
        for doc in docs:
            df.update(set(doc))
        terms = sorted(term for term, count in df.items() if count >= min_df)
        n_docs = len(docs)
        # Smoothed idf, as scikit-learn's default: ln((1 + n) / (1 + df)) + 1.
        idf = np.array([math.log((1 + n_docs) / (1 + df[t])) + 1.0 for t in terms], dtype=np.float64)
        return cls(vocabulary={t: i for i, t in enumerate(terms)}, idf=idf)

    def row(self, doc: list[str]) -> tuple[list[int], list[float]]:
        """Columns and l2-normalised sublinear TF-IDF values of one document."""
        vocab = self.vocabulary
        counts = Counter(vocab[t] for t in doc if t in vocab)
        if not counts:
            return [], []
        columns = list(counts)
        idf = self.idf
        values = [(1.0 + math.log(counts[col])) * idf[col] for col in columns]
        norm = math.sqrt(sum(v * v for v in values))
        return columns, [v / norm for v in values]


@dataclass(frozen=True)
class FeatureConfig:
    """How messages become features; stored with a saved model."""

    word_ngrams: tuple[int, int] = (1, 2)
    char_ngrams: tuple[int, int] = (1, 4)
    word_min_df: int = 1
    char_min_df: int = 1
    # Relative weight of the character block; both blocks are l2-normalised first.
    char_weight: float = 1.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureConfig:
        return cls(
            word_ngrams=tuple(data["word_ngrams"]),
            char_ngrams=tuple(data["char_ngrams"]),
            word_min_df=int(data["word_min_df"]),
            char_min_df=int(data["char_min_df"]),
            char_weight=float(data["char_weight"]),
        )


class TextVectorizer:
    """Turns raw messages into an l2-normalised word block next to a character block."""

    def __init__(self, config: FeatureConfig | None = None) -> None:
        self.config = config or FeatureConfig()
        self._word = _Block()
        self._char = _Block()

    def analyze(self, text: str) -> tuple[list[str], list[str]]:
        """The word and character n-grams of one raw message."""
        normalized = normalize_text(text)
        words = word_ngrams(word_tokens(normalized), self.config.word_ngrams)
        chars = char_ngrams(normalized, self.config.char_ngrams)
        return words, chars

    def fit_transform(self, texts: Iterable[str]) -> sp.csr_matrix:
        """Learn vocabularies and idf weights from ``texts`` and return their features."""
        analyzed = [self.analyze(t) for t in texts]
        words = [a[0] for a in analyzed]
        chars = [a[1] for a in analyzed]
        self._word = _Block.fit(words, self.config.word_min_df)
        self._char = _Block.fit(chars, self.config.char_min_df)
        return self._stack(words, chars)

    def transform(self, texts: Iterable[str]) -> sp.csr_matrix:
        """Features of ``texts`` under the fitted vocabularies; unknown terms are ignored."""
        analyzed = [self.analyze(t) for t in texts]
        return self._stack([a[0] for a in analyzed], [a[1] for a in analyzed])

    def _stack(self, words: Sequence[list[str]], chars: Sequence[list[str]]) -> sp.csr_matrix:
        # Built row by row in plain Python: for the one-message case that prediction serves,
        # this is several times faster than composing scipy operations (diags, hstack).
        offset = len(self._word.vocabulary)
        weight = self.config.char_weight
        indptr = [0]
        indices: list[int] = []
        values: list[float] = []
        for word_doc, char_doc in zip(words, chars, strict=True):
            cols, vals = self._word.row(word_doc)
            indices.extend(cols)
            values.extend(vals)
            cols, vals = self._char.row(char_doc)
            indices.extend(c + offset for c in cols)
            values.extend(v * weight for v in vals)
            indptr.append(len(indices))
        return sp.csr_matrix(
            (np.asarray(values, dtype=np.float32), np.asarray(indices, dtype=np.int32), np.asarray(indptr)),
            shape=(len(words), self.n_features),
        )

    @property
    def n_features(self) -> int:
        """Total number of feature columns."""
        return len(self._word.vocabulary) + len(self._char.vocabulary)

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """JSON-able metadata and numeric arrays that fully describe the fitted vectoriser."""
        meta = {
            "config": self.config.to_dict(),
            "word_terms": _terms(self._word.vocabulary),
            "char_terms": _terms(self._char.vocabulary),
        }
        return meta, {"word_idf": self._word.idf, "char_idf": self._char.idf}

    @classmethod
    def from_state(cls, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> TextVectorizer:
        """Rebuild a fitted vectoriser from :meth:`state` output."""
        vectorizer = cls(FeatureConfig.from_dict(meta["config"]))
        vectorizer._word = _Block({t: i for i, t in enumerate(meta["word_terms"])}, arrays["word_idf"])
        vectorizer._char = _Block({t: i for i, t in enumerate(meta["char_terms"])}, arrays["char_idf"])
        return vectorizer


def _terms(vocabulary: dict[str, int]) -> list[str]:
    terms = [""] * len(vocabulary)
    for term, index in vocabulary.items():
        terms[index] = term
    return terms
