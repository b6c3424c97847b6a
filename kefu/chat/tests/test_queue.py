"""The queue and its routing, agent tools, closing, CSAT and the sweep — the actions, without sockets."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from mnemonic import Mnemonic

from kefu.chat import actions
from kefu.chat.models import (
    AgentPresence,
    CallbackRequest,
    ChatConversation,
    Message,
    MessageKind,
)
from kefu.chat.tests.conftest import queued_chat, set_online
from kefu.conftest import make_user
from kefu.csat import actions as csat_actions
from kefu.csat.models import CsatSurvey
from kefu.tickets.models import Message as TicketMessage
from kefu.tickets.models import Status, Ticket

# The dispatcher runs after commit, so these tests commit for real.
pytestmark = pytest.mark.django_db(transaction=True)


def fresh(chat: ChatConversation) -> ChatConversation:
    return ChatConversation.objects.select_related("team", "assignee", "ticket").get(pk=chat.pk)


def load(user) -> int:
    return AgentPresence.objects.get(user=user).active_chats


def assert_counters_match() -> None:
    """Every agent's chat counter equals the chats actually assigned to them."""
    for presence in AgentPresence.objects.all():
        actual = ChatConversation.objects.filter(assignee_id=presence.user_id, status="active").count()
        assert presence.active_chats == actual, presence


def test_hand_off_is_queued_for_the_intents_team(alice, bob):
    deposit = queued_chat(alice, intent="deposit_not_credited")
    human = queued_chat(bob, intent="contact_human")
    stolen = queued_chat(make_user("carol@example.com"), intent="account_compromised")
    assert (deposit.status, deposit.team.slug, deposit.category.slug) == (
        "queued",
        "assets",
        "deposit-not-credited",
    )
    assert human.team.slug == "general"
    assert stolen.team.slug == "security" and stolen.security and stolen.priority == 4


def test_least_loaded_agent_gets_the_chat_and_ties_go_to_the_longest_idle(alice):
    first = make_user("a1@example.com", "agent", ("assets",))
    second = make_user("a2@example.com", "agent", ("assets",))
    set_online(first, capacity=4)
    set_online(second, capacity=2)
    chats = [queued_chat(make_user(f"c{i}@example.com")) for i in range(4)]
    assignees = [fresh(c).assignee for c in chats]
    # Nobody had a chat: the first goes to the one who never had one (lowest id); then the
    # other (load 0 < 1/4); then the first (1/4 < 1/2); then both are at 1/2 and the tie goes
    # to the agent whose last chat is older: the second.
    assert assignees == [first, second, first, second]
    assert load(first) == 2 and load(second) == 2
    assert_counters_match()


def test_capacity_is_respected_and_the_backlog_is_picked_up_when_an_agent_frees_up(alice, bob):
    agent = make_user("a1@example.com", "agent", ("assets",))
    set_online(agent, capacity=1)
    one = queued_chat(alice)
    two = queued_chat(bob)
    assert fresh(one).status == "active" and fresh(two).status == "queued"
    actions.do_close(conversation=one, actor=agent, reason="resolved")
    assert fresh(two).status == "active" and fresh(two).assignee == agent
    assert_counters_match()


def test_an_agent_going_online_takes_the_waiting_chats(alice, bob):
    chats = [queued_chat(alice), queued_chat(bob)]
    agent = make_user("a1@example.com", "agent", ("assets",))
    set_online(agent, capacity=3)
    assert all(fresh(c).assignee == agent for c in chats)


def test_away_agents_and_other_teams_get_nothing(alice):
    away = make_user("a1@example.com", "agent", ("assets",))
    set_online(away)
    actions.do_set_presence(agent=away, status="away")
    set_online(make_user("t1@example.com", "agent", ("tech",)))
    assert fresh(queued_chat(alice)).status == "queued"


def test_language_is_a_skill(alice, bob):
    chinese = make_user("zh@example.com", "agent", ("assets",))
    set_online(chinese, languages="zh-hans")
    english_chat = queued_chat(alice, language="en")
    assert fresh(english_chat).status == "queued"
    # The head of the queue waiting for an English speaker does not block the next chat.
    chinese_chat = queued_chat(bob)
    assert fresh(chinese_chat).assignee == chinese
    english = make_user("en@example.com", "agent", ("assets",))
    set_online(english, languages="en zh-hans")
    assert fresh(english_chat).assignee == english


