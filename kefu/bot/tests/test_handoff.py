"""One hand-off per conversation: live chat when it can take it, else a ticket; urgent topics both.

The bot over its HTTP API (no chat panel): a chat hand-off opens a new chat carrying the
transcript. The chat panel's path is tested in ``kefu/chat/tests/test_handoff.py``.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from kefu.bot.handoff import ticket_fields
from kefu.bot.models import ConversationStatus
from kefu.bot.tests.support import Chat as Conversation
from kefu.bot.tests.support import thread_text
from kefu.chat.actions import do_accept, do_close, do_set_presence
from kefu.chat.models import ChatConversation
from kefu.chat.selectors import clear_caches
from kefu.chat.tests.conftest import service_hours
from kefu.conftest import make_user
from kefu.tickets.models import VISIBLE_Q, Priority, Ticket

pytestmark = pytest.mark.django_db

TX = "0x" + "ab12" * 16


def online(email: str, team: str, capacity: int = 3):
    agent = make_user(email, "agent", (team,))
    do_set_presence(agent=agent, status="online", capacity=capacity)
    clear_caches()
    return agent


def test_with_an_agent_online_the_hand_off_queues_one_chat_with_transcript_and_slots(alice):
    """Deposit flow, then "not solved": one queued chat for the assets team, no ticket."""
    online("assets1@example.com", "assets")
    talk = Conversation(alice)
    talk.say("我充值的USDT还没到账")
    talk.say("TRC20")
    talk.say("200")
    talk.say("两个小时前")
    reply = talk.say(TX)  # no TRC-20 node in tests: an agent must check it, so it is handed over

    chat = ChatConversation.objects.get()
    assert Ticket.objects.filter(VISIBLE_Q).count() == 0
    assert (chat.status, chat.team.slug, chat.customer, chat.intent) == (
        "queued",  # the dispatcher runs after commit
        "assets",
        alice,
        "deposit_not_credited",
    )
    # A session on the conversation's case, which stays in the bot's stage while the chat serves it.
    assert chat.bot_conversation == talk.conversation and chat.ticket == talk.conversation.ticket
    assert {"coin": "USDT", "network": "TRC-20", "amount": "200", "tx_hash": TX}.items() <= chat.slots.items()
    # The case's thread is the chat's: the bot's turns are there once, no copy.
    texts = list(chat.ticket.messages.order_by("seq").values_list("sender", "body"))
    assert texts[0] == ("customer", "我充值的USDT还没到账")
    assert texts[1][0] == "bot" and texts.count(("customer", TX)) == 1
    assert chat.ticket.messages.filter(sender="system", extra__event="queued").count() == 1

    assert reply.handoff == {
        "kind": "chat",
        "chat_id": chat.public_id.hex,
        "url": f"/portal/?kefu_chat={chat.public_id.hex}",
        "position": 1,
        "eta_seconds": 140,  # 420 s default handling time over the agent's 3 slots
    }
    # The conversation's case stays in the bot's stage (in no ticket queue) while the chat serves it.
    assert talk.conversation.status == ConversationStatus.HANDED_OFF and talk.conversation.ticket.status == "bot"

    # When the chat ends, that same case opens to the team with the collected details.
    do_close(conversation=chat, actor=alice, reason="customer")
    ticket = Ticket.objects.get()
    assert ticket == talk.conversation.ticket and ticket.status == "new"
    assert thread_text(ticket).startswith("我充值的USDT还没到账")
    assert (ticket.coin, ticket.network, ticket.amount, ticket.tx_hash) == ("USDT", "TRC-20", 200, TX)


def test_slots_that_do_not_fit_a_ticket_field_are_left_to_the_transcript():
    fields = ticket_fields({"coin": "X" * 21, "network": "BEP-20", "amount": "1e40", "tx_hash": TX})
    assert fields == {"coin": "", "network": "BEP-20", "amount": None, "tx_hash": TX}
    assert ticket_fields({"amount": "1,250.5"})["amount"] == Decimal("1250.5")
    assert ticket_fields({"amount": "NaN"})["amount"] is None
    assert ticket_fields({"amount": "about 100"})["amount"] is None


def test_after_a_chat_hand_off_further_messages_point_to_the_chat_and_never_queue_again(alice):
    online("g1@example.com", "general")
    talk = Conversation(alice, "en")
    first = talk.say("talk to a human")
    again = talk.say("hello? anyone?")
    chat = ChatConversation.objects.get()
    assert first.handoff["chat_id"] == again.handoff["chat_id"] == chat.public_id.hex
    assert again.handoff["kind"] == "chat" and "live chat" in again.text
    assert chat.ticket.messages.filter(extra__event="queued").count() == 1
    assert Ticket.objects.filter(VISIBLE_Q).count() == 0


def test_with_nobody_online_the_hand_off_files_one_ticket_and_queues_nothing(alice):
    talk = Conversation(alice)
    talk.say("我的账户登录不上去")
    reply = talk.say("转人工")
    ticket = Ticket.objects.get()
    assert reply.handoff == {
        "kind": "ticket",
        "case_number": ticket.case_number,
        "url": f"/portal/tickets/{ticket.case_number}/",
    }
    assert ticket.case_number in reply.text and "我的账户登录不上去" in thread_text(ticket)
    assert ChatConversation.objects.count() == 0
    assert talk.conversation.ticket == ticket


def test_outside_chat_hours_the_hand_off_files_a_ticket_even_with_agents_online(alice):
    online("g1@example.com", "general")
    service_hours("chat")  # no hours: closed
    reply = Conversation(alice).say("转人工")
    assert reply.handoff["kind"] == "ticket" and Ticket.objects.count() == 1
    assert ChatConversation.objects.count() == 0


def test_an_agent_of_another_team_online_does_not_make_live_chat_available(alice):
    online("tech1@example.com", "tech")
    reply = Conversation(alice).say("转人工")  # for the general team
    assert reply.handoff["kind"] == "ticket" and ChatConversation.objects.count() == 0


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("我的账户被盗了，币被人转走了", "account_compromised"),
        ("有个假客服让我交解冻费，我被骗了", "scam_report"),
    ],
)
def test_urgent_topics_file_a_case_at_once_and_queue_a_chat_with_it(alice, text, intent):
    online("sec1@example.com", "security")
    reply = Conversation(alice).say(text)
    ticket = Ticket.objects.get()
    chat = ChatConversation.objects.get()
    assert reply.intent == intent and ticket.case_number in reply.text
    assert ticket.team.slug == "security" and ticket.priority == Priority.URGENT
    assert (chat.status, chat.team.slug, chat.priority, chat.security, chat.ticket) == (
        "queued",
        "security",
        4,
        True,
        ticket,
    )
    assert reply.handoff["kind"] == "chat" and reply.handoff["chat_id"] == chat.public_id.hex
    assert reply.handoff["case_number"] == ticket.case_number
    assert reply.handoff["ticket_url"] == f"/portal/tickets/{ticket.case_number}/"


def test_urgent_topics_with_live_chat_closed_get_the_ticket_only(alice):
    reply = Conversation(alice).say("我的账户被盗了，币被人转走了")
    assert reply.handoff["kind"] == "ticket" and Ticket.objects.get().team.slug == "security"
    assert ChatConversation.objects.count() == 0


def test_once_the_chat_has_ended_the_bot_takes_over_and_a_new_request_opens_a_new_chat(alice):
    agent = online("g1@example.com", "general")
    talk = Conversation(alice)
    first = talk.say("转人工")
    old = ChatConversation.objects.get()
    do_accept(conversation=old, agent=agent)
    do_close(conversation=old, actor=agent, reason="resolved")  # the case opens, resolved
    case = Ticket.objects.get()
    assert case.status == "resolved" and case == talk.conversation.ticket
    reply = talk.say("你好")
    assert reply.handoff is None and reply.intent == "greeting"
    assert talk.conversation.status == ConversationStatus.BOT
    second = talk.say("转人工")
    new = ChatConversation.objects.exclude(pk=old.pk).get()
    assert second.handoff["chat_id"] == new.public_id.hex != first.handoff["chat_id"]
    assert new.status == "queued" and new.bot_conversation == talk.conversation
    # Still one case: when this chat ends too, its transcript goes on that case, reopened.
    do_close(conversation=new, actor=alice, reason="customer")
    assert Ticket.objects.get() == case and Ticket.objects.get().status == "open"
