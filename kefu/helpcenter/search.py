"""Help-centre search: BM25F over published articles, held in memory by each process.

How a query is answered
-----------------------
Every published article is analysed (:mod:`kefu.helpcenter.analysis`) field by field. Per
language, a sparse matrix holds one BM25F weight per (article, term): field term counts are
length-normalised per field, weighted (title > keywords > summary/key steps > body), summed,
saturated with ``k1`` and multiplied by the term's IDF. Answering a query is then a sum of a
few matrix columns — one per query term — and a partial sort, with no per-article work.

The query's own language is searched first: Chinese characters mean Chinese, English words
mean English, and a query of only codes and acronyms ("USDT", "KYC") takes the reader's
language. Articles in the other language are added only when the first language has no hit,
or when they match about as strongly as its best one: a Chinese query is not padded with
English articles that merely share a synonym (a Chinese query on the English site still finds
the Chinese article).

Freshness
---------
The index is a cache of the ``Article`` table, so it must change when the table does, in every
process. The cache (Redis in production) holds an opaque version token; any change to an
article replaces the token once its transaction commits (actions and model signals, so admin
edits count too). Before each search a process compares the token with the one its index was
built under and rebuilds on a difference. Rebuilding re-analyses only the articles whose text
changed. A random token rather than a counter: if the cache loses the key, the next reader
writes a new token and every process rebuilds, instead of a counter restarting at a value a
stale process already holds. With the default per-process cache, a fingerprint of the table
(count, last id, last change) read every couple of seconds stands in for the shared token.
"""

from __future__ import annotations

import hashlib
import re
import sys
import threading
import time
import uuid
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import scipy.sparse as sp
from django.core.cache import cache
from django.db import transaction
from django.db.models import Count, Max
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from kefu.helpcenter import analysis
from kefu.helpcenter.models import Article, Language

VERSION_KEY = "helpcenter:search-index-version"
LANGUAGES = (Language.ZH_HANS.value, Language.EN.value)

# (field, weight, length normalisation b). Titles and keywords are short and written to be
# found; the body is long, so its length is normalised harder.
FIELDS: tuple[tuple[str, float, float], ...] = (
    ("title", 3.0, 0.5),
    ("keywords", 2.0, 0.3),
    ("summary", 1.5, 0.5),
    ("body", 1.0, 0.75),
)
K1 = 1.2
# A bigram is weaker evidence than a word or a synonym group: many bigrams are accidental.
BIGRAM_QUERY_WEIGHT = 0.5
# Long pasted text would make a query touch thousands of columns; the first part says enough.
MAX_QUERY_CHARS = 200
SNIPPET_CHARS = 160
# Hits scoring below this share of the best one matched only on incidental words ("提现"
# mentioned in passing): listing twenty of them buries the answer rather than helping.
MIN_RELATIVE_SCORE = 0.2
# An article in the other language joins the results only when it scores at least this share of
# the best hit in the query's language (or that language has none).
OTHER_LANGUAGE_MIN_SCORE = 0.5
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_ENGLISH_WORD = re.compile(r"[a-z]{3,}")


def normalize_language(language: str | None) -> str:
    """``en``, ``en-us`` → ``en``; every Chinese variant (and anything else) → ``zh-hans``."""
    return Language.EN.value if (language or "").lower().startswith("en") else Language.ZH_HANS.value


def query_language(query: str, *, reader_language: str | None) -> str:
    """The language a query is written in: Chinese characters → Chinese; an English word (three
    lower-case letters or more) → English; codes and acronyms alone → the reader's language."""
    if _CJK.search(query):
        return Language.ZH_HANS.value
    if _ENGLISH_WORD.search(query):
        return Language.EN.value
    return normalize_language(reader_language)


def other_language(language: str) -> str:
    return Language.ZH_HANS.value if language == Language.EN.value else Language.EN.value


@dataclass(frozen=True)
class SearchHit:
    """One search result. ``snippet`` is escaped HTML with matches wrapped in ``<mark>``."""

    article_id: int
    slug: str
    language: str
    title: str
    summary: str
    snippet: str
    score: float


@dataclass(frozen=True)
class IndexSource:
    """What the index needs of one published article."""

    article_id: int
    slug: str
    language: str
    title: str
    summary: str
    body_markdown: str
    keywords: tuple[str, ...] = ()
    key_steps: tuple[str, ...] = ()
    intents: tuple[str, ...] = ()
    category_id: int | None = None

    def digest(self) -> str:
        text = "\x1f".join(
            [self.title, self.summary, self.body_markdown, *self.keywords, "\x1e", *self.key_steps]
        )
        return hashlib.sha1(text.encode("utf-8"), usedforsecurity=False).hexdigest()