def test_escalation_goes_to_tier_two_with_the_reason_as_a_note(alice, specialist):
    agent = make_user("a1@example.com", "agent", ("assets",))
    set_online(agent)
    chat = queued_chat(alice)
    with pytest.raises(ValidationError):
        actions.do_escalate(conversation=chat, actor=agent, reason=" ")
    actions.do_escalate(conversation=chat, actor=agent, reason="需要链上核查")
    chat = fresh(chat)
    assert chat.status == "queued" and chat.tier == 2 and load(agent) == 0
    assert chat.ticket.messages.filter(kind=MessageKind.INTERNAL, body__contains="需要链上核查").exists()
    # Back to the agent? No: tier 1 cannot take it. The specialist (assets team) does.
    actions.do_dispatch()
    assert fresh(chat).status == "queued"
    set_online(specialist)
    assert fresh(chat).assignee == specialist
    assert_counters_match()


def test_transfer_to_an_agent_or_back_to_a_teams_queue(alice, tech_agent):
    agent = make_user("a1@example.com", "agent", ("assets",))
    other = make_user("a2@example.com", "agent", ("assets",))
    set_online(agent)
    chat = queued_chat(alice)
    with pytest.raises(PermissionDenied):
        actions.do_transfer(conversation=chat, actor=other, to_agent=other)
    actions.do_transfer(conversation=chat, actor=agent, to_agent=other, note="客户已验证身份")
    chat = fresh(chat)
    assert chat.assignee == other and load(agent) == 0 and load(other) == 1
    assert chat.ticket.messages.filter(kind=MessageKind.INTERNAL, body__contains="客户已验证身份").exists()

    actions.do_transfer(conversation=chat, actor=other, to_team=tech_agent.teams.get())
    chat = fresh(chat)
    assert chat.status == "queued" and chat.team.slug == "tech" and load(other) == 0
    set_online(tech_agent)
    assert fresh(chat).assignee == tech_agent
    assert_counters_match()


def test_the_chat_is_the_case_thread_closing_copies_nothing_and_asks_for_a_rating(alice):
    agent = make_user("a1@example.com", "agent", ("assets",))
    set_online(agent)
    chat = actions.do_start_conversation(customer=alice, language="zh-hans")
    ticket = chat.ticket  # the chat is a session on its case from the start
    chat = actions.do_enqueue(
        conversation=chat, intent="deposit_not_credited", slots={}, security=False, ticket=ticket
    )
    actions.check_customer_message(conversation=chat, customer=alice, client_id="c1", text="USDT 还没到账")
    actions.check_agent_message(conversation=chat, agent=agent, client_id="a1", text="已帮您查询，正在确认")
    actions.check_agent_message(
        conversation=chat, agent=agent, client_id="a2", text="链上已确认 12 块", internal=True
    )
    actions.do_close(conversation=chat, actor=agent, reason="resolved")

    chat, ticket = fresh(chat), Ticket.objects.get(pk=ticket.pk)
    assert chat.status == "closed" and chat.ticket == ticket and ticket.status == Status.RESOLVED
    # The chat's messages are the case's, each once, in the order said; nothing was pasted.
    said = list(
        TicketMessage.objects.filter(ticket=ticket, channel="chat")
        .exclude(sender="system")
        .order_by("seq")
        .values_list("sender", "kind", "body", "client_id")
    )
    assert said == [
        ("customer", "public", "USDT 还没到账", "c1"),
        ("agent", "public", "已帮您查询，正在确认", "a1"),
        ("agent", "internal", "链上已确认 12 块", "a2"),
        ("agent", "internal", "已在在线客服中处理。", ""),  # the resolution's note
    ]
    seqs = list(TicketMessage.objects.filter(ticket=ticket).order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, ticket.last_seq + 1))
    assert not TicketMessage.objects.filter(ticket=ticket, body__contains="USDT 还没到账\n").exists()
    survey = CsatSurvey.objects.get(conversation=chat)
    assert survey.agent == agent and survey.customer == alice and len(survey.token) >= 32
    csat_actions.check_answer_survey(survey=survey, rating=5, comment="很快")
    assert CsatSurvey.objects.get(pk=survey.pk).rating == 5
    with pytest.raises(ValidationError):
        csat_actions.check_answer_survey(survey=survey, rating=9)
    assert load(agent) == 0


def test_a_chat_without_a_ticket_gets_a_new_one_on_close(alice):
    agent = make_user("a1@example.com", "agent", ("assets",))
    set_online(agent)
    chat = queued_chat(alice, text="我的充值没到账")
    actions.do_close(conversation=chat, actor=None, reason="idle")
    ticket = fresh(chat).ticket
    assert ticket is not None and ticket.customer == alice and ticket.channel == "chat"
    thread = "\n".join(ticket.messages.values_list("body", flat=True))
    assert "我的充值没到账" in thread and ticket.status == Status.PENDING_CUSTOMER


