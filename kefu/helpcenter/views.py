"""Help-centre pages: home, search, an article with its feedback form, announcements.

Public pages (no sign-in). Thin: read through selectors and search, change through actions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from kefu.accounts import ratelimit
from kefu.clientip import client_ip
from kefu.helpcenter import actions, selectors
from kefu.helpcenter.models import Announcement, Article
from kefu.helpcenter.rendering import rendered_html
from kefu.helpcenter.search import MAX_QUERY_CHARS, normalize_language, search_articles
from kefu.httptypes import user_or_none
from kefu.trust import guard

SEARCH_RESULTS = 20
# Votes per IP and hour: enough for a family behind one router, not for a script that mints
# a fresh session per vote to move the counters.
FEEDBACK_RATE = (30, 3600)


@dataclass(frozen=True)
class AnnouncementRow:
    """An announcement in the reader's language, ready for a template."""

    public_id: str
    kind: str
    kind_label: str
    title: str
    body: str
    starts_at: datetime
    ends_at: datetime | None
    coins: list[str]
    networks: list[str]


def announcement_rows(announcements: list[Announcement], language: str | None) -> list[AnnouncementRow]:
    return [
        AnnouncementRow(
            public_id=str(a.public_id),
            kind=a.kind,
            kind_label=str(a.get_kind_display()),
            title=a.title_for(language),
            body=a.body_for(language),
            starts_at=a.starts_at,
            ends_at=a.ends_at,
            coins=list(a.coins or []),
            networks=list(a.networks or []),
        )
        for a in announcements
    ]


def ticket_url(article: Article) -> str:
    """The portal's new-ticket form, with the article's category chosen."""
    url = reverse("tickets:portal_new")
    return f"{url}?{urlencode({'category': article.category.slug})}" if article.category else url


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """Search box, announcements in force, and every topic grouped by category."""
    language = get_language()
    return render(
        request,
        "helpcenter/home.html",
        {
            "sections": selectors.help_sections(language=language),
            "announcements": announcement_rows(selectors.active_announcements(), language),
        },
    )


@require_GET
def search(request: HttpRequest) -> HttpResponse:
    language = get_language()
    # People paste seed phrases into search boxes too: search with (and show) the redacted text,
    # and warn the way the chat does. The placeholder itself finds the seed-phrase articles.
    scanned = guard.scan((request.GET.get("q") or "").strip(), language=language)
    query = scanned.redacted[:MAX_QUERY_CHARS]
    hits = search_articles(query, language=language, limit=SEARCH_RESULTS) if query else []
    if query and not hits:
        actions.do_record_search_miss(query=query, language=normalize_language(language))
    return render(
        request,
        "helpcenter/search.html",
        {
            "query": query,
            "hits": hits,
            "reader_language": normalize_language(language),
            "secret_warning": guard.warning_for(scanned, language=language),
        },
    )


@require_GET
def article(request: HttpRequest, slug: str) -> HttpResponse:
    """One article in the reader's language (else the other), with feedback and a way out."""
    language = get_language()
    item = selectors.access_article(slug, language=language)
    return render(
        request,
        "helpcenter/article.html",
        {
            "article": item,
            "html": rendered_html(item.body_markdown),
            "category_name": item.category.localized_name(language) if item.category else "",
            "is_fallback": item.language != normalize_language(language),
            "related": selectors.related_articles(item),
            "vote": selectors.vote_of(item, user=user_or_none(request), session_key=request.session.session_key),
            "ticket_url": ticket_url(item),
        },
    )


@require_POST
def feedback(request: HttpRequest, slug: str) -> HttpResponse:
    """Record "was this helpful?" (CSRF-checked form post) and go back to the article."""
    item = selectors.access_article(slug, language=request.POST.get("language") or get_language())
    answer = request.POST.get("helpful")
    if answer not in ("yes", "no"):
        return HttpResponseBadRequest()
    target = reverse("helpcenter:article", args=[item.slug]) + "#feedback"
    limit, window = FEEDBACK_RATE
    if not ratelimit.hit(
        "helpcenter-feedback", client_ip(request) or "", limit=limit, window=window
    ):
        messages.error(request, _("Too many votes from your network. Please try again later."))
        return redirect(target)
    user = user_or_none(request)
    if user is None and not request.session.session_key:
        # Anonymous readers vote once per session; make sure they have one, and that its
        # cookie is sent (an unmodified new session would not be).
        request.session["helpcenter_reader"] = True
        request.session.save()
    try:
        actions.do_record_feedback(
            article=item, helpful=answer == "yes", user=user, session_key=request.session.session_key
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Thanks for your feedback."))
    return redirect(target)


@require_GET
def announcements(request: HttpRequest) -> HttpResponse:
    """What is happening now, what is scheduled, and what ended recently."""
    language = get_language()
    return render(
        request,
        "helpcenter/announcements.html",
        {
            "active": announcement_rows(selectors.active_announcements(), language),
            "upcoming": announcement_rows(selectors.upcoming_announcements(), language),
            "recent": announcement_rows(selectors.recent_announcements(), language),
        },
    )
