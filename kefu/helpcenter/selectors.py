"""Reads of the help centre: articles for a reader's language, sections, announcements."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Q
from django.http import Http404
from django.utils import timezone

from kefu.accounts.models import User
from kefu.helpcenter.models import Announcement, Article, ArticleFeedback
from kefu.helpcenter.search import normalize_language, other_language
from kefu.tickets.models import Category


def access_article(slug: str, *, language: str | None) -> Article:
    """The published article ``slug`` in the reader's language, else in the other one; 404 if
    neither is published. Compare ``article.language`` to tell the reader about a fallback."""
    preferred = normalize_language(language)
    candidates = {
        a.language: a
        for a in Article.objects.select_related("category", "category__parent").filter(
            slug=slug, is_published=True
        )
    }
    article = candidates.get(preferred) or candidates.get(other_language(preferred))
    if article is None:
        raise Http404("No such article")
    return article


@dataclass
class Section:
    """A top-level category on the help centre home, with its articles."""

    category: Category | None
    name: str
    articles: list[Article] = field(default_factory=list)


def help_sections(*, language: str | None) -> list[Section]:
    """Published articles grouped by top-level category, in the category tree's order.

    Each topic appears once: in the reader's language, else in the other. Two queries,
    however many articles.
    """
    preferred = normalize_language(language)
    chosen: dict[str, Article] = {}
    for article in (
        Article.objects.filter(is_published=True)
        .select_related("category", "category__parent")
        .only(
            "slug",
            "language",
            "title",
            "summary",
            "category__slug",
            "category__position",
            "category__name_zh",
            "category__name_en",
            "category__parent__slug",
            "category__parent__position",
            "category__parent__name_zh",
            "category__parent__name_en",
        )
    ):
        if article.slug not in chosen or article.language == preferred:
            chosen[article.slug] = article
    sections: dict[int | None, Section] = {}
    for article in chosen.values():
        top = article.category.parent or article.category if article.category else None
        key = top.pk if top else None
        if key not in sections:
            sections[key] = Section(category=top, name=top.localized_name(preferred) if top else "")
        sections[key].articles.append(article)
    for section in sections.values():
        section.articles.sort(key=lambda a: (a.category.position if a.category else 1 << 30, a.title))
    return sorted(
        sections.values(), key=lambda s: (s.category is None, s.category.position if s.category else 0)
    )


def related_articles(article: Article, *, limit: int = 5) -> list[Article]:
    """Other published articles of the same category and language, most helpful first."""
    if article.category_id is None:
        return []
    return list(
        Article.objects.filter(category_id=article.category_id, language=article.language, is_published=True)
        .exclude(pk=article.pk)
        .order_by("-helpful_count", "title")
        .only("slug", "language", "title", "summary")[:limit]
    )


def vote_of(article: Article, *, user: User | None, session_key: str | None) -> bool | None:
    """The reader's current vote on ``article``: True, False, or None if they have not voted."""
    if user is not None and user.is_authenticated:
        qs = ArticleFeedback.objects.filter(article=article, user=user)
    elif session_key:
        qs = ArticleFeedback.objects.filter(article=article, user__isnull=True, session_key=session_key)
    else:
        return None
    return qs.values_list("helpful", flat=True).first()


# --- announcements -------------------------------------------------------------------------


def _token(value: str) -> str:
    # "ERC-20", "erc20" and "ERC 20" name the same network.
    return re.sub(r"[^0-9a-z]", "", (value or "").lower())


def _concerns(values: list[str], wanted: str | None) -> bool:
    """An announcement concerns ``wanted`` if it lists it, or lists nothing (site-wide)."""
    if not wanted:
        return True
    if not values:
        return True
    return _token(wanted) in {_token(v) for v in values}


def active_announcements(
    now: datetime | None = None, *, coin: str | None = None, network: str | None = None
) -> list[Announcement]:
    """Published announcements in force at ``now``, newest start first.

    With ``coin`` or ``network``, only those that concern it: announcements naming it, and
    site-wide ones that name no coin (or network) at all, because a platform-wide maintenance
    affects every coin. Matching ignores case and punctuation ("erc20" = "ERC-20").
    """
    now = now or timezone.now()
    rows = Announcement.objects.filter(is_published=True, starts_at__lte=now).filter(
        Q(ends_at__isnull=True) | Q(ends_at__gt=now)
    )
    return [a for a in rows if _concerns(a.coins or [], coin) and _concerns(a.networks or [], network)]


def upcoming_announcements(now: datetime | None = None, *, days: int = 30) -> list[Announcement]:
    """Published announcements that start within ``days`` (scheduled maintenance), soonest first."""
    now = now or timezone.now()
    return list(
        Announcement.objects.filter(
            is_published=True, starts_at__gt=now, starts_at__lte=now + timedelta(days=days)
        ).order_by("starts_at", "id")
    )


def recent_announcements(now: datetime | None = None, *, days: int = 30) -> list[Announcement]:
    """Published announcements that ended within the last ``days``, most recently ended first."""
    now = now or timezone.now()
    return list(
        Announcement.objects.filter(
            is_published=True, ends_at__lte=now, ends_at__gt=now - timedelta(days=days)
        ).order_by("-ends_at", "-id")
    )