def test_convert_to_ticket_assigns_it_to_the_agent_and_tells_the_customer(alice):
    agent = make_user("a1@example.com", "agent", ("assets",))
    set_online(agent)
    chat = queued_chat(alice, text="需要提交截图")
    ticket = actions.do_convert_to_ticket(conversation=chat, actor=agent)
    assert ticket.assignee == agent and fresh(chat).close_reason == "ticket"
    assert fresh(chat).ticket.messages.filter(body__contains=ticket.case_number, sender="system").exists()


def test_the_customer_may_leave_a_ticket_or_ask_for_a_call_back_instead_of_waiting(alice, bob):
    chat = queued_chat(alice, text="等太久了")
    choice = actions.check_customer_choice(conversation=chat, customer=alice, choice="ticket")
    assert choice.case_number and fresh(chat).close_reason == "ticket"
    assert Ticket.objects.get(case_number=choice.case_number).messages.filter(body__contains="等太久了").exists()

    chat = queued_chat(bob)
    with pytest.raises(ValidationError):
        actions.check_customer_choice(conversation=chat, customer=bob, choice="callback", phone="123")
    choice = actions.check_customer_choice(
        conversation=chat, customer=bob, choice="callback", phone="138 0013 8000"
    )
    callback = CallbackRequest.objects.get(conversation=chat)
    assert callback.phone == "+8613800138000" and callback.ticket.case_number == choice.case_number
    with pytest.raises(PermissionDenied):
        actions.check_customer_choice(conversation=queued_chat(alice), customer=bob, choice="ticket")


def test_a_seed_phrase_is_hidden_before_it_is_stored_and_the_chat_goes_to_security(alice):
    phrase = Mnemonic("english").generate(128)
    chat = queued_chat(alice, intent="deposit_not_credited", text="")
    post = actions.check_customer_message(
        conversation=chat, customer=alice, client_id="s1", text=f"my words: {phrase}"
    )
    assert phrase not in post.message.body and post.secret_warning
    assert not Message.objects.filter(body__contains=phrase.split()[3] + " " + phrase.split()[4]).exists()
    chat = fresh(chat)
    assert chat.security and chat.team.slug == "security" and chat.priority >= 3
    assert chat.ticket.messages.filter(kind=MessageKind.INTERNAL, extra__event="secret").exists()


def test_agents_pasting_a_secret_are_guarded_too(alice):
    agent = make_user("a1@example.com", "agent", ("assets",))
    set_online(agent)
    chat = queued_chat(alice)
    phrase = Mnemonic("english").generate(128)
    post = actions.check_agent_message(conversation=chat, agent=agent, client_id="x", text=f"seed: {phrase}")
    assert phrase not in post.message.body


def test_a_message_sent_twice_with_the_same_id_is_stored_once(alice):
    agent = make_user("a1@example.com", "agent", ("assets",))
    set_online(agent)
    chat = queued_chat(alice, text="")
    first = actions.check_customer_message(conversation=chat, customer=alice, client_id="dup", text="你好")
    again = actions.check_customer_message(conversation=chat, customer=alice, client_id="dup", text="你好")
    assert again.duplicate and again.message.seq == first.message.seq
    assert Message.objects.filter(ticket_id=chat.ticket_id, client_id="dup").count() == 1
    seqs = list(Message.objects.filter(ticket_id=chat.ticket_id).values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))  # gap-free: the duplicate consumed no number
    reply = actions.check_agent_message(conversation=chat, agent=agent, client_id="r", text="在的")
    assert actions.check_agent_message(conversation=chat, agent=agent, client_id="r", text="在的").duplicate
    assert reply.message.seq == seqs[-1] + 1


def test_only_the_assigned_agent_writes_to_the_customer(alice):
    agent = make_user("a1@example.com", "agent", ("assets",))
    colleague = make_user("a2@example.com", "agent", ("assets",))
    set_online(agent)
    chat = queued_chat(alice)
    with pytest.raises(PermissionDenied):
        actions.check_agent_message(conversation=chat, agent=colleague, client_id="x", text="hi")
    note = actions.check_agent_message(
        conversation=chat, agent=colleague, client_id="y", text="fyi", internal=True
    )
    assert note.message.kind == MessageKind.INTERNAL
    with pytest.raises(PermissionDenied):
        actions.check_customer_message(
            conversation=chat, customer=make_user("eve@example.com"), client_id="z", text="hi"
        )


