"""A report family page in headless Chromium: its charts drawn (canvas with a size, ECharts'
accessible description naming the bars in the page's language), the announcement marked on
the timeline, definitions on hover, nothing wider than a 390 px phone, and the CSV and Excel
downloads, in Chinese and English."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from kefu.accounts.models import Role
from kefu.conftest import browser_login, make_user
from kefu.helpcenter.models import Announcement
from kefu.tickets.actions import check_create_ticket
from kefu.tickets.models import Category


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("locale", "channel", "header", "definition_words", "mark"),
    [
        ("zh-CN", "网页", "渠道", "按工单发起的渠道统计", "充值延迟"),
        ("en-US", "Portal", "Channel", "by the channel where the case started", "Deposit delays"),
    ],
)
def test_volume_page_renders_its_charts_and_downloads_at_390_px(
    browser, live_server, locale, channel, header, definition_words, mark
):
    alice = make_user("alice@example.com")
    make_user("boss@example.com", Role.SUPERVISOR)
    cases = [
        check_create_ticket(
            customer=alice, category=Category.objects.get(slug=slug), title="t", description="d"
        )
        for slug in ("deposit-not-credited", "deposit-not-credited", "withdrawal-issue")
    ]
    Announcement.objects.create(
        title_zh="充值延迟", title_en="Deposit delays", starts_at=timezone.now() - timedelta(days=2)
    )
    context, page = browser_login(browser, live_server.url, "boss@example.com", locale=locale)
    try:
        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(f"{live_server.url}/reports/volume/")
        page.wait_for_selector("#chart-volume_by_day canvas")
        for chart in ("#chart-volume_by_channel", "#chart-volume_by_category", "#chart-volume_by_day"):
            box = page.locator(f"{chart} canvas").first.bounding_box()
            assert box["width"] > 200 and box["height"] > 100, chart
        # Labelled in the page's language (ECharts' description of the drawn bars).
        assert channel in (page.locator("#chart-volume_by_channel").get_attribute("aria-label") or "")
        assert page.locator("#panel-volume_by_channel th").first.inner_text() == header
        # The announcement is drawn over the timeline (its name in the chart's option).
        names = page.evaluate(
            "echarts.getInstanceByDom(document.getElementById('chart-volume_by_day'))"
            ".getOption().series[0].markArea.data.map(function (d) { return d[0].name; })"
        )
        assert names == [mark]
        # The tab of this page is marked; every family has a tab.
        assert page.locator(".report-tabs a[aria-current=page]").count() == 1
        if os.environ.get("KEFU_SCREENSHOTS"):
            folder = Path(os.environ["KEFU_SCREENSHOTS"])
            folder.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(folder / f"reports-volume-{locale}-390.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
        definition = page.locator("#def-volume_by_channel")
        assert not definition.is_visible()
        page.hover("#panel-volume_by_channel .term")
        assert definition.is_visible() and definition_words in definition.inner_text()
        with page.expect_download() as csv_download:
            page.click("#export-csv")
        text = Path(csv_download.value.path()).read_text(encoding="utf-8-sig")
        assert header in text and channel in text
        with page.expect_download() as xlsx_download:
            page.click("#export-xlsx")
        assert xlsx_download.value.suggested_filename.endswith(".xlsx")
        assert Path(xlsx_download.value.path()).read_bytes()[:2] == b"PK"  # a zip: the .xlsx container
        # Drill-down: the count (three tickets, all from the portal) opens the agents' list of them.
        page.click("#panel-volume_by_channel td a >> nth=0")
        page.wait_for_load_state("networkidle")
        assert "/workspace/" in page.url and "report=1" in page.url
        listing = page.content()
        assert all(case.ticket.case_number in listing for case in cases)
    finally:
        context.close()