@dataclass(frozen=True)
class _FieldTerms:
    """A field's distinct terms and their counts. Compact on purpose: kept for every article
    between rebuilds, with interned strings (a term is stored once, not once per article)."""

    terms: tuple[str, ...]
    counts: np.ndarray


@dataclass(frozen=True)
class _Analysed:
    fields: dict[str, _FieldTerms]
    # Snippet candidates joined by newlines, and where each one starts.
    text: str
    starts: tuple[int, ...]


@dataclass(frozen=True)
class _Doc:
    article_id: int
    slug: str
    language: str
    title: str
    summary: str
    intents: tuple[str, ...]
    category_id: int | None
    # Snippet candidates joined by newlines, and where each one starts.
    text: str
    starts: tuple[int, ...]


@dataclass
class _LanguageIndex:
    docs: list[_Doc]
    vocabulary: dict[str, int]
    # CSC arrays of the (documents × terms) weight matrix, kept unpacked for the hot loop.
    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray

    def scores(self, query: Counter[str]) -> np.ndarray:
        scores = np.zeros(len(self.docs), dtype=np.float32)
        for term in query:
            column = self.vocabulary.get(term)
            if column is None:
                continue
            start, end = self.indptr[column], self.indptr[column + 1]
            weight = BIGRAM_QUERY_WEIGHT if term.startswith(analysis.BIGRAM_PREFIX) else 1.0
            # Row indices within one CSC column are unique, so fancy-index += is safe here.
            scores[self.indices[start:end]] += weight * self.data[start:end]
        return scores

    def top(self, query: Counter[str], limit: int) -> list[tuple[int, float]]:
        if not self.docs or limit <= 0:
            return []
        scores = self.scores(query)
        best = float(scores.max())
        if best <= 0:
            return []
        candidates = np.flatnonzero(scores >= best * MIN_RELATIVE_SCORE)
        if candidates.size > limit:
            candidates = candidates[np.argpartition(-scores[candidates], limit - 1)[:limit]]
        # Ties keep index order (articles are indexed sorted by slug), so results are stable.
        order = sorted(candidates.tolist(), key=lambda i: (-float(scores[i]), i))
        return [(i, float(scores[i])) for i in order]


@dataclass
class SearchIndex:
    """Per-language BM25F indexes over a set of articles. Immutable once built."""

    languages: dict[str, _LanguageIndex]
    analysed: dict[tuple[int, str], _Analysed] = field(default_factory=dict)

    @classmethod
    def build(cls, sources: Iterable[IndexSource], *, previous: SearchIndex | None = None) -> SearchIndex:
        """Index ``sources``; analyses from ``previous`` are reused for unchanged articles."""
        reuse = previous.analysed if previous is not None else {}
        analysed: dict[tuple[int, str], _Analysed] = {}
        by_language: dict[str, list[tuple[IndexSource, _Analysed]]] = {lang: [] for lang in LANGUAGES}
        for source in sorted(sources, key=lambda s: (s.slug, s.language, s.article_id)):
            key = (source.article_id, source.digest())
            item = reuse.get(key) or _analyse(source)
            analysed[key] = item
            by_language.setdefault(normalize_language(source.language), []).append((source, item))
        languages = {lang: _build_language(items) for lang, items in by_language.items()}
        return cls(languages=languages, analysed=analysed)

    def __len__(self) -> int:
        return sum(len(index.docs) for index in self.languages.values())

    def search(self, query: str, *, language: str, limit: int = 10) -> list[SearchHit]:
        """Best ``limit`` articles for ``query``: the query's language first, then strong matches
        in the other (all of them when the first has none)."""
        query = (query or "").strip()[:MAX_QUERY_CHARS]
        if not query or limit <= 0:
            return []
        terms = analysis.analyze(query)
        if not terms:
            return []
        primary = query_language(query, reader_language=language)
        hits: list[SearchHit] = []
        seen: set[str] = set()
        for lang in (primary, other_language(primary)):
            index = self.languages.get(lang)
            if index is None or len(hits) >= limit:
                continue
            floor = hits[0].score * OTHER_LANGUAGE_MIN_SCORE if hits else 0.0
            # Ask for more than the free places: some may be translations already listed.
            for position, score in index.top(terms, limit + len(seen)):
                if score < floor:
                    break  # best first: the rest are weaker still
                doc = index.docs[position]
                if doc.slug in seen:
                    continue
                seen.add(doc.slug)
                hits.append(_hit(doc, score, query))
                if len(hits) >= limit:
                    break
        return hits

    def articles_for_intent(self, intent: str, *, language: str) -> list[int]:
        """Ids of articles that name ``intent``, those naming it first ranked first."""
        index = self.languages.get(normalize_language(language))
        if index is None:
            return []
        found = [
            (doc.intents.index(intent), doc.slug, doc.article_id)
            for doc in index.docs
            if intent in doc.intents
        ]
        return [article_id for _, _, article_id in sorted(found)]

    def articles_in_categories(self, category_ids: set[int], *, language: str) -> list[int]:
        index = self.languages.get(normalize_language(language))
        if index is None:
            return []
        return [doc.article_id for doc in index.docs if doc.category_id in category_ids]


