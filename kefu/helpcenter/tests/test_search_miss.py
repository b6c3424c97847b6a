"""Searches that find nothing are counted for the reports — after the secret guard, per day,
language and query, bounded."""

from __future__ import annotations

import pytest
from django.test import Client

from kefu.helpcenter import actions
from kefu.helpcenter.models import SearchMiss

pytestmark = pytest.mark.django_db

SEED = "abandon ability able about above absent absorb abstract absurd abuse access accident"


def test_a_search_without_results_is_counted_once_a_day_per_query_and_language():
    client = Client()
    for query in ("xyzzy  PLUGH", "xyzzy plugh", "Xyzzy plugh"):
        client.get("/help/search/", {"q": query})
    client.get("/api/v1/articles/search", {"q": "xyzzy plugh", "lang": "en"})
    rows = {(row.language, row.query): row.searches for row in SearchMiss.objects.all()}
    assert rows == {("zh-hans", "xyzzy plugh"): 3, ("en", "xyzzy plugh"): 1}


def test_a_seed_phrase_typed_into_the_search_is_never_logged():
    Client().get("/help/search/", {"q": f"qqqq {SEED}"})
    Client().get("/api/v1/articles/search", {"q": f"wwww {SEED}"})
    logged = " ".join(SearchMiss.objects.values_list("query", flat=True))
    assert "abandon" not in logged and "accident" not in logged


def test_a_search_with_results_is_not_logged(db):
    from kefu.helpcenter.models import Article

    Article.objects.create(slug="refunds", language="en", title="Refunds", body_markdown="How refunds work")
    Client().get("/api/v1/articles/search", {"q": "refunds", "lang": "en"})
    assert not SearchMiss.objects.exists()


def test_at_most_so_many_distinct_queries_a_day_are_kept(monkeypatch):
    monkeypatch.setattr(actions, "SEARCH_MISS_ROWS_PER_DAY", 2)
    for query in ("a1", "a2", "a3", "a1"):
        actions.do_record_search_miss(query=query, language="en")
    assert dict(SearchMiss.objects.values_list("query", "searches")) == {"a1": 2, "a2": 1}