def test_idle_customers_are_reminded_then_the_chat_closes(alice, settings):
    settings.KEFU_CHAT_IDLE_REMIND_SECONDS = 60
    settings.KEFU_CHAT_IDLE_CLOSE_SECONDS = 60
    agent = make_user("a1@example.com", "agent", ("assets",))
    set_online(agent)
    chat = queued_chat(alice)
    actions.check_agent_message(conversation=chat, agent=agent, client_id="a", text="请问还在吗？")
    now = timezone.now()
    assert actions.do_sweep(now=now).reminded == 0
    report = actions.do_sweep(now=now + timedelta(seconds=61))
    assert report.reminded == 1 and fresh(chat).reminded_at is not None
    assert actions.do_sweep(now=now + timedelta(seconds=62)).closed_idle == 0
    report = actions.do_sweep(now=now + timedelta(seconds=61 + 61 + 1))
    assert report.closed_idle == 1 and fresh(chat).close_reason == "idle"


def test_a_customer_reply_cancels_the_reminder(alice, settings):
    settings.KEFU_CHAT_IDLE_REMIND_SECONDS = 60
    agent = make_user("a1@example.com", "agent", ("assets",))
    set_online(agent)
    chat = queued_chat(alice)
    actions.check_agent_message(conversation=chat, agent=agent, client_id="a", text="请问还在吗？")
    actions.check_customer_message(conversation=fresh(chat), customer=alice, client_id="c", text="在")
    assert actions.do_sweep(now=timezone.now() + timedelta(seconds=120)).reminded == 0


def test_customers_who_left_the_queue_are_dropped_from_it(alice, settings):
    settings.KEFU_CHAT_ABANDON_SECONDS = 60
    chat = queued_chat(alice)  # no connection was ever counted
    assert actions.do_sweep(now=timezone.now()).abandoned == 0
    assert actions.do_sweep(now=timezone.now() + timedelta(seconds=61)).abandoned == 1
    assert fresh(chat).close_reason == "abandoned" and fresh(chat).ticket is not None


def test_an_agent_who_vanished_goes_offline_and_their_chats_return_to_the_queue(alice, settings):
    settings.KEFU_CHAT_AGENT_STALE_SECONDS = 60
    settings.KEFU_CHAT_REQUEUE_AFTER_SECONDS = 60
    agent = make_user("a1@example.com", "agent", ("assets",))
    set_online(agent)
    chat = queued_chat(alice)
    now = timezone.now()
    assert actions.do_sweep(now=now + timedelta(seconds=61)).agents_offline == 1
    assert fresh(chat).assignee == agent  # a short absence keeps the chat
    report = actions.do_sweep(now=now + timedelta(seconds=200))
    assert report.requeued == 1 and fresh(chat).status == "queued" and load(agent) == 0


def test_the_http_bots_hand_off_becomes_a_queued_chat_with_the_transcript(alice):
    """``enqueue_from_bot``, as the bot's hand-off will call it."""
    from kefu.bot.actions import do_handle_message
    from kefu.bot.models import BotConversation

    reply = do_handle_message(conversation=None, customer=alice, text="你好", language="zh-hans")
    bot_conversation = BotConversation.objects.get(public_id=reply.conversation_id)
    chat = actions.enqueue_from_bot(
        bot_conversation=bot_conversation,
        customer=alice,
        intent="withdrawal_pending",
        slots={"coin": "USDT"},
        language="zh-hans",
        security=False,
    )
    again = actions.enqueue_from_bot(
        bot_conversation=bot_conversation, customer=alice, intent="withdrawal_pending", slots={},
        language="zh-hans", security=False,
    )  # fmt: skip
    assert again.pk == chat.pk and chat.status == "queued" and chat.team.slug == "assets"
    texts = list(fresh(chat).ticket.messages.values_list("sender", "body"))
    assert texts[0] == ("customer", "你好") and texts[1][0] == "bot" and chat.slots == {"coin": "USDT"}


def test_accepting_a_chat_someone_else_took_fails(alice):
    first = make_user("a1@example.com", "agent", ("assets",))
    second = make_user("a2@example.com", "agent", ("assets",))
    chat = queued_chat(alice)
    actions.do_accept(conversation=chat, agent=first)
    with pytest.raises(ValidationError):
        actions.do_accept(conversation=chat, agent=second)
    with pytest.raises(PermissionDenied):
        actions.do_accept(
            conversation=queued_chat(make_user("x@example.com")),
            agent=make_user("t@example.com", "agent", ("tech",)),
        )
    assert fresh(chat).assignee == first
    assert_counters_match()
