"""What a first real customer and agent ran into (issue 11, items 11–13 and 16), server side.

Real database, real bot, real sockets through the ASGI routes; the browser side of the same
items is in ``test_browser_first_use.py``.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from mnemonic import Mnemonic

from kefu.chat import actions, selectors
from kefu.chat.models import ChatConversation, Message
from kefu.chat.tests.conftest import of_type, queued_chat, receive_until, run_async, set_online, ws_client
from kefu.conftest import login, make_user
from kefu.csat import actions as csat_actions
from kefu.csat import selectors as csat_selectors
from kefu.csat.models import CsatSurvey
from kefu.tickets.models import Status, Ticket

# The dispatcher runs after commit, so these tests commit for real.
pytestmark = pytest.mark.django_db(transaction=True)


def say(chat: ChatConversation, customer, text: str, client_id: str):
    post = actions.check_customer_message(
        conversation=chat, customer=customer, client_id=client_id, text=text
    )
    return post


# --- item 11: "end chat" only where there is a chat with a human ------------------------------


def test_a_conversation_with_the_bot_only_cannot_be_ended_by_the_customer(alice):
    chat = actions.do_start_conversation(customer=alice, language="zh-hans")
    say(chat, alice, "你好", "c1")
    with pytest.raises(ValidationError):
        actions.check_customer_close(conversation=chat, customer=alice)
    assert ChatConversation.objects.get(pk=chat.pk).status == "bot"

    waiting = queued_chat(make_user("bob@example.com"))
    closed = actions.check_customer_close(conversation=waiting, customer=waiting.customer)
    assert closed.status == "closed" and closed.close_reason == "customer"


# --- item 16: the seed-phrase warning once; the bot's answer before the agent joins ------------


def test_the_secret_warning_is_shown_once_under_the_message_that_held_it(alice):
    chat = actions.do_start_conversation(customer=alice, language="zh-hans")
    post = say(chat, alice, Mnemonic("english").generate(128), "c1")
    assert post.secret_warning
    stored = Message.objects.get(ticket_id=chat.ticket_id, sender="customer")
    assert stored.extra == {"secret_warning": post.secret_warning}  # kept for reloads and other tabs
    [bot] = post.replies
    assert "secret_warning" not in bot.extra  # the bot's answer does not repeat it
    warnings = [m for m in selectors.history(chat)[0] if m["extra"].get("secret_warning")]
    assert len(warnings) == 1


def test_the_bots_hand_off_answer_comes_before_the_agent_joins(alice):
    agent = make_user("g1@example.com", "agent", ("general",))
    set_online(agent)
    chat = actions.do_start_conversation(customer=alice, language="zh-hans")
    post = say(chat, alice, "转人工", "c1")
    chat = ChatConversation.objects.get(pk=chat.pk)
    assert chat.status == "active" and chat.assignee == agent
    order = [
        (m.sender, (m.extra or {}).get("event", ""))
        for m in chat.ticket.messages.order_by("seq")
        if m.sender != "customer"
    ]
    assert order == [("system", "queued"), ("bot", ""), ("system", "assigned")], order
    assert post.replies[0].extra["handoff"]["kind"] == "chat"


# --- item 16: one clear identity status for the agent ------------------------------------------


def test_the_agent_sees_one_identity_status_line(alice, agent):
    from kefu.identity.models import IdentityVerification

    chat = queued_chat(alice, intent="account_locked")
    context = selectors.customer_context(chat, viewer=agent)
    assert context["verification"] == {"verified": False, "label": "未验证"}

    now = timezone.now()
    IdentityVerification.objects.create(
        user=alice, method="sms_code", detail="+86", verified_at=now, expires_at=now + timedelta(hours=1)
    )
    label = selectors.customer_context(chat, viewer=agent)["verification"]["label"]
    assert label.startswith("已验证") and "短信" in label and "未验证" not in label


# --- item 12: hand-off across sign-in and devices -----------------------------------------------


def test_a_hand_off_asked_for_while_signed_out_goes_ahead_when_the_customer_signs_in(alice):
    agent = make_user("g1@example.com", "agent", ("general",))
    set_online(agent, capacity=1)
    queued_chat(make_user("bob@example.com"), intent="contact_human")  # busy: Alice will wait
    chat = actions.do_start_conversation(customer=None, language="zh-hans")
    post = say(chat, None, "转人工", "v1")
    assert post.replies[0].extra.get("needs_sign_in")

    async def reconnect_signed_in():
        async with ws_client("/ws/chat/", alice) as ws:
            await ws.send_json_to(
                {"type": "hello", "conversation_id": chat.public_id.hex, "resume_key": chat.resume_key,
                 "last_seq": 2, "language": "zh-hans"}
            )  # fmt: skip
            return await receive_until(ws, of_type("welcome"))

    welcome = run_async(reconnect_signed_in)
    assert welcome["conversation"]["id"] == chat.public_id.hex
    assert welcome["conversation"]["status"] == "queued" and welcome["queue"]["position"] == 1
    chat = ChatConversation.objects.get(pk=chat.pk)
    assert chat.customer == alice and chat.status == "queued"
    bot = [m for m in welcome["history"] if m["sender"] == "bot"]
    assert bot and bot[-1]["extra"]["handoff"]["kind"] == "chat"
    # Once, however often the panel reconnects.
    run_async(reconnect_signed_in)
    assert chat.ticket.messages.filter(sender="system", extra__event="queued").count() == 1


def test_an_open_chat_follows_the_customer_to_another_device(alice):
    set_online(make_user("g1@example.com", "agent", ("general",)), capacity=1)
    queued_chat(make_user("bob@example.com"), intent="contact_human")
    waiting = queued_chat(alice, intent="contact_human", text="我的充值没到账")
    # On the other device the panel knows nothing (or only an old conversation with the bot).
    old = actions.do_start_conversation(customer=alice, language="zh-hans")

    async def hello(conversation_id):
        async with ws_client("/ws/chat/", alice) as ws:
            await ws.send_json_to({"type": "hello", "conversation_id": conversation_id, "last_seq": 5})
            return await receive_until(ws, of_type("welcome"))

    for asked in (None, old.public_id.hex):
        welcome = run_async(hello, asked)
        assert welcome["conversation"]["id"] == waiting.public_id.hex
        assert welcome["conversation"]["status"] == "queued"
        assert [m["text"] for m in welcome["history"] if m["sender"] == "customer"] == ["我的充值没到账"]
    # And the page tells the panel at once, without a socket (the portal, in any browser).
    page = login(alice).get("/portal/")
    assert f'data-open-chat="{waiting.public_id.hex}"'.encode() in page.content

    # Nobody else is offered it: not another customer, not with its id.
    bob = make_user("carol@example.com")
    assert b'data-open-chat=""' in login(bob).get("/portal/").content

    async def hello_as_carol():
        async with ws_client("/ws/chat/", bob) as ws:
            await ws.send_json_to({"type": "hello", "conversation_id": waiting.public_id.hex})
            return await receive_until(ws, of_type("welcome"))

    assert run_async(hello_as_carol)["conversation"] is None


# --- item 13: ticket CSAT in the portal, the handler keeps the ticket, canned placeholders -------


def test_a_ticket_filed_from_a_chat_stays_with_the_agent_who_handled_it(alice):
    agent = make_user("g1@example.com", "agent", ("general",))
    set_online(agent)
    chat = queued_chat(alice, intent="contact_human")
    assert chat.assignee == agent
    actions.do_close(conversation=chat, actor=agent, reason="resolved")
    ticket = ChatConversation.objects.get(pk=chat.pk).ticket
    assert ticket.assignee == agent and ticket.status == Status.RESOLVED


def test_canned_replies_in_a_chat_without_a_case_drop_the_case_number_cleanly(alice, agent):
    from kefu.tickets.models import CannedReply
    from kefu.tickets.selectors import fill_placeholders

    # The demo's greeting.
    zh = "您好 {name}，感谢您联系客服，我们已收到您的工单 {case_number}，正在为您处理。"
    en = (
        "Hello {name}, thank you for contacting us. We have received your ticket {case_number} and are on it."
    )
    title = "Greeting"
    CannedReply.objects.create(title=title, body_zh=zh, body_en=en)
    chat = queued_chat(alice, intent="account_locked")
    [greeting] = [c for c in selectors.canned_for(agent, chat) if c["title"] == title]
    assert greeting["body"] == "您好 alice@example.com，感谢您联系客服，正在为您处理。"
    assert fill_placeholders(en, name="", case_number="") == "Hello, thank you for contacting us."
    assert fill_placeholders(zh, name="Bob", case_number="KF-1") == zh.replace("{name}", "Bob").replace(
        "{case_number}", "KF-1"
    )


def _solved_ticket(customer, agent) -> Ticket:
    from kefu.tickets.actions import check_add_message, check_create_ticket
    from kefu.tickets.models import Category

    ticket = check_create_ticket(
        customer=customer,
        category=Category.objects.get(slug="deposit-not-credited"),
        title="登录不上",
        description="一直提示密码错误",
    ).ticket
    check_add_message(ticket=ticket, author=agent, body="已为您重置。", new_status=Status.RESOLVED)
    return Ticket.objects.get(pk=ticket.pk)


def test_the_customer_rates_a_solved_ticket_on_its_page(alice, bob, agent):
    ticket = _solved_ticket(alice, agent)
    # No mail was sent: the resolution itself opened the survey (CSAT subscribes to it).
    assert CsatSurvey.objects.get(ticket=ticket).answered_at is None
    client = login(alice)
    url = f"/portal/tickets/{ticket.case_number}/"
    page = client.get(url)
    assert b'id="rate-support"' in page.content and b'name="rating"' in page.content

    response = client.post(url, {"rate": "1", "rating": "4", "comment": "很快"})
    assert response.status_code == 302
    survey = CsatSurvey.objects.get()
    assert (survey.ticket, survey.customer, survey.rating, survey.comment) == (ticket, alice, 4, "很快")
    client.post(url, {"rate": "1", "rating": "5"})  # may change it: still one survey
    assert CsatSurvey.objects.get().rating == 5
    assert "您的评分：5 分" in client.get(url).content.decode()

    # The same rules as the mailed link: 1-5 only, the owner only, solved tickets only.
    client.post(url, {"rate": "1", "rating": "9"})
    assert CsatSurvey.objects.get().rating == 5
    assert login(bob).post(url, {"rate": "1", "rating": "1"}).status_code == 404
    assert CsatSurvey.objects.get().rating == 5
    with pytest.raises(ValidationError):
        open_ticket = _solved_ticket(alice, agent)
        Ticket.objects.filter(pk=open_ticket.pk).update(status=Status.OPEN)
        csat_actions.check_rate_ticket(ticket=Ticket.objects.get(pk=open_ticket.pk), customer=alice, rating=3)


def test_a_ticket_solved_long_ago_can_no_longer_be_rated(alice, agent):
    ticket = _solved_ticket(alice, agent)
    long_ago = timezone.now() - timedelta(days=30)
    Ticket.objects.filter(pk=ticket.pk).update(resolved_at=long_ago)
    # Its survey was opened at that resolution and has expired since.
    CsatSurvey.objects.filter(ticket=ticket).update(created_at=long_ago, expires_at=long_ago + timedelta(days=7))
    ticket.refresh_from_db()
    assert csat_selectors.ticket_rating(ticket).open is False
    with pytest.raises(ValidationError):
        csat_actions.check_rate_ticket(ticket=ticket, customer=alice, rating=3)
    assert b'name="rating"' not in login(alice).get(f"/portal/tickets/{ticket.case_number}/").content