def _analyse(source: IndexSource) -> _Analysed:
    body = plain_text(source.body_markdown)
    texts = {
        "title": source.title,
        "keywords": "\n".join(source.keywords),
        "summary": "\n".join([source.summary, *source.key_steps]),
        "body": body,
    }
    fields = {}
    for name, text in texts.items():
        counter = analysis.analyze(text)
        fields[name] = _FieldTerms(
            terms=tuple(map(sys.intern, counter)),
            counts=np.fromiter(counter.values(), dtype=np.int32, count=len(counter)),
        )
    passages = _passages(source.summary, body)
    return _Analysed(fields=fields, text="\n".join(passages), starts=_starts(passages))


def _build_language(items: Sequence[tuple[IndexSource, _Analysed]]) -> _LanguageIndex:
    docs = [
        _Doc(
            article_id=source.article_id,
            slug=source.slug,
            language=source.language,
            title=source.title,
            summary=source.summary,
            intents=tuple(source.intents),
            category_id=source.category_id,
            text=item.text,
            starts=item.starts,
        )
        for source, item in items
    ]
    n_docs = len(docs)
    vocabulary: dict[str, int] = {}
    if n_docs == 0:
        empty = np.zeros(1, dtype=np.int64)
        return _LanguageIndex(docs, vocabulary, empty, empty[:0], np.zeros(0, dtype=np.float32))
    # Per field: the term ids, counts and owning row of every (article, term) pair, then the
    # BM25F sums in numpy. Only the term → id lookup runs per term in Python.
    row_parts, col_parts, tf_parts = [], [], []
    for name, weight, b in FIELDS:
        fields = [item.fields[name] for _, item in items]
        lengths = np.fromiter((int(f.counts.sum()) for f in fields), dtype=np.float64, count=n_docs)
        norms = weight / (1.0 - b + b * lengths / max(float(lengths.mean()), 1.0))
        sizes = np.fromiter((len(f.terms) for f in fields), dtype=np.int64, count=n_docs)
        setdefault = vocabulary.setdefault
        col_parts.append(
            np.fromiter(
                (setdefault(term, len(vocabulary)) for f in fields for term in f.terms),
                dtype=np.int64,
                count=int(sizes.sum()),
            )
        )
        counts = np.concatenate([f.counts for f in fields]).astype(np.float64)
        rows = np.repeat(np.arange(n_docs, dtype=np.int64), sizes)
        row_parts.append(rows)
        tf_parts.append(counts * norms[rows])
    # COO → CSC adds up the entries of a term that occurs in several fields of one article.
    summed = sp.csc_matrix(
        (np.concatenate(tf_parts), (np.concatenate(row_parts), np.concatenate(col_parts))),
        shape=(n_docs, len(vocabulary)),
    )
    summed.sum_duplicates()
    tf = summed.data
    df = np.diff(summed.indptr)
    idf = np.log1p((n_docs - df + 0.5) / (df + 0.5))
    column_of_entry = np.repeat(np.arange(len(vocabulary)), df)
    data = idf[column_of_entry] * tf * (K1 + 1.0) / (K1 + tf)
    matrix = sp.csc_matrix((data.astype(np.float32), summed.indices, summed.indptr), shape=summed.shape)
    matrix.sort_indices()
    return _LanguageIndex(docs, vocabulary, matrix.indptr, matrix.indices, matrix.data)


# --- plain text and snippets ---------------------------------------------------------------

_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MD_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{2,}.*$")
_MD_PREFIX = re.compile(r"^\s*(?:#{1,6}\s+|>\s*|[-*+]\s+|\d+[.)]\s+)+")
_MD_MARKS = re.compile(r"(\*\*|__|`|~~|(?<!\w)[*_](?=\S)|(?<=\S)[*_](?!\w))")
_SENTENCE_END = re.compile(r"(?<=[。！？；!?])|(?<=[.;:])\s+(?=[A-Z\"“(])")


