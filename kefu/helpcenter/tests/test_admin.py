"""The article admin: counters and helpfulness, a sanitised live preview, index refresh on save."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from kefu.accounts.models import User
from kefu.helpcenter import search
from kefu.helpcenter.actions import do_record_feedback
from kefu.helpcenter.models import Article
from kefu.identity.twofactor import SESSION_VERIFIED_KEY

pytestmark = [pytest.mark.django_db, pytest.mark.urls("kefu.helpcenter.tests.urls")]


@pytest.fixture
def admin_client(db) -> Client:
    """A superuser's session that has passed the staff second factor."""
    user = User.objects.create_superuser(email="root@example.com", password="correct-horse-battery")
    client = Client()
    client.force_login(user)
    session = client.session
    session[SESSION_VERIFIED_KEY] = True
    session.save()
    return client


def test_changelist_shows_counters_and_helpfulness(admin_client, articles, alice, bob):
    article = Article.objects.get(slug="fees", language="en")
    do_record_feedback(article=article, helpful=True, user=alice, session_key=None)
    do_record_feedback(article=article, helpful=False, user=bob, session_key=None)
    response = admin_client.get(
        reverse("admin:helpcenter_article_changelist"), {"q": "fees", "language": "en"}
    )
    assert response.status_code == 200
    assert "50% (2)" in response.content.decode()


def test_change_form_shows_the_sanitised_preview(admin_client, articles):
    article = Article.objects.get(slug="fees", language="en")
    article.body_markdown += "\n<script>alert(1)</script>\n"
    article.save()
    response = admin_client.get(reverse("admin:helpcenter_article_change", args=[article.pk]))
    html = response.content.decode()
    assert response.status_code == 200 and 'id="hc-preview"' in html and "admin-preview.js" in html
    preview = html.split('id="hc-preview"', 1)[1]
    assert "<h2>" in preview and "<script>alert(1)" not in preview


def test_preview_endpoint_renders_sanitised_html_for_editors_only(admin_client, alice):
    url = reverse("admin:helpcenter_article_preview")
    response = admin_client.post(url, {"body_markdown": "## Hi\n<img src=x onerror=alert(1)>"})
    assert response.status_code == 200
    assert response.json()["html"].startswith("<h2>Hi</h2>") and "onerror" not in response.json()["html"]
    assert admin_client.get(url).status_code == 405
    customer = Client()
    customer.force_login(alice)
    assert customer.post(url, {"body_markdown": "x"}).status_code == 302  # to the admin login


def test_saving_in_the_admin_refreshes_search(admin_client, articles, django_capture_on_commit_callbacks):
    article = Article.objects.get(slug="fees", language="en")
    assert "fees" in [h.slug for h in search.search_articles("fees", language="en")]
    url = reverse("admin:helpcenter_article_change", args=[article.pk])
    data = {
        "slug": article.slug,
        "language": "en",
        "title": "All about quasarcoin charges",
        "category": article.category_id,
        "is_published": "on",
        "summary": article.summary,
        "key_steps": '["One"]',
        "body_markdown": "Charges.\r\n\r\nMore.",
        "keywords": "[]",
        "intents": '["fees"]',
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    article.refresh_from_db()
    assert article.body_markdown == "Charges.\n\nMore."
    assert [h.slug for h in search.search_articles("quasarcoin", language="en")] == ["fees"]


def test_bulk_unpublish_action_refreshes_search(admin_client, articles, django_capture_on_commit_callbacks):
    ids = list(Article.objects.filter(slug="fees").values_list("pk", flat=True))
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            reverse("admin:helpcenter_article_changelist"),
            {"action": "unpublish", "_selected_action": ids},
        )
    assert not Article.objects.filter(slug="fees", is_published=True).exists()
    assert "fees" not in [h.slug for h in search.search_articles("fees", language="en")]


def test_announcement_admin_lists(admin_client, db):
    from kefu.helpcenter.tests.conftest import make_announcement

    make_announcement(title="Upkeep")
    response = admin_client.get(reverse("admin:helpcenter_announcement_changelist"))
    assert response.status_code == 200 and "Upkeep" in response.content.decode()
