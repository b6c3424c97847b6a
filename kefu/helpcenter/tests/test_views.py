"""Help-centre pages in both languages: home, search, article, announcements."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape
from django.utils.translation import gettext

from kefu.helpcenter.models import Article
from kefu.helpcenter.tests.conftest import make_announcement

pytestmark = [pytest.mark.django_db, pytest.mark.urls("kefu.helpcenter.tests.urls")]


def get(url: str, language: str = "zh-hans", **params) -> tuple[int, str]:
    response = Client(HTTP_ACCEPT_LANGUAGE=language).get(url, params)
    return response.status_code, response.content.decode()


@pytest.mark.parametrize(
    ("language", "category", "title"),
    [
        ("zh-hans", "资产问题", "充值未到账怎么办？"),
        ("en", "Assets", "My deposit hasn&#x27;t been credited. What should I do?"),
    ],
)
def test_home_lists_categories_with_their_articles(articles, language, category, title):
    make_announcement(title="TRC-20 upkeep")
    status, html = get(reverse("helpcenter:home"), language)
    assert status == 200
    assert category in html and title in html and ui("Search", language) in html
    assert "TRC-20 upkeep" in html and 'name="q"' in html
    assert html.count('class="card hc-section"') == 6


def test_home_queries_do_not_grow_with_the_number_of_articles(articles):
    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert Client().get(reverse("helpcenter:home")).status_code == 200
        return len(ctx.captured_queries)

    full = count()
    Article.objects.filter(slug__startswith="withdrawal").update(is_published=False)
    assert count() == full


def test_search_page_shows_marked_snippets(articles):
    status, html = get(reverse("helpcenter:search"), "zh-hans", q="充值一直没到账怎么办")
    assert status == 200
    assert reverse("helpcenter:article", args=["deposit-not-credited"]) in html
    assert "<mark>" in html and "充值一直没到账怎么办" in html


def test_search_page_in_english_and_with_nothing_found(articles):
    status, html = get(reverse("helpcenter:search"), "en", q="forgot my password")
    assert status == 200 and "Forgot your login password" in html
    status, html = get(reverse("helpcenter:search"), "en", q="<script>qqzx</script>")
    assert status == 200 and "<script>qqzx" not in html and "&lt;script&gt;qqzx" in html
    assert "No articles match" in html
    status, html = get(reverse("helpcenter:search"), "zh-hans", q="qwertyuiop")
    assert ui("Try other words, or submit a ticket and we will help you.", "zh-hans") in html


def ui(text: str, language: str) -> str:
    """A UI string as the page in ``language`` shows it (translated once the .po has it)."""
    with translation.override(language):
        return escape(gettext(text))


@pytest.mark.parametrize(("language", "expected"), [("zh-hans", "充值未到账怎么办？"), ("en", "My deposit")])
def test_article_page(articles, language, expected):
    status, html = get(reverse("helpcenter:article", args=["deposit-not-credited"]), language)
    assert status == 200
    assert f'<html lang="{language}">' in html
    assert expected in html and "<h2 " in html
    assert ui("Was this helpful?", language) in html and ui("Still need help?", language) in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert "/portal/new/?category=deposit-not-credited" in html
    assert reverse("helpcenter:feedback", args=["deposit-not-credited"]) in html


def test_article_page_lists_related_articles_of_the_same_category(articles):
    status, html = get(reverse("helpcenter:article", args=["withdrawal-pending"]), "en")
    assert reverse("helpcenter:article", args=["withdrawal-failed"]) in html


def test_article_falls_back_to_the_other_language(articles):
    Article.objects.filter(slug="fees", language="en").update(is_published=False)
    status, html = get(reverse("helpcenter:article", args=["fees"]), "en")
    assert status == 200 and "提现手续费" in html
    assert (
        ui("This article is not available in your language yet. Here is the version we have.", "en") in html
    )


def test_unknown_or_unpublished_article_is_404(articles):
    assert get(reverse("helpcenter:article", args=["no-such-article"]))[0] == 404
    Article.objects.filter(slug="fees").update(is_published=False)
    assert get(reverse("helpcenter:article", args=["fees"]))[0] == 404


def test_article_body_is_sanitised_on_the_page(db):
    Article.objects.create(
        slug="hostile",
        language="en",
        title="Hostile",
        body_markdown='Hi <script>alert(1)</script><img src=x onerror="alert(2)"> [x](javascript:alert(3))',
    )
    status, html = get(reverse("helpcenter:article", args=["hostile"]), "en")
    assert status == 200 and "alert(" not in html and "javascript:" not in html


def test_announcements_page(db):
    from datetime import timedelta

    from django.utils import timezone

    now = timezone.now()
    make_announcement(title="Now", coins=["USDT"], networks=["TRC-20"])
    make_announcement(
        title="Later", starts_at=now + timedelta(days=1), ends_at=now + timedelta(days=1, hours=2)
    )
    make_announcement(title="Before", starts_at=now - timedelta(days=2), ends_at=now - timedelta(days=1))
    status, html = get(reverse("helpcenter:announcements"), "en")
    assert status == 200
    assert "Now (English)" in html and "Later (English)" in html and "Before (English)" in html
    assert "TRC-20" in html
    status, html = get(reverse("helpcenter:announcements"), "zh-hans")
    assert "Now（中文）" in html


def test_empty_help_centre_renders(db):
    status, html = get(reverse("helpcenter:home"), "en")
    assert status == 200 and ui("No articles have been published yet.", "en") in html
    status, html = get(reverse("helpcenter:announcements"), "zh-hans")
    assert status == 200 and ui("Everything is running normally.", "zh-hans") in html
