"""Help-centre fixtures: the bundled articles, and committing on_commit callbacks."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from kefu.helpcenter.actions import sync_articles_from_content
from kefu.helpcenter.models import Announcement, Article


@pytest.fixture
def articles(db) -> list[Article]:
    """All bundled articles, loaded as the demo loads them."""
    sync_articles_from_content()
    return list(Article.objects.all())


def make_announcement(
    *,
    title: str = "维护 / Maintenance",
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    coins: list[str] | None = None,
    networks: list[str] | None = None,
    kind: str = "maintenance",
    is_published: bool = True,
) -> Announcement:
    return Announcement.objects.create(
        kind=kind,
        title_zh=f"{title}（中文）",
        title_en=f"{title} (English)",
        body_zh="中文正文",
        body_en="English text",
        starts_at=starts_at or timezone.now() - timedelta(hours=1),
        ends_at=ends_at,
        coins=coins or [],
        networks=networks or [],
        is_published=is_published,
    )