def plain_text(markdown_text: str) -> str:
    """Markdown reduced to readable text, one block per line (for snippets and indexing)."""
    lines = []
    for line in (markdown_text or "").splitlines():
        if _MD_TABLE_RULE.match(line):
            continue
        line = _MD_LINK.sub(r"\1", line)
        line = _MD_PREFIX.sub("", line)
        line = _MD_MARKS.sub("", line)
        line = (
            " · ".join(cell.strip() for cell in line.strip().strip("|").split("|")) if "|" in line else line
        )
        if line.strip():
            lines.append(line.strip())
    return "\n".join(lines)


def _starts(passages: Sequence[str]) -> tuple[int, ...]:
    starts, offset = [], 0
    for passage in passages:
        starts.append(offset)
        offset += len(passage) + 1
    return tuple(starts)


def _passages(summary: str, body: str) -> list[str]:
    passages = [summary.strip()] if summary.strip() else []
    for line in body.splitlines():
        passages.extend(part.strip() for part in _SENTENCE_END.split(line) if len(part.strip()) >= 4)
    return passages


@lru_cache(maxsize=1024)
def _highlight_terms(query: str) -> tuple[str, ...]:
    return tuple(term for term in analysis.highlight_terms(query) if len(term) > 1 or term.isdigit())


def _occurrences(lower: str, terms: Sequence[str]) -> list[tuple[int, int]]:
    """(start, end) of each term in ``lower``, found with ``str.find`` (a regex alternation of
    dozens of terms is an order of magnitude slower over article-length text)."""
    found = []
    for term in terms:
        latin = term[0].isascii() and term[0].isalnum()
        position = lower.find(term)
        while position != -1:
            end = position + len(term)
            if latin and position > 0 and lower[position - 1].isascii() and lower[position - 1].isalnum():
                position = lower.find(term, position + 1)
                continue  # inside a word: "lock" in "block"
            if latin:
                while end < len(lower) and lower[end].isascii() and lower[end].isalnum():
                    end += 1  # a stem marks the whole word: "receiv" → "received"
            found.append((position, end))
            position = lower.find(term, end)
    return found


def _hit(doc: _Doc, score: float, query: str) -> SearchHit:
    return SearchHit(
        article_id=doc.article_id,
        slug=doc.slug,
        language=doc.language,
        title=doc.title,
        summary=doc.summary,
        snippet=snippet_for(doc.text, doc.starts, query),
        score=round(score, 4),
    )


