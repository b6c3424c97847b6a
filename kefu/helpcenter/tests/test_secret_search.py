"""A seed phrase pasted into the help-centre search is not echoed back (page title, search box,
"no articles match") nor searched for: it is hidden, and the customer is warned."""

from __future__ import annotations

import pytest
from django.test import Client
from mnemonic import Mnemonic

PHRASE = Mnemonic("english").to_mnemonic(bytes(range(16)))


def _words_shown(html: str) -> list[str]:
    return [w for w in PHRASE.split() if len(w) >= 5 and w in html]


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_a_phrase_typed_into_search_is_hidden_and_warned_about(articles, language):
    html = (
        Client(HTTP_ACCEPT_LANGUAGE=language).get("/help/search/", {"q": f"help {PHRASE}"}).content.decode()
    )
    assert _words_shown(html) == [], _words_shown(html)
    warning = "似乎包含助记词" if language == "zh-hans" else "seemed to contain a seed phrase"
    assert warning in html
    assert "疑似助记词" in html or "possible seed phrase" in html  # the search box shows what was searched


def test_the_search_api_does_not_search_for_a_phrase(articles):
    hits = Client().get("/api/v1/articles/search", {"q": PHRASE, "lang": "en"}).json()
    assert not any(_words_shown(hit["snippet"] + hit["title"]) for hit in hits)


def test_an_ordinary_search_shows_no_warning(articles):
    html = (
        Client(HTTP_ACCEPT_LANGUAGE="en").get("/help/search/", {"q": "forgot my password"}).content.decode()
    )
    assert "seemed to contain" not in html
