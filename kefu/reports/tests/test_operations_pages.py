"""The operations families' pages: supervisors and admins only, in Chinese and English, each
panel with its definition; exports; one page drawn in headless Chromium at 390 px."""

from __future__ import annotations

import csv
import io
import os
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone, translation
from django.utils.html import escape

from kefu.accounts.models import Role
from kefu.chat.models import ChatConversation
from kefu.conftest import browser_login, login, make_user
from kefu.csat.models import CsatSurvey
from kefu.reports import metrics
from kefu.tickets.actions import create_case
from kefu.tickets.models import Category

FAMILIES = ("live_chat", "phone", "bot", "helpcentre", "csat", "agents")


def surveys(customer) -> None:
    """Today: a chat survey rated 5 ("很快 <b>fast</b>"), a chat survey unanswered, an email
    ticket's survey rated 2."""
    now = timezone.now()
    ticket = create_case(
        customer=None,
        category=Category.objects.get(slug="deposit-not-credited"),
        title="t",
        description="d",
        channel="email",
        language="en",
    )
    for rating, comment, target in (
        (5, "很快 <b>fast</b>", {"conversation": ChatConversation.objects.create(customer=customer)}),
        (None, "", {"conversation": ChatConversation.objects.create(customer=customer)}),
        (2, "slow", {"ticket": ticket}),
    ):
        CsatSurvey.objects.create(
            customer=customer,
            expires_at=now + timedelta(days=7),
            rating=rating,
            comment=comment,
            answered_at=now if rating else None,
            **target,
        )


@pytest.mark.django_db
def test_operations_pages_are_for_supervisors_and_admins_only(alice, agent, supervisor):
    for key in FAMILIES:
        assert login(alice).get(f"/reports/{key}/").status_code == 404
        assert login(agent).get(f"/reports/{key}/").status_code == 404
        assert login(agent).get(f"/reports/{key}/export.csv").status_code == 404
        page = login(supervisor).get(f"/reports/{key}/", HTTP_ACCEPT_LANGUAGE="en")
        assert page.status_code == 200
        for entry in metrics.panels(key):
            assert f'id="def-{entry.key}"' in page.content.decode()


@pytest.mark.django_db
def test_every_panel_has_a_translated_label_and_definition(supervisor):
    """No operations panel shows English on the Chinese page (labels, definitions, columns)."""
    client = login(supervisor)
    for key in FAMILIES:
        english = client.get(f"/reports/{key}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
        chinese = client.get(f"/reports/{key}/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
        for entry in metrics.panels(key):
            with translation.override("en"):
                label, definition = str(entry.label), str(entry.definition)
            assert escape(label) in english and escape(definition) in english
            # The panel's visible text (tags and their ids stripped).
            heading = re.sub(r"<[^>]+>", " ", chinese.split(f'id="panel-{entry.key}"')[1].split("</table>")[0])
            assert label not in heading and definition not in heading, (key, heading)
            english_words = [word for word in label.split() if len(word) > 3 and word in heading]
            assert not english_words, (key, english_words)


@pytest.mark.django_db
def test_comments_are_escaped_and_exported(alice, supervisor):
    surveys(alice)
    client = login(supervisor)
    page = client.get("/reports/csat/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "很快 &lt;b&gt;fast&lt;/b&gt;" in page and "<b>fast</b>" not in page
    exported = client.get("/reports/csat/export.csv", HTTP_ACCEPT_LANGUAGE="en").content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(exported)))
    assert any(row[:2] == ["Chat", "2"] for row in rows), rows
    assert any("很快 <b>fast</b>" in row for row in rows)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("locale", "series", "definition_words"),
    [("zh-CN", "已接听", "已发送的满意度调查"), ("en-US", "Answered", "Satisfaction surveys sent")],
)
def test_the_satisfaction_page_draws_its_chart_translated_at_390_px(
    browser, live_server, locale, series, definition_words
):
    alice = make_user("alice@example.com")
    make_user("boss@example.com", Role.SUPERVISOR)
    surveys(alice)
    context, page = browser_login(browser, live_server.url, "boss@example.com", locale=locale)
    try:
        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(f"{live_server.url}/reports/csat/")
        page.wait_for_selector("#chart-csat_by_channel canvas")
        box = page.locator("#chart-csat_by_channel canvas").first.bounding_box()
        assert box["width"] > 200 and box["height"] > 100
        assert series in (page.locator("#chart-csat_by_channel").get_attribute("aria-label") or "")
        if os.environ.get("KEFU_SCREENSHOTS"):
            folder = Path(os.environ["KEFU_SCREENSHOTS"])
            folder.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(folder / f"reports-csat-{locale}-390.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
        definition = page.locator("#def-csat_by_channel")
        assert not definition.is_visible()
        page.hover("#panel-csat_by_channel .term")
        assert definition.is_visible() and definition_words in definition.inner_text()
    finally:
        context.close()
