"""Help-centre endpoints of the REST API: public, read-only."""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import get_language
from ninja import Field, Path, Router, Schema

from kefu.helpcenter import actions, selectors
from kefu.helpcenter.models import ARTICLE_SLUG_PATTERN
from kefu.helpcenter.rendering import rendered_html
from kefu.helpcenter.search import MAX_QUERY_CHARS, normalize_language, search_articles
from kefu.trust import guard

router = Router(tags=["helpcenter"])


class SearchHitOut(Schema):
    slug: str
    language: str
    title: str
    summary: str
    snippet: str = Field(..., description="Escaped HTML; matched words are wrapped in <mark>")
    score: float
    url: str


class ArticleOut(Schema):
    slug: str
    language: str
    title: str
    summary: str
    key_steps: list[str]
    html: str = Field(..., description="Sanitised HTML of the body")
    category: str | None
    category_name: str | None
    intents: list[str]
    helpful_count: int
    unhelpful_count: int
    updated_at: datetime
    url: str


class AnnouncementOut(Schema):
    id: str
    kind: str
    title: str
    body: str
    starts_at: datetime
    ends_at: datetime | None
    coins: list[str]
    networks: list[str]


def _language(lang: str | None) -> str:
    return normalize_language(lang or get_language())


@router.get(
    "/articles/search",
    response=list[SearchHitOut],
    auth=None,
    summary="Search help-centre articles (Chinese, traditional or simplified, and English)",
)
def search(request: HttpRequest, q: str = "", lang: str | None = None, limit: int = 10):
    query = guard.redact(q, language=_language(lang))[:MAX_QUERY_CHARS]  # a pasted phrase is no search term
    hits = search_articles(query, language=_language(lang), limit=max(1, min(limit, 50)))
    if query and not hits:
        actions.do_record_search_miss(query=query, language=_language(lang))
    return [
        {
            "slug": hit.slug,
            "language": hit.language,
            "title": hit.title,
            "summary": hit.summary,
            "snippet": str(hit.snippet),
            "score": hit.score,
            "url": reverse("helpcenter:article", args=[hit.slug]),
        }
        for hit in hits
    ]


@router.get(
    "/articles/{slug}",
    response=ArticleOut,
    auth=None,
    summary="One article in the requested language, else in the other",
)
def get_article(
    request: HttpRequest,
    # "search" is the search endpoint's path, so no article can be reached by it (the model
    # refuses it as a slug) and the schema says so.
    slug: str = Path(..., pattern=ARTICLE_SLUG_PATTERN),
    lang: str | None = None,
):
    language = _language(lang)
    article = selectors.access_article(slug, language=language)
    return {
        "slug": article.slug,
        "language": article.language,
        "title": article.title,
        "summary": article.summary,
        "key_steps": list(article.key_steps or []),
        "html": str(rendered_html(article.body_markdown)),
        "category": article.category.slug if article.category else None,
        "category_name": article.category.localized_name(language) if article.category else None,
        "intents": list(article.intents or []),
        "helpful_count": article.helpful_count,
        "unhelpful_count": article.unhelpful_count,
        "updated_at": article.updated_at,
        "url": reverse("helpcenter:article", args=[article.slug]),
    }


@router.get(
    "/announcements/active",
    response=list[AnnouncementOut],
    auth=None,
    summary="Announcements in force now, optionally only those concerning a coin or network",
)
def active_announcements(
    request: HttpRequest, coin: str | None = None, network: str | None = None, lang: str | None = None
):
    language = _language(lang)
    return [
        {
            "id": str(a.public_id),
            "kind": a.kind,
            "title": a.title_for(language),
            "body": a.body_for(language),
            "starts_at": a.starts_at,
            "ends_at": a.ends_at,
            "coins": list(a.coins or []),
            "networks": list(a.networks or []),
        }
        for a in selectors.active_announcements(coin=coin, network=network)
    ]
