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
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from kefu.helpcenter import analysis, search
from kefu.helpcenter.rendering import numbered_anchors

MAX_QUESTION_CHARS = 300
# A section's text is answered from at most this many characters (a long answer is an article).
MAX_ANSWER_CHARS = 280
MAX_SENTENCES = 3
# A problem told with no question (see PassageIndex.best): this many sentences of the article's
# summary, then the best-matching step.
OVERVIEW_SENTENCES = 2
SECTIONS_PER_ARTICLE = 1000
MIN_LEAD_CHARS = 12
# How many of the best BM25F sections are re-ranked by how much of the question they hold.
RERANK = 20
# Added to a section's rank (best article + best section = 2) per kind of question its heading
# shares with the customer's ("where", "how long"...).
ASK_BONUS = 1.0
# Added per type of question (set-up, trouble, lost…; see _TYPES) the section shares with the
# customer's. As much as a shared kind: at 0.5 "换手机了验证器怎么迁移" still got the article's
# summary and "助记词不见了，能帮我恢复吗" another article's "support never asks for it".
TYPE_BONUS = 1.0
# The same bonus for a section of an article that does not list the intent the bot recognised.
OTHER_ARTICLE_ASK_FACTOR = 0.5
# A one-character Chinese word ("看", "算") in the coverage: weak evidence either way.
SINGLE_CHARACTER_WEIGHT = 0.3
# How much the article's match counts against the section's own (1): finding the right
# article matters more, and the article search has the richer fields.
ARTICLE_WEIGHT = 2.0
# Sections of an article that lists the intent the bot recognised get this factor: the intent
# model has read the whole message, the bag of words only its terms.
INTENT_BOOST = 1.5
# A question-shaped sentence ("Why can't I withdraw?") restates the question, it does not answer it.
QUESTION_SENTENCE_FACTOR = 0.4
# Phone platforms: a step for the other one ("iOS: free up space") is no answer to an Android question.
_PLATFORMS: tuple[re.Pattern[str], ...] = (
    re.compile(r"安卓|android|华为|華為|小米|三星|samsung|huawei|xiaomi|pixel|oppo|vivo", re.I),
    re.compile(r"(?<![a-z])ios(?![a-z])|iphone|ipad|苹果|蘋果|apple", re.I),
)
OTHER_PLATFORM_FACTOR = 0.1


def _platforms(text: str) -> frozenset[int]:
    return frozenset(i for i, pattern in enumerate(_PLATFORMS) if pattern.search(text or ""))


