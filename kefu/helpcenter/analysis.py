"""Text analysis for help-centre search: one function turns text into index terms.

The same analysis runs over articles and over queries, so whatever a customer types meets the
article's words in the same form:

* NFKC folds full-width letters and digits from a Chinese IME ("ＵＳＤＴ") to ASCII;
* OpenCC maps traditional characters to simplified ("帳號被鎖定" → "帐号被锁定");
* Chinese runs are segmented by jieba in search mode (words and their sub-words), and also cut
  into character bigrams, which still match when jieba splits a phrase differently from the
  article or the customer writes slang it does not know;
* Latin runs become lower-cased words with a light suffix stemmer ("locked" → "lock",
  "withdrawals" → "withdrawal"), and "ERC-20" also counts as "erc20";
* synonym groups from ``data/synonyms.yaml`` add one shared term per group, so "提U" finds an
  article that only says "提现", and "seed phrase" one that says "助记词".

Terms live in three namespaces: plain words, ``#`` + bigram, and ``~`` + synonym group.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import yaml

SYNONYMS_FILE = Path(__file__).parent / "data" / "synonyms.yaml"

BIGRAM_PREFIX = "#"
SYNONYM_PREFIX = "~"

# CJK unified ideographs (with extension A and the compatibility block).
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# Zero-width characters that copy-paste from chat apps leaves inside words, and curly quotes.
_CHAR_FIXES: dict[int, str | None] = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"), None)
_CHAR_FIXES.update({ord("\u2018"): "'", ord("\u2019"): "'"})  # "didn’t" is "didn't"

# Function words that carry no topic: dropped, and a chunk boundary for bigrams, so that
# "充值一直没到账怎么办" does not produce the bigram "账怎" or rank every "…怎么办？" title.
ZH_STOPWORDS = frozenset(
    """的 了 吗 呢 啊 吧 呀 嘛 哦 哈 么 我 你 您 他 她 它 我们 你们 他们 是 在 有 和 与 或 及 就 都 也 还 又
    怎么 怎么办 怎样 如何 什么 为什么 为何 哪里 哪儿 哪个 请问 一下 一直 这个 那个 这 那 要 会 想 把 让 给
    可以 可能 能否 是否 已经 现在 然后 但是 但 而且 如果 因为 所以 自己 一个 一些 这样 那样 之后 之前
    时候 还是 没有 不是 还有 需要 应该 为 对 从 到 被 着 过 很 太 更 最 好 帮 帮忙 谢谢 您好 你好 这么 那么""".split()
)
EN_STOPWORDS = frozenset(
    """a an the and or but if then else of to in on at by for with from into onto about as is are was were be
    been being am do does did doing have has had having i me my mine we us our you your yours he him his she
    her it its they them their this that these those there here what which who whom whose when where why
    how can could should would will shall may might must not no nor so too very just only also than such
    up out over under again once any all each both few more most other some own same s t don doesn didn
    isn aren wasn weren hasn haven hadn won wouldn shouldn couldn cannot cant please help hi hello thanks
    thank get got im ive id ill let lets one still yet""".split()
)


# --- normalisation -------------------------------------------------------------------------


def _t2s() -> Any:
    # The code base's one t2s converter (OpenCC reads its dictionaries on first use).
    from kefu import script

    return script.converter("t2s")


@cache
def _traditional_triggers() -> frozenset[str] | None:
    """Characters that can change under t2s, or None to always convert.

    The pure-Python OpenCC converts about 0.1 MB/s; article text is nearly all simplified, so
    lines without any of these characters skip the converter (their conversion is the identity).
    """
    try:
        import opencc

        folder = Path(opencc.__file__).parent / "dictionary"
        triggers = {line.split("\t", 1)[0] for line in _lines(folder / "TSCharacters.txt")}
        for line in _lines(folder / "TSPhrases.txt"):
            phrase, _, converted = line.partition("\t")
            if phrase != converted.split(" ")[0] and not any(char in triggers for char in phrase):
                triggers.update(phrase)  # a phrase that converts although each character is plain
        return frozenset(triggers)
    except (OSError, ValueError):
        return None


def _lines(path: Path) -> list[str]:
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def to_simplified(text: str) -> str:
    """Traditional → simplified Chinese; other text is returned unchanged."""
    triggers = _traditional_triggers()
    if triggers is None:
        return _t2s().convert(text)
    if triggers.isdisjoint(text):
        return text
    return "\n".join(line if triggers.isdisjoint(line) else _t2s().convert(line) for line in text.split("\n"))


def normalize(text: str) -> str:
    """The canonical form every index term is taken from: half-width, simplified, lower case."""
    text = unicodedata.normalize("NFKC", text or "").translate(_CHAR_FIXES)
    return to_simplified(text).lower()


# --- English -------------------------------------------------------------------------------


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A light English stemmer: plural, -ing and -ed endings, a trailing e.

    Deliberately simpler than Porter: it only has to map the forms customers write
    ("withdrawals", "withdrawing", "withdrawn" is a synonym entry) onto one term, and both
    articles and queries go through it, so an odd stem on both sides still matches.
    """
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("sses"):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    for suffix in ("ing", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            if len(word) >= 4 and word[-1] == word[-2] and word[-1] not in "lsz":
                word = word[:-1]  # "stopped" → "stop", "getting" → "get"
            break
    if word.endswith("e") and len(word) > 3:
        word = word[:-1]  # "receive" and "received" both → "receiv"
    return word


_LATIN_WORD = re.compile(r"[a-z0-9]+")
# "erc-20", "trc20" and "TRC 20" should meet: compounds also count in their glued form.
_LATIN_COMPOUND = re.compile(r"(?<![a-z0-9])[a-z0-9]+(?:[-_.][a-z0-9]+)+")
_LATIN_JOINERS = str.maketrans("", "", "-_.")


def _latin_terms(text: str) -> list[str]:
    terms = [compound.translate(_LATIN_JOINERS) for compound in _LATIN_COMPOUND.findall(text)]
    # Single letters and digits ("1", "u") match nearly every article and mean little alone.
    terms.extend(
        stem(word) for word in _LATIN_WORD.findall(text) if len(word) > 1 and word not in EN_STOPWORDS
    )
    return terms


# --- Chinese -------------------------------------------------------------------------------

_jieba_lock = threading.Lock()
_jieba_instance: Any = None


# Words of jieba's dictionary kept: those seen at least this often (the bot's cut, see
# kefu.bot.engine.features.MIN_WORD_FREQ). The full dictionary (349k words) costs a serving
# process about 70 MB; the 52k common words about 9 MB. Search loses nothing it relies on:
# ticket search matches on character bigrams (jieba's words only rank and highlight), and the
# help centre's index is built with the same tokenizer as its queries, bigrams included.
MIN_WORD_FREQ = 50


def _common_words(lines: Iterable[bytes]) -> bytes:
    kept = []
    for line in lines:
        parts = line.split()
        if len(parts) > 1 and parts[1].isdigit() and int(parts[1]) >= MIN_WORD_FREQ:
            kept.append(line)
    return b"".join(kept)


def _jieba() -> Any:
    """A private jieba tokenizer on jieba's common words, with the synonym terms added as words.

    Private so that adding words here never changes how other code (the bot) segments text.
    """
    global _jieba_instance
    if _jieba_instance is None:
        with _jieba_lock:
            if _jieba_instance is None:
                import io

                import jieba

                logging.getLogger("jieba").setLevel(logging.WARNING)
                tokenizer = jieba.Tokenizer()
                with jieba.get_dict_file() as handle:
                    common = _common_words(handle)
                tokenizer.FREQ, tokenizer.total = tokenizer.gen_pfdict(io.BytesIO(common))
                tokenizer.initialized = True
                for term in synonyms().cjk_words:
                    tokenizer.add_word(term, freq=2000)
                _jieba_instance = tokenizer
    return _jieba_instance


_CJK_WORD = re.compile(rf"[{_CJK}]+")


def _cjk_terms(text: str) -> list[str]:
    """jieba words (search mode) and bigrams of the Chinese in ``text``.

    One jieba pass over the whole text: anything that is not a Chinese word (Latin, digits,
    punctuation) or is a stop word ends a chunk, and bigrams never cross a chunk boundary.
    """
    tokenizer = _jieba()
    freq = tokenizer.FREQ
    terms: list[str] = []
    chunk: list[str] = []
    # Only the Chinese runs go to jieba (it would build its word graph over Latin letters too);
    # the spaces between them end chunks like any other non-Chinese token.
    for word in tokenizer.cut(" ".join(_CJK_WORD.findall(text))):
        if word in ZH_STOPWORDS or not _CJK_WORD.fullmatch(word):
            if chunk:
                _flush(chunk, terms)
                chunk = []
            continue
        chunk.append(word)
        size = len(word)
        if size > 1:
            terms.append(word)
        # jieba's search mode: the dictionary words inside a long word, so "身份验证器" also
        # yields "验证器" and "验证".
        if size > 2:
            terms.extend(word[i : i + 2] for i in range(size - 1) if freq.get(word[i : i + 2]))
            if size > 3:
                terms.extend(word[i : i + 3] for i in range(size - 2) if freq.get(word[i : i + 3]))
    if chunk:
        _flush(chunk, terms)
    return terms


def _flush(chunk: list[str], terms: list[str]) -> None:
    if len(chunk) == 1 and len(chunk[0]) == 1:
        terms.append(chunk[0])  # a lone character ("提" in "提U") is all there is
    else:
        terms.extend(_bigrams("".join(chunk)))


def _bigrams(chunk: str) -> list[str]:
    if len(chunk) < 2:
        return []
    return [BIGRAM_PREFIX + chunk[i : i + 2] for i in range(len(chunk) - 1)]


# --- synonyms ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Synonyms:
    """Synonym groups and the regular expressions that find their terms in normalised text."""

    groups: dict[str, tuple[str, ...]]
    term_groups: dict[str, tuple[str, ...]]
    patterns: tuple[re.Pattern[str], ...]
    cjk_words: tuple[str, ...]

    def group_terms(self, text: str) -> list[str]:
        """``~group`` terms for every synonym found in normalised ``text``."""
        found = []
        for pattern in self.patterns:
            for match in pattern.finditer(text):
                for group in self._groups_of(_synonym_key(match.group(0))):
                    found.append(SYNONYM_PREFIX + group)
        return found

    def _groups_of(self, key: str) -> tuple[str, ...]:
        # The pattern also accepts inflected forms ("withdrawals"); strip what it may have added.
        for suffix in ("", "s", "es", "ed", "d", "ing"):
            if key.endswith(suffix) and (groups := self.term_groups.get(key[: len(key) - len(suffix)])):
                return groups
        return ()


def _synonym_key(term: str) -> str:
    # Spaces and hyphens are optional in the pattern ("top up", "top-up", "topup"), so the key
    # of a term ignores them.
    return re.sub(r"[\s\-]+", "", term)


def _term_pattern(term: str) -> str:
    pieces = [re.escape(part) for part in re.split(r"[\s\-]+", term) if part]
    body = r"[\s\-]*".join(pieces)
    if re.search(r"[a-z0-9]$", term) and re.search(rf"[{_CJK}]", term):
        body += r"(?![a-z0-9])"  # "提u" is not the start of "提upgrade"
    return body


def _patterns(terms: list[str]) -> tuple[re.Pattern[str], ...]:
    """Two alternations, longest term first (at one position the regex takes the first
    alternative that matches, so "网络费" — a fee — wins over "网络" — a network).

    Terms with Chinese characters and purely Latin terms are kept apart: every alternative of
    the first starts with a literal, which lets the regex engine skip non-candidate positions;
    the Latin one needs word boundaries and accepts inflections ("withdrawals", "locked").
    Together they are ~30× faster than one alternation with per-term look-arounds.
    """
    cjk = [t for t in terms if re.search(rf"[{_CJK}]", t)]
    latin = [t for t in terms if t not in cjk]
    patterns = []
    if cjk:
        patterns.append(re.compile("|".join(_term_pattern(t) for t in cjk)))
    if latin:
        alternatives = "|".join(_term_pattern(t) for t in latin)
        patterns.append(re.compile(rf"(?<![a-z0-9])(?:{alternatives})(?:s|es|ed|d|ing)?(?![a-z0-9])"))
    return tuple(patterns)


@cache
def synonyms() -> Synonyms:
    """The synonym groups of ``data/synonyms.yaml``, normalised like all other text."""
    data = yaml.safe_load(SYNONYMS_FILE.read_text(encoding="utf-8")) or {}
    return build_synonyms(data.get("groups", {}))


def build_synonyms(raw_groups: dict[str, Iterable[str]]) -> Synonyms:
    groups: dict[str, tuple[str, ...]] = {}
    term_groups: dict[str, list[str]] = {}
    for name, terms in raw_groups.items():
        normalised = tuple(dict.fromkeys(normalize(str(t)).strip() for t in terms if str(t).strip()))
        groups[name] = normalised
        for term in normalised:
            names = term_groups.setdefault(_synonym_key(term), [])
            if name not in names:
                names.append(name)
    terms = sorted({t for ts in groups.values() for t in ts}, key=lambda t: (-len(t), t))
    cjk_words = tuple(t for t in terms if re.fullmatch(rf"[{_CJK}]{{2,}}", t))
    return Synonyms(
        groups=groups,
        term_groups={key: tuple(value) for key, value in term_groups.items()},
        patterns=_patterns(terms),
        cjk_words=cjk_words,
    )


# --- the analyser --------------------------------------------------------------------------


def terms_of_normalized(text: str) -> list[str]:
    """Index terms of text that has already been through :func:`normalize`."""
    terms = synonyms().group_terms(text)
    terms.extend(_latin_terms(text))
    terms.extend(_cjk_terms(text))
    return terms


def analyze(text: str) -> Counter[str]:
    """Term frequencies of ``text``."""
    return Counter(terms_of_normalized(normalize(text)))


def highlight_terms(text: str) -> list[str]:
    """Surface forms worth marking in a snippet for the query ``text``: its words (not
    bigrams) and every term of the synonym groups it touches."""
    normalised = normalize(text)
    words: set[str] = set()
    table = synonyms()
    for term in terms_of_normalized(normalised):
        if term.startswith(SYNONYM_PREFIX):
            words.update(table.groups.get(term[1:], ()))
        elif not term.startswith(BIGRAM_PREFIX):
            words.add(term)
    return sorted(words, key=lambda w: (-len(w), w))
