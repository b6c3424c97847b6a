"""The search index follows the Article table: actions, plain saves (the admin) and other processes."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from kefu.helpcenter import actions, search
from kefu.helpcenter.models import Article
from kefu.tickets.models import Category

pytestmark = pytest.mark.django_db

WORD = "zephyrcoin"  # in no bundled article


def slugs(query: str, language: str = "en") -> list[str]:
    return [hit.slug for hit in search.search_articles(query, language=language)]


def test_actions_create_edit_unpublish_delete_reach_search(articles, django_capture_on_commit_callbacks):
    assert slugs(WORD) == []
    with django_capture_on_commit_callbacks(execute=True):
        article = actions.do_create_article(
            slug="zephyr",
            language="en",
            title=f"Depositing {WORD}",
            body_markdown="How to deposit it.",
            category=Category.objects.get(slug="deposit-not-credited"),
        )
    assert slugs(WORD) == ["zephyr"]

    with django_capture_on_commit_callbacks(execute=True):
        actions.do_update_article(article=article, title="Depositing quasarcoin")
    assert slugs(WORD) == [] and slugs("quasarcoin") == ["zephyr"]

    with django_capture_on_commit_callbacks(execute=True):
        actions.do_set_article_published(article=article, published=False)
    assert slugs("quasarcoin") == []

    with django_capture_on_commit_callbacks(execute=True):
        actions.do_set_article_published(article=article, published=True)
    assert slugs("quasarcoin") == ["zephyr"]

    with django_capture_on_commit_callbacks(execute=True):
        actions.do_delete_article(article=article)
    assert slugs("quasarcoin") == []


def test_plain_model_saves_as_in_the_admin_reach_search(articles, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        article = Article.objects.create(slug="zephyr", language="en", title=WORD, body_markdown="Body.")
    assert slugs(WORD) == ["zephyr"]

    article.title = "quasarcoin"
    with django_capture_on_commit_callbacks(execute=True):
        article.save()
    assert slugs(WORD) == [] and slugs("quasarcoin") == ["zephyr"]

    article.is_published = False
    with django_capture_on_commit_callbacks(execute=True):
        article.save()
    assert slugs("quasarcoin") == []

    with django_capture_on_commit_callbacks(execute=True):
        Article.objects.get(slug="deposit-not-credited", language="en").delete()
    assert "deposit-not-credited" not in slugs("deposit credited")


def test_the_version_changes_only_after_commit(articles, django_capture_on_commit_callbacks):
    """Readers must not rebuild from rows another transaction may still roll back."""
    slugs("deposit")
    version = cache.get(search.VERSION_KEY)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        Article.objects.create(slug="zephyr", language="en", title=WORD, body_markdown="Body.")
        assert cache.get(search.VERSION_KEY) == version
    assert callbacks  # the bump waits for the commit
    for callback in callbacks:
        callback()
    assert cache.get(search.VERSION_KEY) != version


def test_a_rolled_back_change_does_not_bump_the_version(articles):
    slugs("deposit")
    version = cache.get(search.VERSION_KEY)
    with pytest.raises(RuntimeError), transaction.atomic():
        Article.objects.create(slug="zephyr", language="en", title=WORD, body_markdown="Body.")
        raise RuntimeError
    assert cache.get(search.VERSION_KEY) == version


def test_another_processs_change_is_seen_through_the_shared_version(articles, monkeypatch):
    """A process only learns of others' changes through the cache; a new token makes it rebuild."""
    # The periodic table check is the other path; keep it out of this test on a slow machine.
    monkeypatch.setattr(search, "TABLE_CHECK_SECONDS", 3600.0)
    assert "fees" in slugs("fees")
    # Another process changed the table (QuerySet.update sends no signal here) and bumped.
    Article.objects.filter(slug="fees").update(is_published=False)
    assert "fees" in slugs("fees")  # this process has not been told yet
    search.bump_version()
    assert "fees" not in slugs("fees")


def test_a_lost_cache_entry_makes_every_process_rebuild(articles):
    assert "fees" in slugs("fees")
    Article.objects.filter(slug="fees").update(is_published=False)
    cache.delete(search.VERSION_KEY)  # eviction or a Redis restart
    assert "fees" not in slugs("fees")


def test_rebuild_reuses_the_analysis_of_unchanged_articles(articles, django_capture_on_commit_callbacks):
    before = search.current_index()
    article = Article.objects.get(slug="fees", language="en")
    article.title = "Fees and quasarcoin"
    with django_capture_on_commit_callbacks(execute=True):
        article.save()
    after = search.current_index()
    assert after is not before
    reused = set(before.analysed) & set(after.analysed)
    assert len(reused) == len(after.analysed) - 1


def test_without_a_shared_cache_other_workers_changes_are_seen_through_the_table(articles, monkeypatch):
    """The local-memory cache is per process: another worker's edit cannot bump our token."""
    monkeypatch.setattr(search, "TABLE_CHECK_SECONDS", 0.0)
    assert "fees" in slugs("fees")
    # Another worker saved (its own cache got the bump; ours did not).
    Article.objects.filter(slug="fees").update(is_published=False, updated_at=timezone.now())
    assert "fees" not in slugs("fees")
