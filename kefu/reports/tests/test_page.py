"""The reports page: supervisors and admins only, the summary's figures with their definitions,
charts drawn by the shipped ECharts in headless Chromium, in Chinese and English, at 390 px."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kefu.accounts.models import Role
from kefu.conftest import browser_login, login, make_user
from kefu.tickets.actions import check_create_ticket
from kefu.tickets.models import Category


@pytest.mark.django_db
def test_only_supervisors_and_admins_see_the_page(alice, agent, supervisor):
    assert login(alice).get("/reports/").status_code == 404
    assert login(agent).get("/reports/").status_code == 404
    page = login(supervisor).get("/reports/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "echarts-6.1.0.common.min.js" in text and "cdn" not in text.lower()
    assert "report-data" in text


@pytest.mark.django_db
def test_the_page_shows_the_figures_and_refuses_bad_dates_politely(alice, supervisor):
    check_create_ticket(
        customer=alice, category=Category.objects.get(slug="deposit-not-credited"), title="t", description="d"
    )
    client = login(supervisor)
    page = client.get("/reports/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'id="card-tickets_created"' in page and "Tickets opened in the period" in page
    for query in ("since=soon", "since=0001-01-01", "until=9999-12-31"):
        bad = client.get(f"/reports/?{query}", HTTP_ACCEPT_LANGUAGE="en")
        assert bad.status_code == 200 and "Enter dates as YYYY-MM-DD." in bad.content.decode()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("locale", "heading", "channel", "definition_words"),
    [("zh-CN", "报表", "网页", "首次公开回复"), ("en-US", "Reports", "Portal", "first public reply")],
)
def test_charts_render_labelled_and_translated_at_390_px(
    browser, live_server, locale, heading, channel, definition_words
):
    alice = make_user("alice@example.com")
    make_user("boss@example.com", Role.SUPERVISOR)
    for slug in ("deposit-not-credited", "deposit-not-credited", "withdrawal-issue"):
        check_create_ticket(
            customer=alice, category=Category.objects.get(slug=slug), title="t", description="d"
        )
    context, page = browser_login(browser, live_server.url, "boss@example.com", locale=locale)
    try:
        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(f"{live_server.url}/reports/")
        page.wait_for_selector("#chart-channel canvas")
        assert page.locator("h1").inner_text() == heading
        # Drawn, not empty: every chart has a canvas with a size.
        for chart in ("#chart-channel", "#chart-category"):
            box = page.locator(f"{chart} canvas").first.bounding_box()
            assert box["width"] > 200 and box["height"] > 100
        # Labelled in the page's language: ECharts' accessible description names the bars.
        assert channel in (page.locator("#chart-channel").get_attribute("aria-label") or "")
        if os.environ.get("KEFU_SCREENSHOTS"):
            folder = Path(os.environ["KEFU_SCREENSHOTS"])
            folder.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(folder / f"reports-{locale}-390.png"), full_page=True)
        # Nothing wider than the phone.
        assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
        # The definition shows on hover.
        definition = page.locator("#def-first_reply_seconds")
        assert not definition.is_visible()
        page.hover("#card-first_reply_seconds .term")
        assert definition.is_visible() and definition_words in definition.inner_text()
    finally:
        context.close()
