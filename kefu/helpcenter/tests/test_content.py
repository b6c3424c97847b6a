"""Loading the bundled articles: complete, idempotent, and never clobbering admin edits."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from django.core.management import call_command

from kefu.helpcenter import actions, demo
from kefu.helpcenter.content import CONTENT_DIR, load_sources
from kefu.helpcenter.models import Announcement, Article
from kefu.tickets.models import Category

pytestmark = pytest.mark.django_db


@pytest.fixture
def content_dir(tmp_path: Path) -> Path:
    """A private copy of the content folder that a test may change."""
    folder = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, folder)
    return folder


def retitle(folder: Path, name: str, title: str) -> None:
    path = folder / name
    text = path.read_text(encoding="utf-8")
    old = next(line for line in text.splitlines() if line.startswith("title:"))
    path.write_text(text.replace(old, f"title: {title}", 1), encoding="utf-8")


def test_every_file_parses_into_a_pair_of_languages_with_a_known_category():
    sources = load_sources()
    assert len(sources) == 68
    slugs = {s.slug for s in sources}
    assert {(s.slug, s.language) for s in sources} == {
        (slug, lang) for slug in slugs for lang in ("zh-hans", "en")
    }
    known = set(Category.objects.filter(parent__isnull=False).values_list("slug", flat=True))
    for source in sources:
        assert source.category_slug in known, source.slug
        assert source.title and source.summary and source.keywords and source.key_steps and source.intents


def test_first_sync_creates_every_article_with_its_category():
    report = actions.sync_articles_from_content()
    assert len(report.created) == 68 and not report.updated and not report.kept_edited
    article = Article.objects.get(slug="deposit-not-credited", language="zh-hans")
    assert article.category.slug == "deposit-not-credited"
    assert article.is_published and article.keywords and article.key_steps
    assert article.intents == ["deposit_not_credited"]


def test_sync_twice_changes_nothing():
    actions.sync_articles_from_content()
    before = dict(Article.objects.values_list("pk", "updated_at"))
    report = actions.sync_articles_from_content()
    assert not report.created and not report.updated and len(report.unchanged) == 68
    assert dict(Article.objects.values_list("pk", "updated_at")) == before


def test_changed_file_updates_an_untouched_article(content_dir):
    actions.sync_articles_from_content(directory=content_dir)
    retitle(content_dir, "fees.en.md", "Fees, explained again")
    report = actions.sync_articles_from_content(directory=content_dir)
    assert report.updated == ["fees.en"]
    assert Article.objects.get(slug="fees", language="en").title == "Fees, explained again"


def test_changed_file_does_not_overwrite_an_admin_edit(content_dir):
    """An admin's change (a plain model save, as the admin form does) survives a reload."""
    actions.sync_articles_from_content(directory=content_dir)
    article = Article.objects.get(slug="fees", language="en")
    article.title = "Our fees (edited by support)"
    article.save()
    retitle(content_dir, "fees.en.md", "Fees, explained again")
    report = actions.sync_articles_from_content(directory=content_dir)
    assert report.kept_edited == ["fees.en"] and not report.updated
    article.refresh_from_db()
    assert article.title == "Our fees (edited by support)"
    assert any("fees.en" in line for line in report.lines())


def test_saving_unchanged_text_from_a_browser_textarea_is_not_an_edit(content_dir):
    """Textareas post CRLF line endings; that alone must not freeze the article."""
    actions.sync_articles_from_content(directory=content_dir)
    article = Article.objects.get(slug="fees", language="en")
    article.body_markdown = article.body_markdown.replace("\n", "\r\n")
    article.save()
    retitle(content_dir, "fees.en.md", "Fees, explained again")
    report = actions.sync_articles_from_content(directory=content_dir)
    assert report.updated == ["fees.en"]


def test_unpublished_article_stays_unpublished_after_a_reload(content_dir):
    actions.sync_articles_from_content(directory=content_dir)
    article = Article.objects.get(slug="fees", language="en")
    actions.do_set_article_published(article=article, published=False)
    retitle(content_dir, "fees.en.md", "Fees, explained again")
    actions.sync_articles_from_content(directory=content_dir)
    article.refresh_from_db()
    assert article.title == "Fees, explained again" and not article.is_published


def test_article_loaded_before_its_category_existed_is_updated_once_it_does(content_dir):
    category = Category.objects.get(slug="fees")
    category.slug = "fees-renamed"
    category.save()
    actions.sync_articles_from_content(directory=content_dir)
    assert Article.objects.get(slug="fees", language="en").category is None
    assert len(actions.sync_articles_from_content(directory=content_dir).unchanged) == 68
    category.slug = "fees"
    category.save()
    report = actions.sync_articles_from_content(directory=content_dir)
    assert sorted(report.updated) == ["fees.en", "fees.zh-hans"]
    assert Article.objects.get(slug="fees", language="en").category == category


def test_demo_loader_is_idempotent():
    first = demo.load()
    assert any("68 articles created" in line for line in first)
    assert Announcement.objects.count() == len(demo.DEMO_ANNOUNCEMENTS)
    second = demo.load()
    assert any("0 articles created, 0 updated" in line for line in second)
    assert Announcement.objects.count() == len(demo.DEMO_ANNOUNCEMENTS)
    assert Article.objects.count() == 68


def test_management_command_reports_what_it_did(capsys):
    call_command("helpcenter_sync")
    assert "68 articles created" in capsys.readouterr().out
    call_command("helpcenter_sync")
    assert "68 unchanged" in capsys.readouterr().out