# A question, even without a question kind ("TRC20 会便宜点吗", "is it lost?"): it is answered
# where it matches, never by the article's overview.
_QUESTION_SHAPED = re.compile(
    r"[?？]|[吗嗎呢吧][\s。.!！]*$|能不能|会不会|會不會|是不是|有没有|有沒有|可不可以|可以吗|支不支持"
    r"|几|幾|什么|什麼|哪|怎|如何|为何|為何|多少|多久"
    r"|^\W*(?:is|are|can|could|does|do|did|will|would|should|how|what|why|where|when|which|any)\b",
    re.I,
)
_HEADING = re.compile(r"^(#{2,3})\s+(.+?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_QUESTION_END = ("?", "？")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


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

    Anchors are the rendered page's heading ids: a second "Steps" is ``s-steps-2``.
    """
    parts: list[tuple[str, list[str]]] = [("", [])]
    in_fence = False
    for line in (body_markdown or "").replace("\r\n", "\n").split("\n"):
        if _FENCE.match(line):
            in_fence = not in_fence
        found = None if in_fence else _HEADING.match(line)
        if found:
            parts.append((search.plain_text(found.group(2)).strip(), []))
        else:
            parts[-1][1].append(line)
    sections: list[Section] = []

    def section(heading: str, anchor: str, markdown: str) -> Section:
        return Section(
            article_id=article_id,
            slug=slug,
            language=language,
            title=title,
            intents=tuple(intents),
            heading=heading,
            anchor=anchor,
            markdown=markdown,
        )

    if summary.strip():
        sections.append(section("", "", summary))
    # The same ids as the rendered page's headings (kefu.helpcenter.rendering).
    anchors = iter(numbered_anchors([heading for heading, _ in parts[1:]]))
    for position, (heading, lines) in enumerate(parts):
        anchor = next(anchors) if position else ""
        text = "\n".join(lines).strip()
        if text:
            sections.append(section(heading, anchor, text))
    return sections


@dataclass(frozen=True)
class _Sentence:
    text: str
    terms: frozenset[str]
    question: bool
    # What a list item means only after: the sentence introducing its list ("That means:"),
    # or, for a list that opens its section, the section's heading ("These are never us:").
    lead: str = ""
    heading_lead: bool = False
    # The whole line (list item or paragraph) the sentence is part of: "iOS: check your storage.
    # Running out of space can make apps crash." — the second sentence is about iOS too.
    line: str = ""


@dataclass(frozen=True)
class _SectionTerms:
    sentences: tuple[_Sentence, ...]
    heading: frozenset[str]  # the heading's terms
    own: frozenset[str]  # the heading's and the text's
    every: frozenset[str]  # with the article's title and keywords (for coverage)
    asks: frozenset[str]  # what kind of question the heading answers (see _ASKS)
    # What kind of question the text answers whatever its heading says: "how_long" when it
    # states a duration ("within 3 business days").
    states: frozenset[str] = frozenset()


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


def _without_table_headers(markdown_text: str) -> str:
    """Table rows as statements: the header row and the rule go ("Channel · Hours · Notes" is no
    answer), and a row reads as a sentence: "Live chat – 24/7 · You may need to queue."
    """
    lines = markdown_text.split("\n")
    out = []
    for i, line in enumerate(lines):
        if search._MD_TABLE_RULE.match(line):
            continue
        if "|" in line and i + 1 < len(lines) and search._MD_TABLE_RULE.match(lines[i + 1]):
            continue
        if line.lstrip().startswith("|"):
            cells = [cell.strip() for cell in line.strip().strip("|").split("|") if cell.strip()]
            if len(cells) >= 2:
                chinese = bool(_CJK.search(line))
                line = cells[0] + ("：" if chinese else " – ") + " · ".join(cells[1:])
                if not line.endswith(("。", ".", "！", "!", "？", "?")):
                    line += "。" if chinese else "."
        out.append(line)
    return "\n".join(out)


_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s")


def _sentences(markdown_text: str, heading: str = "") -> tuple[_Sentence, ...]:
    out: list[_Sentence] = []
    # A list straight under a heading that states something means what the heading says:
    # "这些一定不是官方" is the only thing that turns "anyone asking for your seed phrase" into
    # a warning. A heading that asks ("Where to find it", "How to set it up") adds nothing.
    heading_lead = bool(heading) and not _asks(heading)
    lead = heading.rstrip(":：") + ("：" if _CJK.search(heading) else ":") if heading_lead else ""
    for raw in _without_table_headers(markdown_text).split("\n"):
        item = bool(_ITEM.match(raw))
        line = search.plain_text(raw)
        if not line:
            continue
        parts = _joined_short(part.strip() for part in search._SENTENCE_END.split(line))
        for part in parts:
            terms = frozenset(analysis.analyze(part))
            out.append(
                _Sentence(
                    text=part,
                    terms=terms,
                    question=part.endswith(_QUESTION_END),
                    lead=lead if item else "",
                    heading_lead=heading_lead and item,
                    line=line if item else "",
                )
            )
        if not item and parts:
            # A paragraph ending in a colon introduces the list after it; any other paragraph
            # means the next list stands on its own.
            lead = parts[-1] if parts[-1].endswith((":", "：")) else ""
            heading_lead = False
    return tuple(out)


def _joined_short(parts: Iterable[str]) -> list[str]:
    """Sentences of four characters or more; a shorter one that opens a paragraph ("不能。",
    "No.") is the answer the rest explains, so it joins the sentence after it."""
    out: list[str] = []
    carry = ""
    for part in parts:
        if len(part) < 4:
            carry = (carry + part) if part and not out else carry
            continue
        if carry:
            part = carry + ("" if _CJK.search(carry) else " ") + part
            carry = ""
        out.append(part)
    return out


# Kinds of question, which the analysis drops as stop words but a heading answers: "Where to
# see your deposits" answers "where", "How long does it take?" answers "how long".
_ASKS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern, re.I))
    for name, pattern in (
        ("where", r"\bwhere\b|哪里|哪儿|在哪|去哪"),
        ("how_long", r"\bhow long\b|\bhow many (?:days|hours|minutes)\b|多久|多长时间|几天|需要多长"),
        ("why", r"\bwhy\b|\bhow come\b|为什么|为何|为啥|怎么会|凭什么"),
        ("when", r"\bwhen\b|\bwhat time\b|\bhours\b|什么时候|几点|何时|时间"),
        ("how", r"\bhow (?:do|can|to|should|would)\b|\bhow\b.*\?$|如何|怎样|怎么(?!办)"),
        ("what", r"\bwhat (?:is|are|does)\b|\bwhat's\b|是什么|什么是"),
        ("how_much", r"\bhow much\b|多少|怎么算|怎么收"),
        (
            "can",
            r"^\W*(?:can|could) (?:i|you|we|it|they|someone|anyone)\b|\bis it possible\b"
            r"|能不能|可不可以|能否|是否可以|[能可以].{0,10}吗",
        ),
    )
)
# What a question is about, beside what it asks (session 25): set-up, troubleshooting,
# something lost, moving to a new phone, safety, amounts (fees and limits). A section whose
# heading (or opening sentence) is of the same type ranks higher; unlike the kinds above, a
# matching type does not make the section's opening the answer — "the code keeps getting
# rejected" is answered by the step that matches the customer's words.
_TYPES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern, re.I))
    for name, pattern in (
        (
            "setup",
            r"(?<!when i )(?<!after i )(?<!since i )(?<!once i )\bset(?:ting)? (?:it |this |them |that )?up\b|\bsetup\b|\bturn(?:ing)? (?:it |this )?on\b"
            r"|\benabl(?:e|ing)\b|\bactivat(?:e|ing)\b|\bbind(?:ing)?\b|\blink (?:it|my|an?|the)\b"
            r"|开启|开通|启用|绑定|怎么开|如何开|怎样开",
        ),
        (
            "trouble",
            r"\bwrong\b|\binvalid\b|\bincorrect\b|\brejected\b|\berror\b|\bfail(?:s|ed|ing|ure)?\b"
            r"|\bdoes ?n[o']?t work|\bnot working\b|\bkeeps? (?:saying|getting|failing|showing)"
            r"|错误|不对|失败|无效|报错|被拒|拒绝|不通过|没通过|没有通过|通不过|无法通过|不正确|用不了"
            # what to do about it: "Tips to get approved", "提高通过率的做法"
            r"|\btips?\b|通过率|成功率",
        ),
        (
            # Losing what gives access (a phone, a seed phrase, a password, which e-mail was
            # used) — not money feared gone ("钱是不是没了", "is it gone?") nor a memo "forgotten"
            # on a transfer: those are answered by the sections that say it can be recovered.
            "lost",
            r"\blost (?:my|the|his|her|access|phone|seed|key|device|authenticator)\b|^lost\b|\blose (?:my|access)\b"
            r"|\bdeleted\b|\bstolen\b|\bforg[oe]t(?:ten)? (?:my|the|which|what)\b|\bno longer (?:have|use|in use)\b"
            r"|\b(?:don'?t|can'?t|cannot) remember\b"
            r"|(?:手机|助记词|私钥|密钥|验证器|设备|账号|钱包|密码)[^，。,.？?]{0,3}(?:丢|不见|被删|删了|被偷)"
            r"|弄丢|丢了手机|遗失|(?<!会)丢失|忘(?:记|了)+.{0,6}(?:密码|助记词|账号|邮箱|手机号)"
            r"|想不起|不记得|记不得|记不清|被偷",
        ),
        (
            "move",
            r"\bmov(?:e|ing) (?:it|my|them|to|over)\b|\bmigrat(?:e|ing|ion)\b|\bnew (?:phone|device)\b"
            r"|换手机|换了手机|换新手机|新手机|更换手机|迁移",
        ),
        ("safe", r"\bsafe(?:ly|ty)?\b|\bsecure\b|\brisk|安全|风险"),
        ("fee", r"\bfees?\b|\bcharged?\b|\bcosts?\b|手续费|费用|收费|多少钱|扣了?多少"),
    )
)
# "Can you…?" is matched like a type (within the article), though it is a kind of question: a
# "Can I…?" heading in another article is no reason to leave this one.
_WITHIN_ARTICLE = frozenset({"can"})
# The types a section's first sentence can give it when its heading names none ("Install any
# authenticator app…" opens a set-up section): the first sentence says what the section is
# for; its later sentences are details.
_OPENING_KINDS = frozenset({"setup", "trouble", "move"})


# The words that only say "where can I see/find": the heading that answers "where" covers them,
# so they are not counted as words a section must contain ("在哪里能看到哈希" is about 哈希).
_WHERE_PHRASE = re.compile(
    r"(?:在)?(?:哪里|哪儿|哪裡|哪兒|在哪)(?:能|可以|才能|去)?(?:看到|找到|查到|看见|看見|查看|看|找|查)?"
    r"|\bwhere (?:can|do|should|would) (?:i|we|you) (?:see|find|get|look(?: up| for)?|check)\b|\bwhere(?:'s| is| are)\b",
    re.I,
)


def _asks(text: str) -> frozenset[str]:
    text = analysis.normalize(text or "")
    found = frozenset(name for name, pattern in _ASKS if pattern.search(text))
    if "how_long" in found and "when" in found and not _WHEN_ALONE.search(text):
        found -= {"when"}  # "多长时间" holds 时间 but asks how long, not when
    return found


def _section_kinds(heading: str, sentences: Sequence[_Sentence]) -> frozenset[str]:
    """What kinds of question a section answers: its heading's, or, when the heading names no
    type ("Good to know", "What happens next"), the types its opening sentence says. The summary
    (no heading) answers no kind: it is about everything."""
    if not heading:
        return frozenset()  # the summary: see _summary_kinds
    named = _types(heading)
    if not named and sentences:
        named = _types(sentences[0].text) & _OPENING_KINDS
    return _asks(heading) | named


def _summary_kinds(title: str) -> frozenset[str]:
    """The summary answers the question its article's title asks ("KYC rejected or too slow —
    what now?" is a troubleshooting article): its types, so that a troubleshooting question
    does not leave the summary for whichever section merely says "failed". The same types as
    an opening sentence gives: a title's "safe" ("How to keep your account safe") is every
    security question's."""
    return _types(title) & _OPENING_KINDS


def _types(text: str) -> frozenset[str]:
    text = analysis.normalize(text or "")
    return frozenset(name for name, pattern in _TYPES if pattern.search(text))


def question_kinds(text: str) -> frozenset[str]:
    """The kinds of question a text asks or a heading answers ("where", "how_long", "why"…),
    and its types ("setup", "trouble", "lost"…)."""
    return _asks(text) | _types(text)


_WHEN_ALONE = re.compile(r"\bwhen\b|\bwhat time\b|什么时候|几点|何时")


# How long something usually takes, stated in a text: the answer to "how long" may sit under any
# heading ("What happens next": "a written reply normally within 3 business days"). A duration
# in a condition ("not credited after more than an hour, open a ticket") is no such answer.
_DURATION = re.compile(
    r"(?:一般|通常|大多|多数|多數|预计|預計|大约|大約|normally|usually|typically|within|takes?|take about)"
    r".{0,12}?(?:\d+|[一二两兩三四五六七八九十半几幾数數]+|a few|few)\s*(?:[-–~～至到]\s*\d+\s*)?(?:个|個)?\s*"
    r"(?:工作日|小时|小時|分钟|分鐘|天|周|週|星期|business days?|working days?|hours?|minutes?|days?|weeks?)",
    re.I,
)


def _states(sentences: Iterable[_Sentence]) -> frozenset[str]:
    return frozenset({"how_long"}) if any(_DURATION.search(s.text) for s in sentences) else frozenset()


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
    max_idf: dict[str, float]
    # Per section number: its sentences and terms.
    terms: list[_SectionTerms]
    # The same by section digest, for the next build to reuse.
    analysed: dict[str, _SectionTerms]
    # The article search's index, and per language the row in it of each section's article.
    articles: search.SearchIndex
    article_rows: dict[str, np.ndarray]
    # Per article id: the section number of its summary (articles that have one).
    summaries: dict[int, int] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        articles: Iterable[search.IndexSource],
        *,
        previous: PassageIndex | None = None,
        article_index: search.SearchIndex | None = None,
    ) -> PassageIndex:
        """Index the sections of ``articles``; ``article_index`` is the article search's index
        of the same articles (built here when not given)."""
        articles = list(articles)
        sections: list[Section] = []
        sources: list[search.IndexSource] = []
        keywords: dict[int, tuple[str, ...]] = {}
        summaries: dict[int, int] = {}
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
            keywords[article.article_id] = (article.title, *article.keywords)
            if article.summary.strip() and found:
                summaries[article.article_id] = len(sections)  # split_sections puts it first
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
                    )
                )
                sections.append(section)
        index = search.SearchIndex.build(sources, previous=previous.index if previous else None)
        if article_index is None:
            article_index = search.SearchIndex.build(articles)
        number = {source.article_id: i for i, source in enumerate(sources)}
        rows: dict[str, list[int]] = {}
        article_rows: dict[str, np.ndarray] = {}
        idf: dict[str, dict[str, float]] = {}
        for language, lang_index in index.languages.items():
            rows[language] = [number[doc.article_id] for doc in lang_index.docs]
            articles_here = article_index.languages.get(language)
            article_row = (
                {doc.article_id: i for i, doc in enumerate(articles_here.docs)} if articles_here else {}
            )
            article_rows[language] = np.fromiter(
                (article_row.get(sections[n].article_id, -1) for n in rows[language]),
                dtype=np.int64,
                count=len(rows[language]),
            )
            n_docs = len(lang_index.docs)
            df = np.diff(lang_index.indptr)
            values = np.log1p((n_docs - df + 0.5) / (df + 0.5))
            idf[language] = {term: float(values[column]) for term, column in lang_index.vocabulary.items()}
        reuse = previous.analysed if previous else {}
        analysed: dict[str, _SectionTerms] = {}
        ordered = []
        for section in sections:
            words = keywords[section.article_id]
            key = _digest(section, words)
            item = reuse.get(key) or analysed.get(key)
            if item is None:
                said = _sentences(section.markdown, section.heading)
                heading = frozenset(analysis.analyze(section.heading))
                own = heading.union(*(sentence.terms for sentence in said))
                item = _SectionTerms(
                    sentences=said,
                    heading=heading,
                    own=own,
                    every=own.union(analysis.analyze("\n".join(words))),
                    asks=(
                        _section_kinds(section.heading, said)
                        if section.heading
                        else _summary_kinds(section.title)
                    ),
                    states=_states(said),
                )
            analysed[key] = item
            ordered.append(item)
        return cls(
            sections=sections,
            index=index,
            rows=rows,
            idf=idf,
            max_idf={language: max(values.values(), default=1.0) for language, values in idf.items()},
            terms=ordered,
            analysed=analysed,
            articles=article_index,
            article_rows=article_rows,
            summaries=summaries,
        )

    def best(
        self, question: str, *, language: str, intent: str | None = None, asked: str | None = None
    ) -> Passage | None:
        """The best passage in ``language``'s articles for ``question``, or None (no term matched).

        ``asked`` is the customer's own message when ``question`` adds words to it (the topic's
        name): what kind of question it is comes from the customer's words only — "Recovering an
        account: I can't log in" is no question about something lost."""
        question = (question or "").strip()[:MAX_QUESTION_CHARS]
        asked = question if asked is None else asked[:MAX_QUESTION_CHARS]
        lang = search.normalize_language(language)
        lang_index = self.index.languages.get(lang)
        if not question or lang_index is None or not lang_index.docs:
            return None
        terms = analysis.analyze(question)
        if not terms:
            return None
        # Two views of the question, each scaled to its best: how well the article answers it
        # (the article search's BM25F over title, keywords, summary and text) and how well the
        # section's own heading and text do. Their sum ranks the sections: the right section
        # of the right article beats both a passing mention elsewhere and a neighbour section
        # that shares its article's title.
        own = lang_index.scores(terms)
        articles_here = self.articles.languages.get(lang)
        article = np.zeros(len(own), dtype=np.float32)
        if articles_here is not None and articles_here.docs:
            by_article = articles_here.scores(terms)
            rows = self.article_rows[lang]
            article = np.where(rows >= 0, by_article[np.maximum(rows, 0)], 0.0).astype(np.float32)
        if float(own.max()) <= 0 and float(article.max()) <= 0:
            return None
        if intent:
            article = article * np.fromiter(
                (
                    INTENT_BOOST if intent in self.sections[number].intents else 1.0
                    for number in self.rows[lang]
                ),
                dtype=np.float32,
                count=len(own),
            )
        rank = ARTICLE_WEIGHT * article / max(float(article.max()), 1e-9) + own / max(float(own.max()), 1e-9)
        # Among the leaders, a section that holds more of the question's weight wins ("recommend
        # a good restaurant" matches "Good to know" on one word of three), and a heading that
        # asks the same kind of question ("where…", "how long…") counts.
        asks = _asks(asked)
        kinds = asks | _types(asked)
        where_terms = terms
        if "where" in asks:
            where_terms = analysis.analyze(_WHERE_PHRASE.sub(" ", question)) or terms
        leaders = np.argsort(-rank, kind="stable")[:RERANK]
        # The article the question is most about: a duration stated in one of its sections
        # answers "how long" (another article's durations answer other questions)...
        leading = self.sections[self.rows[lang][int(np.argmax(article))]]
        # ...when the intent model agrees on that article (when it has a reading).
        lead_article = leading.article_id if intent and intent in leading.intents else None
        ranked = []
        for row in leaders.tolist():
            if rank[row] <= 0:
                break
            item = self.terms[self.rows[lang][row]]
            covered = self._coverage(where_terms if "where" in item.asks else terms, item.every, lang)
            states = item.states if self.sections[self.rows[lang][row]].article_id == lead_article else frozenset()
            answered = kinds & (item.asks | states)
            if "how" in answered and not (terms.keys() & item.heading):
                # Nearly every request is a "how"; "How to set it up" answers "how do I move
                # it?" only when the heading also names what is asked about.
                answered -= {"how"}
            here = self.sections[self.rows[lang][row]]
            bonus = ASK_BONUS * len(answered & asks - _WITHIN_ARTICLE)
            if intent and intent not in here.intents:
                # "How long?" about a withdrawal: the withdrawal article's durations before the
                # ticket article's "How long does it take?".
                bonus *= OTHER_ARTICLE_ASK_FACTOR
            if here.article_id == leading.article_id or (intent and intent in here.intents):
                # The types choose a section of the article the question is about (the one its
                # words or the intent model found), never another article: "is it gone?" about
                # a deposit is no question for the lost-seed article.
                bonus += TYPE_BONUS * len(answered & (_WITHIN_ARTICLE | (answered - asks)))
            value = (float(rank[row]) + bonus) * (1.0 + covered)
            ranked.append((value, covered, row))
        _, score, row = max(ranked, key=lambda item: (item[0], -item[2]))
        number = self.rows[lang][row]
        section = self.sections[number]
        summary = self.summaries.get(section.article_id)
        overview = ""
        limit = MAX_SENTENCES
        if (
            asks <= {"when"}  # "it crashes when I open it" tells when, it does not ask
            and not _QUESTION_SHAPED.search(analysis.normalize(asked))
            and section.heading
            and summary is not None
            and not (terms.keys() & self.terms[number].heading)
        ):
            # A problem told, not a question asked ("the app keeps crashing since the update"),
            # that no heading names: the best section is a list of steps, and the one step that
            # matches a word ("apps can crash when storage runs out") is no answer alone. The
            # article's summary is its usual causes and the steps in order: it comes first, then
            # that step ("face the camera, in even light").
            overview = self._answer_text(
                self.terms[summary].sentences,
                terms,
                lang,
                from_start=True,
                limit=OVERVIEW_SENTENCES,
                keep_opening=True,
            )
            limit = 1
        text = self._answer_text(
            self.terms[number].sentences,
            terms,
            lang,
            from_start=bool(asks & self.terms[number].asks),
            platforms=_platforms(question),
            duration="how_long" in asks,
            limit=limit,
        )
        if overview and text not in overview:
            text = ("" if _CJK.search(overview) else " ").join((overview, text))
        elif overview:
            text = overview
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
        """The share of the question's IDF weight that the section holds (0…1).

        A word no article uses ("restaurant", "天气") weighs as much as the rarest word they do:
        a question about something else must not pass on its incidental words. Unknown Chinese
        bigrams that straddle two words ("歌验" in "谷歌验证") and unknown words made of a known
        one ("手机丢了" holding "手机") are segmentation artefacts: their parts already count.
        """
        idf = self.idf.get(language, {})
        unknown = self.max_idf.get(language, 1.0)
        known = [term for term in terms if term in idf]
        total = found = 0.0
        for term in terms:
            weight = search.BIGRAM_QUERY_WEIGHT if term.startswith(analysis.BIGRAM_PREFIX) else 1.0
            if len(term) == 1 and _CJK.match(term):
                weight *= SINGLE_CHARACTER_WEIGHT  # "看", "算": rarely what the question is about
            if term in idf:
                weight *= idf[term]
            elif term.startswith(analysis.BIGRAM_PREFIX) or (
                _CJK.search(term) and any(part != term and part in term for part in known)
            ):
                continue
            else:
                weight *= unknown
            total += weight
            if term in present:
                found += weight
        return found / total if total else 0.0

    def _answer_text(
        self,
        sentences: tuple[_Sentence, ...],
        terms: Counter[str],
        language: str,
        *,
        from_start: bool,
        platforms: frozenset[int] = frozenset(),
        duration: bool = False,
        limit: int = MAX_SENTENCES,
        keep_opening: bool = False,
    ) -> str:
        """One to three sentences of the section: its opening when its heading asks what the
        customer asks ("How long does it take?"), else the sentence holding most of the
        question's weight, each with what follows while the answer stays short."""
        if not sentences:
            return ""
        idf = self.idf.get(language, {})

        def other_platform(sentence: _Sentence) -> bool:
            named = _platforms(sentence.line or sentence.text)
            return len(platforms) == 1 and bool(named) and not named & platforms

        def weight(sentence: _Sentence) -> float:
            if other_platform(sentence):
                return 0.0  # the customer named their phone; this step is for the other kind
            total = 0.0
            for term in terms:
                if term in sentence.terms:
                    factor = search.BIGRAM_QUERY_WEIGHT if term.startswith(analysis.BIGRAM_PREFIX) else 1.0
                    total += factor * idf.get(term, 1.0)
            if duration:
                # "How long…?": a sentence that states how long it takes is the answer; the others
                # only explain it.
                total = (total + 1.0) * 2.0 if _DURATION.search(sentence.text) else total * 0.25
            return total * (QUESTION_SENTENCE_FACTOR if sentence.question else 1.0)

        weights = [weight(s) for s in sentences]
        best = max(range(len(sentences)), key=lambda i: (weights[i], -i))
        if from_start or weights[best] <= 0:
            opening = next(
                (i for i, s in enumerate(sentences) if not s.question and not other_platform(s)), 0
            )
            # The section answers the kind of question asked, and its opening is the answer —
            # unless the opening holds none of the question's words and a later sentence does
            # ("怎么报案" in "How to report": "report it to the police too", not the ticket).
            # ("How long…?" weighs by durations, which the opening of its section states too.)
            said = weights[opening]
            if sentences[opening].text.endswith((":", "：")) and opening + 1 < len(sentences):
                said += weights[opening + 1]  # a lead's words are in the list it introduces
            if keep_opening or duration or said > 0 or weights[best] <= 0:
                best = opening
        chosen = [best]
        length = len(sentences[best].text)
        # The next sentences explain or qualify the best one ("You can still log in…"); add them
        # while the answer stays short, and stop at a question (the next heading's topic). A
        # sentence ending in a colon introduces what follows and is never left alone.
        for i in range(best + 1, len(sentences)):
            if len(chosen) >= limit or sentences[i].question or other_platform(sentences[i]):
                break
            previous = sentences[chosen[-1]].text
            short = length < (40 if _CJK.search(sentences[best].text) else 90)
            wanted = from_start or short or weights[i] > 0 or previous.endswith((":", "："))
            if not wanted or (
                length + len(sentences[i].text) > MAX_ANSWER_CHARS and not previous.endswith((":", "："))
            ):
                break
            chosen.append(i)
            length += len(sentences[i].text)
        chinese = bool(_CJK.search(sentences[best].text))
        separator = "" if chinese else " "
        texts = [sentences[i].text for i in chosen]
        first = sentences[chosen[0]]
        lead = first.lead
        # A lead that says nothing alone ("That means:") is left out with its list; a heading
        # over its list always says something.
        long_enough = first.heading_lead or len(lead) >= MIN_LEAD_CHARS
        if lead and long_enough and not any(sentences[i].text == lead for i in chosen):
            texts = [lead, *texts][: max(limit, 2)]
        return separator.join(texts)


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
        index = PassageIndex.build(
            search._database_sources(),
            previous=state[1] if state else None,
            article_index=search.current_index(),
        )
        _current = (version, index)
        return index


def best_passage(
    question: str, *, language: str, intent: str | None = None, asked: str | None = None
) -> Passage | None:
    """The sentences of the published articles that best answer ``question`` (see module doc)."""
    return current_passages().best(question, language=language, intent=intent, asked=asked)
