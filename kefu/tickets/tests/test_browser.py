"""End to end in headless Chromium: a customer files a ticket, an agent answers, the customer sees it."""

from __future__ import annotations

import re

import pytest

from kefu.conftest import browser_login, make_user, png_bytes
from kefu.tickets.models import Ticket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_customer_submits_agent_replies_customer_sees_reply(browser, live_server, tmp_path):
    make_user("alice@example.com")
    make_user("agent@example.com", "agent", ("assets",))
    screenshot = tmp_path / "proof.png"
    screenshot.write_bytes(png_bytes((40, 20)))

    customer_ctx, customer = browser_login(browser, live_server.url, "alice@example.com")
    customer.goto(f"{live_server.url}/portal/new/")
    customer.select_option("select[name=category]", label="充值未到账")
    customer.fill("input[name=title]", "USDT 充值没到账")
    customer.fill("textarea[name=description]", "TRC-20 网络，转了 200 USDT，两个小时了还没到。")
    customer.fill("input[name=coin]", "USDT")
    customer.set_input_files("input[name=attachments]", str(screenshot))
    customer.click("form.ticket-form button[type=submit]")
    customer.wait_for_selector("#case-number")
    case_number = customer.inner_text("#case-number")
    assert re.fullmatch(r"KF-\d{8}-\d{8}", case_number)
    assert "工单已提交" in customer.content()
    ticket = Ticket.objects.get(case_number=case_number)
    assert ticket.team.slug == "assets" and ticket.attachments.count() == 1

    agent_ctx, agent = browser_login(browser, live_server.url, "agent@example.com")
    agent.goto(f"{live_server.url}/workspace/?queue=team&team=assets")
    agent.click(f"text={case_number}")
    # The sidebar's wallet account state arrives after the page (the demo wallet knows everyone).
    agent.wait_for_selector("#identity-account .badge")
    assert "钱包账户" in agent.inner_text("#identity-account")
    agent.fill("#agent-reply textarea[name=body]", "您好，已查到这笔交易，确认数达到后会自动到账。")
    agent.click("#agent-reply button[type=submit]")
    agent.wait_for_selector("text=已查到这笔交易")

    customer.reload()
    assert "已查到这笔交易" in customer.inner_text("ol.thread")
    assert "等待客户回复" in customer.content()
    customer_ctx.close()
    agent_ctx.close()
