"""The bot's hand-off from the chat panel: the panel's own conversation joins the queue, once.

Through ``check_customer_message`` (what the consumer calls), without sockets; the bot's
HTTP API path is tested in ``kefu/bot/tests/test_handoff.py``.
"""

from __future__ import annotations

import pytest

from kefu.bot.models import BotConversation
from kefu.chat import actions
from kefu.chat.models import ChatConversation, Message
from kefu.chat.tests.conftest import queued_chat, set_online
from kefu.conftest import make_user
from kefu.tickets.models import VISIBLE_Q, Priority, Ticket

# The dispatcher runs after commit, so these tests commit for real.
pytestmark = pytest.mark.django_db(transaction=True)


def say(chat: ChatConversation, customer, text: str, client_id: str = ""):
    post = actions.check_customer_message(
        conversation=chat, customer=customer, client_id=client_id, text=text
    )
    return post.conversation, post.replies


def queued_events(chat: ChatConversation) -> int:
    return Message.objects.filter(ticket=chat.ticket, sender="system", extra__event="queued").count()


def test_with_an_agent_online_the_panels_conversation_is_queued_once_and_no_ticket_is_filed(alice):
    agent = make_user("g1@example.com", "agent", ("general",))
    set_online(agent)
    chat = actions.do_start_conversation(customer=alice, language="zh-hans")
    chat, [bot] = say(chat, alice, "转人工", "c1")

    assert ChatConversation.objects.count() == 1 and Ticket.objects.filter(VISIBLE_Q).count() == 0
    chat = ChatConversation.objects.get()
    assert chat.status == "active" and chat.assignee == agent  # queued, then taken by the free agent
    assert chat.bot_conversation == BotConversation.objects.get() and queued_events(chat) == 1
    assert bot.sender == "bot" and bot.extra["handoff"]["kind"] == "chat"
    assert bot.extra["handoff"]["chat_id"] == chat.public_id.hex
    # The customer keeps writing: it reaches the agent, nothing is queued or filed again.
    say(chat, alice, "在吗", "c2")
    assert queued_events(chat) == 1 and Ticket.objects.filter(VISIBLE_Q).count() == 0
    assert Message.objects.filter(ticket_id=chat.ticket_id, sender="bot").count() == 1


def test_with_nobody_online_the_panel_gets_a_ticket_and_the_chat_stays_with_the_bot(alice):
    chat = actions.do_start_conversation(customer=alice, language="zh-hans")
    say(chat, alice, "我的账户登录不上去", "c1")
    chat, [bot] = say(chat, alice, "转人工", "c2")
    ticket = Ticket.objects.get()
    assert bot.extra["handoff"] == {
        "kind": "ticket",
        "case_number": ticket.case_number,
        "url": f"/portal/tickets/{ticket.case_number}/",
    }
    chat = ChatConversation.objects.get()
    assert chat.status == "bot" and chat.queued_at is None and queued_events(chat) == 0
    # The bot's case, opened to the team: its thread is the conversation (the chat panel's channel).
    assert ticket == BotConversation.objects.get().ticket and ticket.channel == "chat"
    assert "我的账户登录不上去" in ticket.messages.values_list("body", flat=True) and chat.ticket == ticket
    # Later messages are answered with the case; still no queue, still one ticket.
    _chat, [again] = say(chat, alice, "有人吗", "c3")
    assert again.extra["handoff"]["case_number"] == ticket.case_number
    assert Ticket.objects.count() == 1 and queued_events(chat) == 0


def test_urgent_topics_in_the_panel_file_the_case_and_queue_the_chat_with_it(alice):
    busy = make_user("sec1@example.com", "agent", ("security",))
    set_online(busy, capacity=1)
    queued_chat(make_user("bob@example.com"), intent="scam_report")  # takes the only slot: Alice waits
    assert ChatConversation.objects.get().assignee == busy
    chat = actions.do_start_conversation(customer=alice, language="zh-hans")
    chat, [bot] = say(chat, alice, "我的账户被盗了，币被人转走了", "c1")

    ticket = Ticket.objects.filter(VISIBLE_Q).get()  # Bob's chat is a case still with the bot
    chat = ChatConversation.objects.get(customer=alice)
    assert ticket.team.slug == "security" and ticket.priority == Priority.URGENT
    assert (chat.status, chat.team.slug, chat.priority, chat.ticket) == ("queued", "security", 4, ticket)
    assert queued_events(chat) == 1 and ticket.case_number in bot.body
    assert (
        bot.extra["handoff"]["kind"] == "chat" and bot.extra["handoff"]["case_number"] == ticket.case_number
    )
    # When the chat ends its transcript goes on that case: still one ticket for Alice.
    actions.do_close(conversation=chat, actor=busy, reason="resolved")
    assert Ticket.objects.filter(customer=alice).count() == 1
    assert ticket.messages.filter(body__contains="我的账户被盗了").exists()


def test_a_visitor_who_signs_in_is_queued_in_the_same_chat(alice):
    set_online(make_user("g1@example.com", "agent", ("general",)))
    chat = actions.do_start_conversation(customer=None, language="zh-hans")
    chat, [bot] = say(chat, None, "转人工", "v1")
    assert bot.extra.get("needs_sign_in") and chat.status == "bot"
    chat = actions.do_adopt_conversation(conversation=chat, customer=alice)
    assert BotConversation.objects.get().ticket.customer == alice  # the bot's case is hers too
    chat, [bot] = say(chat, alice, "我登录了", "v2")
    assert ChatConversation.objects.count() == 1 and Ticket.objects.filter(VISIBLE_Q).count() == 0
    chat = ChatConversation.objects.get()
    assert chat.status == "active" and chat.customer == alice and queued_events(chat) == 1
    assert [m.body for m in chat.ticket.messages.filter(sender="customer").order_by("seq")] == ["转人工", "我登录了"]
