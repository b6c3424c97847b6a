"""The public help-centre API: search, one article, announcements in force."""

from __future__ import annotations

import pytest
from django.test import Client

from kefu.helpcenter.models import Article
from kefu.helpcenter.tests.conftest import make_announcement

pytestmark = [pytest.mark.django_db, pytest.mark.urls("kefu.helpcenter.tests.urls")]


def test_search_returns_hits_with_snippets_and_links(articles):
    response = Client().get("/api/v1/articles/search", {"q": "提U卡住了", "lang": "zh-hans"})
    assert response.status_code == 200
    hits = response.json()
    assert hits[0]["slug"] in {"withdrawal-pending", "withdrawal-failed"}
    assert hits[0]["language"] == "zh-hans" and "<mark>" in hits[0]["snippet"]
    assert hits[0]["url"].endswith(f"/a/{hits[0]['slug']}/") and hits[0]["score"] > 0
    assert "id" not in hits[0] and "article_id" not in hits[0]  # no row ids in public payloads


def test_search_language_follows_lang_or_the_request():
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert client.get("/api/v1/articles/search", {"q": "x"}).json() == []


def test_search_in_english_and_traditional(articles):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    hits = client.get("/api/v1/articles/search", {"q": "forgot my password"}).json()
    assert (hits[0]["slug"], hits[0]["language"]) == ("reset-password", "en")
    hits = client.get("/api/v1/articles/search", {"q": "帳號被鎖定了", "lang": "zh-hant"}).json()
    assert (hits[0]["slug"], hits[0]["language"]) == ("account-locked", "zh-hans")
    assert len(client.get("/api/v1/articles/search", {"q": "withdrawal", "limit": 2}).json()) == 2


def test_article_has_sanitised_html_in_the_requested_language(articles):
    body = Client().get("/api/v1/articles/fees", {"lang": "en"}).json()
    assert body["language"] == "en" and body["title"].startswith("Withdrawal fees")
    assert "<h2 " in body["html"] and body["category"] == "fees" and body["category_name"] == "Fees"
    assert body["key_steps"] and body["url"].endswith("/a/fees/")
    zh = Client(HTTP_ACCEPT_LANGUAGE="zh-hans").get("/api/v1/articles/fees").json()
    assert zh["language"] == "zh-hans" and zh["category_name"] == "手续费"


def test_article_falls_back_and_404s(articles):
    Article.objects.filter(slug="fees", language="en").update(is_published=False)
    assert Client().get("/api/v1/articles/fees", {"lang": "en"}).json()["language"] == "zh-hans"
    assert Client().get("/api/v1/articles/no-such-thing").status_code == 404
    Article.objects.filter(slug="fees").update(is_published=False)
    assert Client().get("/api/v1/articles/fees").status_code == 404


def test_active_announcements_localized_and_filtered(db):
    make_announcement(title="usdt", coins=["USDT"], networks=["TRC-20"])
    make_announcement(title="btc", coins=["BTC"])
    en = Client().get("/api/v1/announcements/active", {"lang": "en", "coin": "usdt"}).json()
    assert [a["title"] for a in en] == ["usdt (English)"]
    assert en[0]["coins"] == ["USDT"] and en[0]["networks"] == ["TRC-20"] and en[0]["kind"] == "maintenance"
    zh = Client(HTTP_ACCEPT_LANGUAGE="zh-hans").get("/api/v1/announcements/active").json()
    assert {a["title"] for a in zh} == {"usdt（中文）", "btc（中文）"}


def test_endpoints_need_no_authentication(articles):
    for url in ("/api/v1/articles/search?q=fee", "/api/v1/articles/fees", "/api/v1/announcements/active"):
        assert Client().get(url).status_code == 200, url


def test_search_is_no_article_slug_and_the_schema_says_so(client):
    """/api/v1/articles/search is the search: an article called "search" could never be read."""
    import re

    from django.core.exceptions import ValidationError

    from kefu.helpcenter.models import ARTICLE_SLUG_PATTERN, Article

    with pytest.raises(ValidationError) as info:
        Article(slug="search", language="en", title="t", body_markdown="b").full_clean()
    assert "slug" in info.value.message_dict
    assert re.match(ARTICLE_SLUG_PATTERN, "search-tips") and not re.match(ARTICLE_SLUG_PATTERN, "search")
    schema = client.get("/api/v1/openapi.json").json()
    [slug] = schema["paths"]["/api/v1/articles/{slug}"]["get"]["parameters"][:1]
    assert slug["schema"]["pattern"] == ARTICLE_SLUG_PATTERN
