"""The agent's composer on a WhatsApp case in headless Chromium (zh and en): it says which mode
the 24-hour window allows and the time left; outside the window a free-text reply is refused
with the draft kept, and an approved template goes out instead."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from kefu.conftest import browser_login, make_user
from kefu.inbox import pipeline
from kefu.inbox.models import InboundEvent
from kefu.tickets.models import Ticket
from kefu.whatsapp.models import Template, TemplateStatus
from kefu.whatsapp.tests import fake_graph as fg
from kefu.whatsapp.tests.conftest import APP_SECRET
from kefu.whatsapp.tests.helpers import inbox, post_webhook, settle

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_composer_shows_the_window_refuses_free_text_after_it_and_sends_a_template(
    browser, live_server, graph
):
    alice = make_user("alice@example.com")
    make_user("agent@example.com", "agent", ("assets", "accounts", "general"))
    pipeline.identify(inbox(), address="+16505551234", customer=alice)
    post_webhook(fg.inbound(fg.text("我的 USDT 充值没到账", wamid="wamid.BR1")), secret=APP_SECRET)
    settle()
    ticket = Ticket.objects.get()
    Template.objects.create(
        name="case_update",
        language="zh_CN",
        body="您好 {{1}}，您的工单有新进展，请回复继续。",
        status=TemplateStatus.APPROVED,
    )
    InboundEvent.objects.update(received_at=timezone.now() - timedelta(hours=22))
    url = f"{live_server.url}/workspace/tickets/{ticket.case_number}/"

    zh_ctx, zh = browser_login(browser, live_server.url, "agent@example.com", locale="zh-CN")
    zh.goto(url)
    line = zh.inner_text("#whatsapp-window .hint")
    assert "24 小时会话窗口开放中" in line and "剩余 1 小时" in line, line

    en_ctx, en = browser_login(browser, live_server.url, "agent@example.com", locale="en-US")
    en.goto(url)
    line = en.inner_text("#whatsapp-window .hint")
    assert "window open: free text allowed" in line and "1 h" in line and "left" in line, line

    InboundEvent.objects.update(received_at=timezone.now() - timedelta(hours=25))
    zh.goto(url)
    assert "24 小时会话窗口已关闭" in zh.inner_text("#whatsapp-window .hint")
    zh.fill("#agent-reply textarea[name=body]", "这是一条自由文本回复")
    zh.click("#agent-reply button.primary")
    zh.wait_for_selector("text=超过 24 小时")
    assert zh.input_value("#agent-reply textarea[name=body]") == "这是一条自由文本回复"  # the draft stays
    assert not ticket.messages.filter(body="这是一条自由文本回复").exists()

    zh.select_option(
        "#whatsapp-window select[name=template]",
        label="case_update (zh_CN) — 您好 {{1}}，您的工单有新进展，请回复继续。",
    )
    zh.fill("#whatsapp-window input[name=param1]", "Alice")
    zh.click("#whatsapp-window button[type=submit]")
    zh.wait_for_selector("text=您好 Alice，您的工单有新进展")
    settle()
    [sent] = graph.sent()
    assert (
        sent["type"] == "template" and sent["template"]["components"][0]["parameters"][0]["text"] == "Alice"
    )
    zh_ctx.close()
    en_ctx.close()
