"""The assistant panel in headless Chromium: ask, get an answer, hand over to a human."""

from __future__ import annotations

import pytest

from kefu.conftest import browser_login, make_user
from kefu.tickets.models import Ticket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_customer_asks_the_assistant_and_gets_a_case_number(browser, live_server):
    make_user("alice@example.com")
    context, page = browser_login(browser, live_server.url, "alice@example.com")
    page.goto(f"{live_server.url}/portal/")
    page.click(".bot-toggle")

    def ask(text: str) -> None:
        answered = page.locator(".bot-bot").count()
        page.fill(".bot-form input", text)
        page.press(".bot-form input", "Enter")
        page.wait_for_function(f"() => document.querySelectorAll('.bot-bot').length > {answered}")

    ask("你好")
    assert "Lumen Wallet" in page.locator(".bot-bot").last.inner_text()
    ask("我的账户登录不上去了")
    ask("转人工")
    case = page.wait_for_selector(".bot-case").inner_text()
    ticket = Ticket.objects.get(case_number=case.split()[-1])
    assert ticket.messages.filter(body="我的账户登录不上去了").exists()  # the conversation is the case
    context.close()
