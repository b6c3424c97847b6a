"""Answers, not articles: the sentences of a help-centre article that answer the question.

The dialogue manager asks :func:`answer_question` whenever a customer asks something; the
help centre's passage retrieval (:mod:`kefu.helpcenter.passages`) finds the section and the one
to three sentences that answer it, and this module turns that into an :class:`Answer` with the
link to the section. The manager uses an answer only when its ``score`` reaches
:data:`MIN_SCORE`; below that the question is not one the articles answer.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse

from kefu.helpcenter.passages import best_passage
from kefu.helpcenter.search import normalize_language, other_language, query_language

# The score is the share of the question's IDF weight found in the chosen section and its
# article's title and keywords (0…1), so it means the same for short and long questions. On the
# demo articles most real questions score 0.6 or more and most off-topic ones ("what's the
# weather", "recommend a good restaurant") under 0.45; an off-topic question that names a coin
# ("最近比特币会涨吗") can pass, so the intent model's out-of-scope verdict should come first.
MIN_SCORE: float = 0.5


@dataclass(frozen=True)
class Answer:
    text: str  # 1-3 sentences in ``language`` (zh-hant requests get zh-hans text)
    article_title: str
    article_url: str  # the article's help-centre URL, with the section's #anchor when it has one
    section: str  # the heading the text came from ("" for the article's summary)
    score: float  # retrieval score; use the answer only if score >= MIN_SCORE


def answer_question(
    text: str, *, language: str, intent: str | None = None, asked: str | None = None
) -> Answer | None:
    """The best short answer to ``text`` from the published articles, or None.

    Articles in the customer's language are searched; when they hold nothing for a question
    written in the other language (an English question on a Chinese page), that language's are.
    ``asked`` is the customer's own message when ``text`` adds words to it: the kind of question
    (how to set it up, why it fails…) is read from the customer's words only.
    """
    wanted = normalize_language(language)
    passage = best_passage(text, language=wanted, intent=intent, asked=asked)
    written = query_language(text or "", reader_language=wanted)
    if written != wanted and (passage is None or passage.score < MIN_SCORE):
        passage = best_passage(text, language=other_language(wanted), intent=intent, asked=asked) or passage
    if passage is None:
        return None
    url = reverse("helpcenter:article", kwargs={"slug": passage.slug})
    if passage.anchor:
        url += "#" + passage.anchor
    return Answer(
        text=passage.text,
        article_title=passage.title,
        article_url=url,
        section=passage.heading,
        score=passage.score,
    )
