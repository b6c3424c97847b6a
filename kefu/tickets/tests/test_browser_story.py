"""In headless Chromium: the agent's case view (bot turns folded, every channel), bulk changes in
the list, and the line that says who else has the ticket open."""

from __future__ import annotations

import os

import pytest

from kefu.accounts.models import User
from kefu.conftest import browser_login, make_user
from kefu.sla.models import SlaPolicy
from kefu.tickets import actions, presence, thread
from kefu.tickets.models import Category, Channel, MessageKind, Sender, Tag, Ticket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _case(customer: User, agent: User, title: str) -> Ticket:
    ticket = actions.check_create_ticket(
        customer=customer,
        category=Category.objects.get(slug="deposit-not-credited"),
        title=title,
        description="充值 200 USDT 两小时没到账",
        channel=Channel.BOT,
        language="zh-hans",
    ).ticket
    for i in range(4):
        thread.append(ticket, body=f"还是没到账 {i}", author=customer, channel=Channel.BOT)
        thread.append(
            ticket,
            body=f"请确认网络和地址（第 {i + 1} 次）",
            sender=Sender.BOT,
            channel=Channel.BOT,
            extra={"intent": "deposit_missing", "quick_replies": ["充值未到账", "转人工"]},
        )
    thread.append(ticket, body="客户要求转人工", kind=MessageKind.SYSTEM, channel=Channel.BOT)
    thread.append(ticket, body="你好，我是客服林。", author=agent, channel=Channel.CHAT)
    thread.append(
        ticket,
        body="补充：交易哈希 0xabc…",
        author=customer,
        channel=Channel.EMAIL,
        external_id="<m1@mail.example>",
        extra={"subject": "Re: 充值未到账"},
    )
    thread.append(ticket, body="链上已确认，等待入账。", author=agent, kind=MessageKind.INTERNAL)
    return ticket


def _shot(page, name: str) -> None:
    if shots := os.environ.get("KEFU_SCREENSHOTS"):
        page.screenshot(path=f"{shots}/{name}.png", full_page=True)


def test_the_agent_reads_the_whole_case_and_sees_a_colleague_typing(browser, live_server, monkeypatch):
    monkeypatch.setattr(presence, "HEARTBEAT_SECONDS", 1)
    customer = make_user("alice@example.com")
    agent = make_user("agent@example.com", "agent", ("assets",))
    lin = make_user("lin@example.com", "agent", ("assets",))
    User.objects.filter(pk=lin.pk).update(display_name="林")
    ticket = _case(customer, agent, "USDT 充值没到账")
    url = f"{live_server.url}/workspace/tickets/{ticket.case_number}/"

    lin_ctx, lin_page = browser_login(browser, live_server.url, "lin@example.com")
    lin_page.goto(url)
    agent_ctx, page = browser_login(browser, live_server.url, "agent@example.com")
    page.goto(url)
    # Lin opened the ticket first: the page says so from the start.
    assert "林 也打开了此工单" in page.inner_text("#viewers")

    summary = page.locator(".bot-run summary")
    assert summary.inner_text() == "9 轮机器人对话 — 展开"  # the request written to the bot, and 4 exchanges
    assert not page.locator(".bot-run .chips").first.is_visible()
    summary.click()
    assert page.locator(".bot-run .chips").first.is_visible()
    assert page.locator(".bot-run .intent").first.inner_text() == "deposit_missing"
    sides = page.evaluate(
        "[...document.querySelector('ol.story').children].map(e => e.dataset.side || 'run')"
    )
    assert sides == ["run", "system", "agent", "customer", "note"]
    assert (
        page.get_attribute("li[data-channel=email] .chan", "title")
        == "主题: Re: 充值未到账\nMessage-ID: <m1@mail.example>"
    )
    _shot(page, "ticket-story")

    lin_page.fill("#agent-reply textarea[name=body]", "我来回复")
    page.wait_for_selector("#viewers:has-text('林 正在输入回复')")
    page.set_viewport_size({"width": 390, "height": 844})
    _shot(page, "ticket-story-390")
    lin_ctx.close()
    agent_ctx.close()


def test_the_agent_selects_rows_and_changes_them_together(browser, live_server):
    customer = make_user("alice@example.com")
    agent = make_user("agent@example.com", "agent", ("assets",))
    Tag.objects.create(slug="vip", name_zh="大客户", name_en="VIP")
    SlaPolicy.objects.create(name="All", first_reply_minutes=60, first_reply_business=False)
    tickets = [_case(customer, agent, f"批量 {i}") for i in range(3)]
    context, page = browser_login(browser, live_server.url, "agent@example.com")
    page.goto(f"{live_server.url}/workspace/?queue=unassigned")
    page.check("#bulk-all")
    assert page.inner_text(".bulk-count") == "3 已选"
    page.uncheck(f"input[name=case][value='{tickets[2].case_number}']")
    page.select_option(".bulk-bar select[name=tag]", "vip")
    page.click(".bulk-bar button[value=tag]")
    page.wait_for_selector("text=已修改 2 个工单。")
    page.check("#bulk-all")
    page.click(".bulk-bar button[value=assign_me]")
    page.wait_for_selector("text=已修改 3 个工单。")
    assert set(Ticket.objects.values_list("assignee_id", flat=True)) == {agent.pk}
    page.goto(f"{live_server.url}/workspace/?queue=mine&tag=vip")
    assert page.locator("tbody tr").count() == 2
    assert page.locator("td.due time").first.inner_text().endswith("后到期")
    page.click(".save-view summary")
    page.fill(".save-view input[name=name]", "我的大客户")
    page.click(".save-view button[type=submit]")
    page.wait_for_selector(".saved-views a.active:has-text('我的大客户')")
    _shot(page, "list-bulk")
    page.set_viewport_size({"width": 390, "height": 844})
    _shot(page, "list-bulk-390")
    context.close()
