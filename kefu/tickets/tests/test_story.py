"""The agent's ticket view tells the whole story of a case; the customer sees only their part of it."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from kefu.conftest import bearer, login
from kefu.tickets import selectors, thread
from kefu.tickets.actions import check_add_message, check_create_ticket, do_merge
from kefu.tickets.models import Category, Channel, MessageKind, Sender, Ticket

pytestmark = pytest.mark.django_db


def _case(
    customer,
    title: str = "充值未到账",
    channel: str = Channel.BOT,
    description: str = "USDT 充值两小时没到账",
) -> Ticket:
    return check_create_ticket(
        customer=customer,
        category=Category.objects.get(slug="deposit-not-credited"),
        title=title,
        description=description,
        channel=channel,
        language="zh-hans",
    ).ticket


def _bot_turns(ticket: Ticket, customer, n: int) -> None:
    """``n`` exchanges with the bot: the customer's turn, then the bot's answer with its chips."""
    for i in range(n):
        thread.append(ticket, body=f"问题 {i}", author=customer, channel=Channel.BOT)
        thread.append(
            ticket,
            body=f"机器人回答 {i}",
            sender=Sender.BOT,
            channel=Channel.BOT,
            extra={
                "intent": "deposit_missing",
                "quick_replies": ["充值未到账", "转人工"],
                "articles": [
                    {"slug": "a", "title": "充值指南", "url": "/help/a/"},
                    {"slug": "x", "title": "坏链接", "url": "javascript:alert(1)"},
                ],
            },
        )


def _every_kind(ticket: Ticket, customer, agent) -> None:
    """One message of every kind the story shows, from every channel."""
    _bot_turns(ticket, customer, 1)
    thread.append(
        ticket, body="已转人工", kind=MessageKind.SYSTEM, channel=Channel.BOT, extra={"event": "handoff"}
    )
    thread.append(ticket, body="在线聊天：你好", author=customer, channel=Channel.CHAT)
    thread.append(ticket, body="坐席：请稍等", author=agent, channel=Channel.CHAT)
    thread.append(
        ticket,
        body="邮件补充：交易哈希见附件",
        author=customer,
        channel=Channel.EMAIL,
        external_id="<abc@mail.example>",
        extra={"subject": "Re: [KF] 充值未到账"},
    )
    thread.append(
        ticket, body="内部：链上已确认", author=agent, kind=MessageKind.INTERNAL, channel=Channel.AGENT
    )
    thread.append(ticket, body="API 回复", author=agent, channel=Channel.API)
    thread.append(
        ticket,
        body="系统：公开的系统行",
        sender=Sender.SYSTEM,
        channel=Channel.CHAT,
        extra={"event": "joined"},
    )


def _page(client, ticket: Ticket) -> str:
    response = client.get(reverse("tickets:workspace_ticket", args=[ticket.case_number]))
    assert response.status_code == 200
    return response.content.decode()


def test_the_agent_sees_every_channel_in_case_order_with_its_sender_and_channel(alice, agent):
    """Bot turns (intent, chips), chat, mail (subject and Message-ID on hover), notes and system
    events are one story in ``seq`` order, each with a channel badge."""
    ticket = _case(alice)
    _every_kind(ticket, alice, agent)
    html = _page(login(agent), ticket)

    sides = re.findall(r'data-side="(\w+)" data-channel="(\w+)"', html)
    assert sides == [
        ("customer", "bot"),  # the description, filed through the bot
        ("customer", "bot"),
        ("bot", "bot"),
        ("system", "bot"),
        ("customer", "chat"),
        ("agent", "chat"),
        ("customer", "email"),
        ("note", "agent"),
        ("agent", "api"),
        ("system", "chat"),
    ]
    for badge in ("机器人", "在线聊天", "邮件", "API", "工作台"):
        assert f">{badge}</span>" in html
    assert "deposit_missing" in html and "<li>转人工</li>" in html
    assert 'href="/help/a/"' in html and "javascript:" not in html
    assert "Message-ID: &lt;abc@mail.example&gt;" in html and "Re: [KF] 充值未到账" in html
    assert 'class="badge internal"' in html


def test_a_long_bot_conversation_folds_behind_one_line(alice, agent):
    ticket = _case(alice, channel=Channel.PORTAL)
    _bot_turns(ticket, alice, 6)
    check_add_message(ticket=ticket, author=agent, body="人工坐席来了")
    html = _page(login(agent), ticket)
    assert "12 轮机器人对话 — 展开" in html or "12 bot turns — show" in html
    folded = html.split('<li class="bot-run">', 1)[1].split("</details>", 1)[0]
    assert folded.count('data-side="bot"') == 6 and "人工坐席来了" not in folded


def test_a_merged_thread_reads_in_case_order_not_in_order_of_writing(alice, agent):
    """The merge renumbers the duplicate's older messages after the survivor's: the story follows
    the numbers (created_at would put them first)."""
    duplicate = _case(alice, title="重复的工单", channel=Channel.PORTAL, description="重复工单的描述")
    survivor = _case(alice, title="保留的工单", channel=Channel.PORTAL, description="保留工单的描述")
    check_add_message(ticket=survivor, author=agent, body="保留工单的回复")
    do_merge(source=duplicate, target=survivor, actor=agent)
    html = _page(login(agent), survivor)
    assert html.index("保留工单的描述") < html.index("保留工单的回复") < html.index("重复工单的描述")
    seqs = [int(n) for n in re.findall(r'<li class="(?:msg|ev)[^"]*" id="m(\d+)"', html)]
    assert seqs == sorted(seqs) and len(seqs) == Ticket.objects.get(pk=survivor.pk).last_seq


def test_the_story_costs_the_same_queries_for_a_short_and_a_long_thread(alice, agent):
    from kefu.inbox.models import DeliveryStatus, OutboundDelivery

    ticket = _case(alice)
    client = login(agent)
    url = reverse("tickets:workspace_ticket", args=[ticket.case_number])

    def count() -> int:
        client.get(url)
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    _every_kind(ticket, alice, agent)
    short = count()
    for i in range(4):
        _every_kind(ticket, alice, agent)
        reply = thread.append(ticket, body=f"邮件回复 {i}", author=agent, channel=Channel.AGENT)
        OutboundDelivery.objects.create(message=reply, channel="email", status=DeliveryStatus.FAILED)
    assert count() == short


def test_notes_system_events_and_bot_internals_never_reach_the_customer(alice, agent):
    """Neither the portal page nor the API shows internal notes or system events (whatever their
    kind), nor the bot's intent; the bot's public answers are the customer's to read."""
    ticket = _case(alice)
    _every_kind(ticket, alice, agent)

    portal = login(alice).get(reverse("tickets:portal_ticket", args=[ticket.case_number])).content.decode()
    api = bearer(alice).get(f"/api/v1/tickets/{ticket.case_number}").json()
    bodies = [m["body"] for m in api["messages"]]
    for hidden in ("内部：链上已确认", "已转人工", "系统：公开的系统行"):
        assert hidden not in portal and hidden not in bodies
    assert "deposit_missing" not in portal and "deposit_missing" not in str(api)
    for shown in ("机器人回答 0", "在线聊天：你好", "坐席：请稍等", "邮件补充：交易哈希见附件", "API 回复"):
        assert shown in portal and shown in bodies
    assert [m.seq for m in selectors.thread_for(ticket, user=alice)] == sorted(
        m.seq for m in selectors.thread_for(ticket, user=alice)
    )
    bot = next(m for m in api["messages"] if m["body"] == "机器人回答 0")
    assert (bot["sender"], bot["channel"], bot["from_customer"]) == ("bot", "bot", False)
    assert bot["author"] in ("智能助手", "Assistant")
    assert [m["seq"] for m in api["messages"]] == sorted(m["seq"] for m in api["messages"])
    # Staff read all of it, through the same API.
    staff_bodies = [
        m["body"] for m in bearer(agent).get(f"/api/v1/tickets/{ticket.case_number}").json()["messages"]
    ]
    assert "内部：链上已确认" in staff_bodies and "系统：公开的系统行" in staff_bodies


def test_the_inboxes_delivery_records_give_the_state_needing_attention_first(alice, agent):
    """A reply pushed on two channels shows the failed one, with its error, over the sent one."""
    from kefu.inbox.models import DeliveryStatus, OutboundDelivery

    ticket = _case(alice, channel=Channel.EMAIL)
    reply = thread.append(ticket, body="两个渠道都发了", author=agent, channel=Channel.AGENT)
    queued = thread.append(ticket, body="还在排队", author=agent, channel=Channel.AGENT)
    OutboundDelivery.objects.create(message=reply, channel="email", status=DeliveryStatus.SENT)
    OutboundDelivery.objects.create(
        message=reply, channel="sms", status=DeliveryStatus.FAILED, last_error="number unreachable"
    )
    OutboundDelivery.objects.create(message=queued, channel="email", status=DeliveryStatus.QUEUED)
    html = _page(login(agent), ticket)
    assert 'class="delivery delivery-failed" title="number unreachable"' in html
    assert 'class="delivery delivery-queued"' in html
