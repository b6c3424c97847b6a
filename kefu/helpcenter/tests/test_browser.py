"""End to end in headless Chromium: search, read an article, vote, find the way to a ticket."""

from __future__ import annotations

import os

import pytest

from kefu.helpcenter.models import Article

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.urls("kefu.helpcenter.tests.urls"),
]


def test_reader_searches_reads_and_votes(browser, live_server, articles):
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(15000)
    page.goto(f"{live_server.url}/help/")
    assert "充值未到账怎么办？" in page.content()
    page.fill("input[name=q]", "充值一直没到账怎么办")
    page.press("input[name=q]", "Enter")
    page.wait_for_selector(".hc-results")
    assert page.locator(".hc-results mark").count() > 0
    page.click(".hc-results li:first-child a")
    page.wait_for_selector("#feedback")
    assert page.inner_text("h1") == "充值未到账怎么办？"
    assert page.get_attribute("#submit-ticket", "href") == "/portal/new/?category=deposit-not-credited"
    page.click("button[name=helpful][value=yes]")
    page.wait_for_selector("button[name=helpful][value=yes][aria-pressed=true]")
    page.click("button[name=helpful][value=yes]")  # the same answer again
    page.wait_for_load_state("networkidle")
    article = Article.objects.get(slug="deposit-not-credited", language="zh-hans")
    assert (article.helpful_count, article.unhelpful_count) == (1, 0)
    if shots := os.environ.get("KEFU_SCREENSHOTS"):
        page.screenshot(path=f"{shots}/helpcenter-article.png", full_page=True)
    context.close()
