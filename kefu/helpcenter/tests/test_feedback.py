"""Was-this-helpful votes: one per reader, changeable, counters always equal to the votes."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from kefu.conftest import login
from kefu.helpcenter.actions import do_record_feedback
from kefu.helpcenter.models import Article, ArticleFeedback

pytestmark = [pytest.mark.django_db, pytest.mark.urls("kefu.helpcenter.tests.urls")]


@pytest.fixture
def article(articles) -> Article:
    return Article.objects.get(slug="fees", language="en")


def counts(article: Article) -> tuple[int, int]:
    article.refresh_from_db()
    return article.helpful_count, article.unhelpful_count


def test_a_user_votes_once_and_can_change_the_vote(article, alice, bob):
    first = do_record_feedback(article=article, helpful=True, user=alice, session_key=None)
    assert first.created and counts(article) == (1, 0)
    again = do_record_feedback(article=article, helpful=True, user=alice, session_key="other-session")
    assert not again.created and not again.changed and counts(article) == (1, 0)
    changed = do_record_feedback(article=article, helpful=False, user=alice, session_key=None)
    assert changed.changed and (changed.helpful_count, changed.unhelpful_count) == (0, 1)
    do_record_feedback(article=article, helpful=False, user=bob, session_key=None)
    assert counts(article) == (0, 2)
    assert ArticleFeedback.objects.filter(article=article).count() == 2


def test_anonymous_readers_vote_once_per_session(article):
    do_record_feedback(article=article, helpful=True, user=None, session_key="s1")
    do_record_feedback(article=article, helpful=True, user=None, session_key="s1")
    do_record_feedback(article=article, helpful=False, user=None, session_key="s2")
    assert counts(article) == (1, 1)
    do_record_feedback(article=article, helpful=False, user=None, session_key="s1")
    assert counts(article) == (0, 2)


def test_a_vote_needs_a_user_or_a_session(article):
    with pytest.raises(ValidationError):
        do_record_feedback(article=article, helpful=True, user=None, session_key="")


def test_votes_are_per_language_version(articles, alice):
    en = Article.objects.get(slug="fees", language="en")
    zh = Article.objects.get(slug="fees", language="zh-hans")
    do_record_feedback(article=en, helpful=True, user=alice, session_key=None)
    do_record_feedback(article=zh, helpful=False, user=alice, session_key=None)
    assert counts(en) == (1, 0) and counts(zh) == (0, 1)


def test_feedback_form_needs_csrf(article):
    client = Client(enforce_csrf_checks=True)
    url = reverse("helpcenter:feedback", args=[article.slug])
    assert client.post(url, {"helpful": "yes", "language": "en"}).status_code == 403
    page = client.get(reverse("helpcenter:article", args=[article.slug]), HTTP_ACCEPT_LANGUAGE="en")
    token = page.cookies["csrftoken"].value
    response = client.post(url, {"helpful": "yes", "language": "en", "csrfmiddlewaretoken": token})
    assert response.status_code == 302 and response["Location"].endswith("#feedback")
    assert counts(article) == (1, 0)


def test_anonymous_reader_voting_twice_through_the_page_counts_once(article):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    url = reverse("helpcenter:feedback", args=[article.slug])
    client.post(url, {"helpful": "yes", "language": "en"})
    client.post(url, {"helpful": "yes", "language": "en"})
    assert counts(article) == (1, 0)
    client.post(url, {"helpful": "no", "language": "en"})
    assert counts(article) == (0, 1)
    page = client.get(reverse("helpcenter:article", args=[article.slug])).content.decode()
    assert 'value="no" aria-pressed="true"' in page
    Client().post(url, {"helpful": "yes", "language": "en"})  # a different reader
    assert counts(article) == (1, 1)


def test_signed_in_reader_votes_through_the_page(article, alice):
    client = login(alice)
    response = client.post(
        reverse("helpcenter:feedback", args=[article.slug]),
        {"helpful": "yes", "language": "en"},
        follow=True,
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert "Thanks for your feedback." in response.content.decode()
    assert ArticleFeedback.objects.get(article=article).user == alice


def test_the_vote_goes_to_the_language_version_the_reader_saw(articles):
    zh = Article.objects.get(slug="fees", language="zh-hans")
    Client(HTTP_ACCEPT_LANGUAGE="en").post(
        reverse("helpcenter:feedback", args=["fees"]), {"helpful": "yes", "language": "zh-hans"}
    )
    assert counts(zh) == (1, 0)


def test_bad_answer_is_rejected(article):
    response = Client().post(reverse("helpcenter:feedback", args=[article.slug]), {"helpful": "maybe"})
    assert response.status_code == 400
    assert Client().get(reverse("helpcenter:feedback", args=[article.slug])).status_code == 405


def test_votes_are_rate_limited_per_address(article, settings, monkeypatch):
    monkeypatch.setattr("kefu.helpcenter.views.FEEDBACK_RATE", (2, 3600))
    url = reverse("helpcenter:feedback", args=[article.slug])
    for _ in range(3):
        Client().post(url, {"helpful": "yes", "language": "en"})  # three fresh sessions
    assert counts(article) == (2, 0)
