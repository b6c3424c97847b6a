"""Passage retrieval: the sentences of a help-centre article that answer a question.

The article search (:mod:`kefu.helpcenter.search`) ranks whole articles; a chat answer needs the
one to three sentences that say what was asked ("withdrawals are restricted for 24 hours after
a password reset"), not the article. So every published article is split at its ``##``/``###``
headings into sections (the summary is a section of its own), the sections are indexed with the
same BM25F machinery and analysis as the articles (one tokenisation and synonym table for
both), and within the best section each sentence is scored by the IDF of the question's terms
it contains.

Fields per section: the heading (weighted like an article title), the article's title and
keywords (what the whole article is about: a section on "Why can't I withdraw right after a
reset?" belongs to the password article), and the section's text as the body.

The index is a cache of the same table as the article search and is keyed by the same version
token (see :func:`kefu.helpcenter.search.current_index`), so an article edit rebuilds both in
every process; unchanged sections are not analysed again.
"""

from __future__ import annotations

import hashlib
import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from kefu.helpcenter import analysis, search

MAX_QUESTION_CHARS = 300
# A section's text is answered from at most this many characters (a long answer is an article).
MAX_ANSWER_CHARS = 280
MAX_SENTENCES = 3
SECTIONS_PER_ARTICLE = 1000
# How many of the best BM25F sections are re-ranked by how much of the question they hold.
RERANK = 10
# Sections of an article that lists the intent the bot recognised get this factor: the intent
# model has read the whole message, the bag of words only its terms.
INTENT_BOOST = 1.3
# A question-shaped sentence ("Why can't I withdraw?") restates the question, it does not answer it.
QUESTION_SENTENCE_FACTOR = 0.4
_HEADING = re.compile(r"^(#{2,3})\s+(.+?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_QUESTION_END = ("?", "？")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def section_anchor(heading: str) -> str:
    """The fragment id of a section heading: ``s-`` + a slug that keeps Chinese characters.

    The prefix keeps generated ids apart from any other id on the page (no heading can name
    itself ``content`` or clobber a global). Also used by the renderer, so links and ids agree.
    """
    text = unicodedata.normalize("NFKC", heading).lower()
    text = re.sub(r"[^\w\s-]", "", text)
    slug = re.sub(r"[\s_-]+", "-", text).strip("-")
    return "s-" + slug if slug else "s"


@dataclass(frozen=True)
class Section:
    """One section of one article: ``heading`` is "" for the summary (no anchor)."""

    article_id: int
    slug: str
    language: str
    title: str
    intents: tuple[str, ...]
    heading: str
    anchor: str
    markdown: str


def split_sections(
    *,
    article_id: int,
    slug: str,
    language: str,
    title: str,
    summary: str,
    body_markdown: str,
    intents: Sequence[str] = (),
) -> list[Section]:
    """The summary, the text before the first heading, and one section per ``##``/``###``.

    Anchors repeat-proof like the renderer's: a second "Steps" becomes ``s-steps-2``.
    """
    parts: list[tuple[str, list[str]]] = [("", [])]
    in_fence = False
    for line in (body_markdown or "").replace("\r\n", "\n").split("\n"):
        if _FENCE.match(line):
            in_fence = not in_fence
        heading = None if in_fence else _HEADING.match(line)
        if heading:
            parts.append((heading.group(2).strip(), []))
        else:
            parts[-1][1].append(line)
    sections: list[Section] = []
    common = {"article_id": article_id, "slug": slug, "language": language, "title": title}
    if summary.strip():
        sections.append(Section(**common, intents=tuple(intents), heading="", anchor="", markdown=summary))
    seen: Counter[str] = Counter()
    for heading, lines in parts:
        text = "\n".join(lines).strip()
        anchor = ""
        if heading:
            base = section_anchor(heading)
            seen[base] += 1
            anchor = base if seen[base] == 1 else f"{base}-{seen[base]}"
        if text:
            sections.append(
                Section(**common, intents=tuple(intents), heading=heading, anchor=anchor, markdown=text)
            )
    return sections


@dataclass(frozen=True)
class _Sentence:
    text: str
    terms: frozenset[str]
    question: bool


@dataclass(frozen=True)
class Passage:
    """The answer found for a question: 1-3 sentences of one section, and where they are."""

    text: str
    article_id: int
    slug: str
    language: str
    title: str
    heading: str
    anchor: str
    score: float


def _sentences(markdown_text: str) -> tuple[_Sentence, ...]:
    out = []
    for line in search.plain_text(markdown_text).splitlines():
        for part in search._SENTENCE_END.split(line):
            text = part.strip()
            if len(text) < 4:
                continue
            terms = frozenset(analysis.analyze(text))
            out.append(_Sentence(text=text, terms=terms, question=text.endswith(_QUESTION_END)))
    return tuple(out)


def _digest(section: Section, keywords: Sequence[str] = ()) -> str:
    text = "\x1f".join([section.title, section.heading, section.markdown, *keywords])
    return hashlib.sha1(text.encode("utf-8"), usedforsecurity=False).hexdigest()


@dataclass
class PassageIndex:
    """Sections of the published articles, per language, with their analysed sentences."""

    sections: list[Section]
    index: search.SearchIndex
    # Per language: the section number of each row of that language's BM25F matrix, and IDF.
    rows: dict[str, list[int]]
    idf: dict[str, dict[str, float]]
    # Per section number: its sentences, and every term of its fields (for coverage).
    sentences: list[tuple[_Sentence, ...]]
    terms: list[frozenset[str]]
    # The same by section digest, for the next build to reuse.
    analysed: dict[str, tuple[tuple[_Sentence, ...], frozenset[str]]]

    @classmethod
    def build(
        cls, articles: Iterable[search.IndexSource], *, previous: PassageIndex | None = None
    ) -> PassageIndex:
        sections: list[Section] = []
        sources: list[search.IndexSource] = []
        for article in articles:
            found = split_sections(
                article_id=article.article_id,
                slug=article.slug,
                language=search.normalize_language(article.language),
                title=article.title,
                summary=article.summary,
                body_markdown=article.body_markdown,
                intents=article.intents,
            )
            for position, section in enumerate(found[:SECTIONS_PER_ARTICLE]):
                # A section's id inside the BM25F index, stable while its article keeps its
                # sections, so a rebuild re-analyses only the sections that changed.
                sources.append(
                    search.IndexSource(
                        article_id=article.article_id * SECTIONS_PER_ARTICLE + position,
                        slug=section.slug,
                        language=section.language,
                        title=section.heading,
                        summary="",
                        body_markdown=section.markdown,
                        keywords=(section.title, *article.keywords),
                    )
                )
                sections.append(section)
        index = search.SearchIndex.build(sources, previous=previous.index if previous else None)
        number = {source.article_id: i for i, source in enumerate(sources)}
        rows: dict[str, list[int]] = {}
        idf: dict[str, dict[str, float]] = {}
        for language, lang_index in index.languages.items():
            rows[language] = [number[doc.article_id] for doc in lang_index.docs]
            n_docs = len(lang_index.docs)
            df = np.diff(lang_index.indptr)
            values = np.log1p((n_docs - df + 0.5) / (df + 0.5))
            idf[language] = {term: float(values[column]) for term, column in lang_index.vocabulary.items()}
        reuse = previous.analysed if previous else {}
        analysed: dict[str, tuple[tuple[_Sentence, ...], frozenset[str]]] = {}
        for section, source in zip(sections, sources, strict=True):
            key = _digest(section, source.keywords)
            item = reuse.get(key)
            if item is None:
                said = _sentences(section.markdown)
                fields = analysis.analyze("\n".join([section.heading, *source.keywords]))
                item = (said, frozenset(fields).union(*(sentence.terms for sentence in said)))
            analysed[key] = item
        ordered = [
            analysed[_digest(section, source.keywords)]
            for section, source in zip(sections, sources, strict=True)
        ]
        return cls(
            sections=sections,
            index=index,
            rows=rows,
            idf=idf,
            sentences=[item[0] for item in ordered],
            terms=[item[1] for item in ordered],
            analysed=analysed,
        )

    def best(self, question: str, *, language: str, intent: str | None = None) -> Passage | None:
        """The best passage in ``language``'s articles for ``question``, or None (no term matched)."""
        question = (question or "").strip()[:MAX_QUESTION_CHARS]
        lang = search.normalize_language(language)
        lang_index = self.index.languages.get(lang)
        if not question or lang_index is None or not lang_index.docs:
            return None
        terms = analysis.analyze(question)
        if not terms:
            return None
        scores = lang_index.scores(terms)
        if intent:
            boost = np.fromiter(
                (
                    INTENT_BOOST if intent in self.sections[number].intents else 1.0
                    for number in self.rows[lang]
                ),
                dtype=np.float32,
                count=len(scores),
            )
            scores = scores * boost
        if float(scores.max()) <= 0:
            return None
        # BM25F ranks; among the leaders, a section that holds more of the question's weight
        # wins ("recommend a good restaurant" matches "Good to know" on one word of three).
        leaders = np.argsort(-scores, kind="stable")[:RERANK]
        ranked = []
        for row in leaders.tolist():
            if scores[row] <= 0:
                break
            covered = self._coverage(terms, self.terms[self.rows[lang][row]], lang)
            ranked.append((float(scores[row]) * covered, covered, row))
        _, score, row = max(ranked, key=lambda item: (item[0], -item[2]))
        number = self.rows[lang][row]
        section = self.sections[number]
        text = self._answer_text(self.sentences[number], terms, lang)
        if not text:
            return None
        return Passage(
            text=text,
            article_id=section.article_id,
            slug=section.slug,
            language=section.language,
            title=section.title,
            heading=section.heading,
            anchor=section.anchor,
            score=round(score, 4),  # the coverage: comparable across questions
        )

    def _coverage(self, terms: Counter[str], present: frozenset[str], language: str) -> float:
        """The share of the question's IDF weight that the section holds (0…1). A word no
        article uses ("restaurant") weighs as much as the rarest word they do."""
        idf = self.idf.get(language, {})
        unknown = max(idf.values(), default=1.0)
        total = found = 0.0
        for term in terms:
            weight = search.BIGRAM_QUERY_WEIGHT if term.startswith(analysis.BIGRAM_PREFIX) else 1.0
            weight *= idf.get(term, unknown)
            total += weight
            if term in present:
                found += weight
        return found / total if total else 0.0

    def _answer_text(self, sentences: tuple[_Sentence, ...], terms: Counter[str], language: str) -> str:
        if not sentences:
            return ""
        idf = self.idf.get(language, {})

        def weight(sentence: _Sentence) -> float:
            total = 0.0
            for term in terms:
                if term in sentence.terms:
                    factor = search.BIGRAM_QUERY_WEIGHT if term.startswith(analysis.BIGRAM_PREFIX) else 1.0
                    total += factor * idf.get(term, 1.0)
            return total * (QUESTION_SENTENCE_FACTOR if sentence.question else 1.0)

        weights = [weight(s) for s in sentences]
        best = max(range(len(sentences)), key=lambda i: (weights[i], -i))
        if weights[best] <= 0:
            best = next((i for i, s in enumerate(sentences) if not s.question), 0)
        chosen = [best]
        length = len(sentences[best].text)
        # The next sentences explain or qualify the best one ("You can still log in…"); add them
        # while the answer stays short, and stop at a question (the next heading's topic).
        for i in range(best + 1, len(sentences)):
            if len(chosen) >= MAX_SENTENCES or sentences[i].question:
                break
            short = length < (40 if _CJK.search(sentences[best].text) else 90)
            if not (short or weights[i] > 0) or length + len(sentences[i].text) > MAX_ANSWER_CHARS:
                break
            chosen.append(i)
            length += len(sentences[i].text)
        separator = "" if _CJK.search(sentences[best].text) else " "
        return separator.join(sentences[i].text for i in chosen)


_lock = threading.Lock()
_current: tuple[str | None, PassageIndex] | None = None


def current_passages() -> PassageIndex:
    """The passage index of the published articles, rebuilt when the article search's version
    token changes (an edit in any process, admin edits included)."""
    global _current
    version = search._shared_version()
    state = _current
    if state is not None and version is not None and state[0] == version:
        return state[1]
    with _lock:
        state = _current
        if state is not None and version is not None and state[0] == version:
            return state[1]
        index = PassageIndex.build(search._database_sources(), previous=state[1] if state else None)
        _current = (version, index)
        return index


def best_passage(question: str, *, language: str, intent: str | None = None) -> Passage | None:
    """The sentences of the published articles that best answer ``question`` (see module doc)."""
    return current_passages().best(question, language=language, intent=intent)