def snippet_for(text: str, starts: Sequence[int], query: str) -> SafeString:
    """The passage with the most distinct query terms, trimmed around them and marked up.

    ``text`` is the article's passages joined by newlines, ``starts`` their offsets.
    """
    if not text:
        return mark_safe("")
    lower = text.lower()
    # Lower-casing a few scripts changes offsets; then mark nothing rather than the wrong span.
    matches = _occurrences(lower, _highlight_terms(query)) if len(lower) == len(text) else []
    per_passage: dict[int, set[str]] = {}
    for a, b in matches:
        per_passage.setdefault(bisect_right(starts, a) - 1, set()).add(lower[a:b])
    best = max(per_passage, key=lambda i: (len(per_passage[i]), -i)) if per_passage else 0
    begin = starts[best]
    end = starts[best + 1] - 1 if best + 1 < len(starts) else len(text)
    inside = [(a, b) for a, b in matches if begin <= a and b <= end]
    start = begin
    if inside and end - begin > SNIPPET_CHARS:
        first = min(a for a, _ in inside)
        start = max(begin, min(first - SNIPPET_CHARS // 3, end - SNIPPET_CHARS))
    stop = min(end, start + SNIPPET_CHARS)
    out = ["…" if start > begin else ""]
    cursor = start
    # Longest match first at any position; overlapping shorter ones are dropped.
    for a, b in sorted(inside, key=lambda m: (m[0], -(m[1] - m[0]))):
        if a < cursor or b > stop:
            continue
        out.append(escape(text[cursor:a]))
        out.append("<mark>" + escape(text[a:b]) + "</mark>")
        cursor = b
    out.append(escape(text[cursor:stop]))
    out.append("…" if stop < end else "")
    return mark_safe("".join(out))  # noqa: S308 - every piece of text is escaped


# --- the process's index and its version ---------------------------------------------------

_lock = threading.Lock()
_current: tuple[str | None, SearchIndex] | None = None
# With a per-process cache (the local-memory default) other workers never see our token, so
# the table's own fingerprint is checked too, at most this often.
TABLE_CHECK_SECONDS = 2.0
_table_check: tuple[float, str] = (-TABLE_CHECK_SECONDS, "")


def _cache_is_shared() -> bool:
    from django.core.cache import caches
    from django.core.cache.backends.dummy import DummyCache
    from django.core.cache.backends.locmem import LocMemCache

    return not isinstance(caches["default"], LocMemCache | DummyCache)


def _table_fingerprint() -> str:
    global _table_check
    checked_at, fingerprint = _table_check
    now = time.monotonic()
    if now - checked_at >= TABLE_CHECK_SECONDS:
        stats = Article.objects.aggregate(count=Count("id"), last_id=Max("id"), last_change=Max("updated_at"))
        fingerprint = f"{stats['count']}:{stats['last_id']}:{stats['last_change']}"
        _table_check = (now, fingerprint)
    return fingerprint


def _shared_version() -> str | None:
    version = cache.get(VERSION_KEY)
    if version is None:
        # First reader after a flush or eviction: whoever adds first decides the token.
        cache.add(VERSION_KEY, uuid.uuid4().hex, timeout=None)
        version = cache.get(VERSION_KEY)
    if version is not None and not _cache_is_shared():
        # Several `kefu serve` workers without Redis: an edit in one is seen by the others within
        # TABLE_CHECK_SECONDS through the table itself (saves and deletes move this fingerprint).
        version = f"{version}/{_table_fingerprint()}"
    return version


def current_index() -> SearchIndex:
    """The index of published articles, rebuilt first if any article changed since it was built."""
    global _current
    version = _shared_version()
    state = _current
    if state is not None and version is not None and state[0] == version:
        return state[1]
    with _lock:
        state = _current
        if state is not None and version is not None and state[0] == version:
            return state[1]
        # Built under the version read *before* loading rows: a change that commits meanwhile
        # bumps the version again, so the next search rebuilds rather than keeping stale rows.
        index = SearchIndex.build(_database_sources(), previous=state[1] if state else None)
        _current = (version, index)
        return index


def _database_sources() -> list[IndexSource]:
    rows = Article.objects.filter(is_published=True).values_list(
        "pk",
        "slug",
        "language",
        "title",
        "summary",
        "body_markdown",
        "keywords",
        "key_steps",
        "intents",
        "category_id",
    )
    return [
        IndexSource(
            article_id=pk,
            slug=slug,
            language=language,
            title=title,
            summary=summary,
            body_markdown=body,
            keywords=tuple(str(k) for k in keywords or ()),
            key_steps=tuple(str(s) for s in key_steps or ()),
            intents=tuple(str(i) for i in intents or ()),
            category_id=category_id,
        )
        for pk, slug, language, title, summary, body, keywords, key_steps, intents, category_id in rows
    ]


def bump_version() -> None:
    """Mark every process's index stale now. Prefer :func:`invalidate_index` inside changes."""
    cache.set(VERSION_KEY, uuid.uuid4().hex, timeout=None)


def invalidate_index() -> None:
    """Make every process rebuild once the current transaction commits (now, outside one)."""
    transaction.on_commit(bump_version)


# --- the interface the site and the bot use ------------------------------------------------


def search_articles(query: str, *, language: str, limit: int = 10) -> list[SearchHit]:
    """Published articles matching ``query``, best first.

    ``language`` is the reader's language (``zh-hans``, ``zh-hant``, ``en``…); articles in it come
    first and the other language fills up to ``limit``. Traditional-character queries match the
    simplified articles.
    """
    return current_index().search(query, language=language, limit=max(0, min(limit, 50)))


def related_articles_for_intent(intent: str, *, language: str, limit: int = 3) -> list[Article]:
    """Published articles for a bot intent: those listing the intent, then others filed in the
    ticket category that claims it; the reader's language first, else the other."""
    from kefu.tickets.models import Category

    index = current_index()
    primary = normalize_language(language)
    ids: list[int] = []
    for lang in (primary, other_language(primary)):
        ids = index.articles_for_intent(intent, language=lang)
        if ids:
            break
    if len(ids) < limit:
        category_ids = {
            pk
            for pk, intents in Category.objects.filter(is_active=True).values_list("pk", "intents")
            if intent in (intents or [])
        }
        if category_ids:
            for article_id in index.articles_in_categories(category_ids, language=primary):
                if article_id not in ids:
                    ids.append(article_id)
    ids = ids[:limit]
    found = Article.objects.filter(pk__in=ids, is_published=True).select_related("category").in_bulk()
    return [found[pk] for pk in ids if pk in found]
