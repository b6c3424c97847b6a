"""Every main page on a 390 px phone and on a desktop, in headless Chromium: nothing wider than
the screen, a compact header with a menu, and the assistant button clear of the reply box.

Set KEFU_SCREENSHOTS=/some/dir to keep a full-page screenshot of each page at each width.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kefu.conftest import browser_login, make_user
from kefu.helpcenter.actions import sync_articles_from_content
from kefu.tickets.actions import check_create_ticket
from kefu.tickets.models import Category

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
LONG_TITLE = "USDT 充值两个小时了还没到账，网络选的是 TRC-20，请帮忙查一下这笔交易为什么一直没有入账"


@pytest.fixture
def scene(db):
    sync_articles_from_content()
    make_user("alice@example.com")
    make_user("agent@example.com", "agent", ("assets", "accounts"))
    make_user("boss@example.com", "supervisor")
    ticket = check_create_ticket(
        customer=make_user("alice@example.com"),
        category=Category.objects.get(slug="deposit-not-credited"),
        title=LONG_TITLE,
        description="我从另一个平台提了 500 USDT 到我的钱包地址，已经两个小时了余额还是没变。" * 3,
    ).ticket
    return ticket


def _shoot(page, name: str) -> None:
    folder = os.environ.get("KEFU_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def _overflow(page) -> int:
    """How many CSS pixels the page is wider than the window (0: no sideways scrolling)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def _check_pages(page, base: str, paths: list[str], label: str, width: str) -> None:
    for path in paths:
        page.goto(base + path)
        page.wait_for_load_state("networkidle")
        _shoot(page, f"{label}-{width}-{path.strip('/').replace('/', '_') or 'home'}")
        assert _overflow(page) <= 0, f"{path} is {_overflow(page)} px too wide at {width}"
        header = page.locator("header.topbar").bounding_box()
        if width == "phone":
            # One line for the brand and the menu button, not three lines of links.
            assert header["height"] <= 64, f"{path}: header {header['height']} px high"


def test_every_main_page_fits_a_phone_and_a_desktop(browser, live_server, scene):
    ticket = scene
    customer_pages = [
        "/",
        "/help/a/deposit-not-credited/",
        "/help/search/?q=充值没到账",
        "/portal/",
        f"/portal/tickets/{ticket.case_number}/",
        "/portal/new/",
        "/verify/",
        "/identity/verify/",
        "/identity/freeze/",
    ]
    staff_pages = ["/workspace/", f"/workspace/tickets/{ticket.case_number}/", "/chat/workspace/"]
    for width, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        anonymous = browser.new_context(viewport=viewport, locale="zh-CN")
        _check_pages(
            anonymous.new_page(), live_server.url, ["/accounts/login/", "/", "/verify/"], "visitor", width
        )
        anonymous.close()
        context, page = browser_login(browser, live_server.url, "alice@example.com")
        page.set_viewport_size(viewport)
        _check_pages(page, live_server.url, customer_pages, "customer", width)
        context.close()
        context, page = browser_login(browser, live_server.url, "agent@example.com")
        page.set_viewport_size(viewport)
        _check_pages(page, live_server.url, staff_pages, "agent", width)
        context.close()
        context, page = browser_login(browser, live_server.url, "boss@example.com")
        page.set_viewport_size(viewport)
        _check_pages(page, live_server.url, ["/chat/supervisor/"], "supervisor", width)
        context.close()


def test_the_phone_menu_opens_and_closes(browser, live_server, scene):
    context, page = browser_login(browser, live_server.url, "alice@example.com")
    page.set_viewport_size(PHONE)
    page.goto(live_server.url + "/portal/")
    toggle = page.locator("header.topbar .nav-toggle")
    assert toggle.is_visible() and toggle.get_attribute("aria-expanded") == "false"
    assert not page.locator("#site-nav a[href='/portal/new/']").is_visible()
    toggle.click()
    assert toggle.get_attribute("aria-expanded") == "true"
    page.locator("#site-nav a[href='/portal/new/']").click()
    page.wait_for_url("**/portal/new/")
    # Desktop: the links are simply there, no button.
    page.set_viewport_size(DESKTOP)
    assert not page.locator("header.topbar .nav-toggle").is_visible()
    assert page.locator("#site-nav a[href='/portal/']").is_visible()
    context.close()


def test_the_assistant_button_leaves_the_reply_box_free_on_a_phone(browser, live_server, scene):
    ticket = scene
    context, page = browser_login(browser, live_server.url, "alice@example.com")
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}/portal/tickets/{ticket.case_number}/")
    page.wait_for_selector("#kefu-bot .bot-toggle")
    reply = page.locator("#reply-form textarea")
    for block in ("end", "center", "start"):
        reply.evaluate(f"e => e.scrollIntoView({{block: '{block}'}})")
        box = reply.bounding_box()
        button = page.locator("#kefu-bot .bot-toggle").bounding_box()
        overlap_x = min(box["x"] + box["width"], button["x"] + button["width"]) - max(box["x"], button["x"])
        overlap_y = min(box["y"] + box["height"], button["y"] + button["height"]) - max(box["y"], button["y"])
        assert overlap_x <= 0 or overlap_y <= 0, (block, box, button)
    submit = page.locator("#reply-form button[type=submit]")
    submit.evaluate("e => e.scrollIntoView({block: 'end'})")
    box = submit.bounding_box()
    button = page.locator("#kefu-bot .bot-toggle").bounding_box()
    assert box["y"] + box["height"] <= button["y"] or box["x"] + box["width"] <= button["x"], (box, button)
    context.close()
