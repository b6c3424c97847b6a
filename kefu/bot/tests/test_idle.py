"""Conversations the customer left with the bot are closed after KEFU_BOT_IDLE_CLOSE_HOURS, with
why (answered or not, for the reports); a customer who writes again continues the same thread
with a fresh dialogue."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from kefu.bot import idle
from kefu.bot.models import BotConversation, CloseReason, ConversationStatus
from kefu.bot.tests.support import Chat
from kefu.conftest import bearer, make_user
from kefu.helpcenter.actions import sync_articles_from_content
from kefu.inbox.tests.test_pipeline import _hook, hook_inbox  # noqa: F401
from kefu.tickets import selectors
from kefu.tickets.models import Message, Sender, Status, Ticket

pytestmark = pytest.mark.django_db

ANSWERED = "怎么修改登录密码"  # answered from the help centre's article
ASKING = "我充值的USDT还没到账"  # the bot asks which network
MISSED = "asdkjh qwe zzz"  # out of scope: a miss


@pytest.fixture(autouse=True)
def articles():
    sync_articles_from_content()


def talk(customer, *texts: str) -> BotConversation:
    chat = Chat(customer)
    for text in texts:
        chat.say(text)
    assert chat.conversation is not None
    return chat.conversation


def age(*conversations: BotConversation, hours: float = 25) -> None:
    BotConversation.objects.filter(pk__in=[c.pk for c in conversations]).update(
        updated_at=timezone.now() - timedelta(hours=hours)
    )


def test_conversations_left_with_the_bot_close_after_the_idle_hours_saying_why(alice, bob, supervisor):
    answered = talk(alice, ANSWERED)
    asking = talk(bob, ASKING)
    missed = talk(None, MISSED)  # a signed-out visitor
    greeted = talk(make_user("carol@example.com"), "你好")
    recent = talk(make_user("dave@example.com"), ANSWERED)
    handed = talk(make_user("erin@example.com"), "转人工")  # with people now: not the bot's to close
    assert BotConversation.objects.get(pk=handed.pk).status == ConversationStatus.HANDED_OFF
    age(answered, asking, missed, greeted, handed)
    age(recent, hours=23)

    assert idle.do_close_idle() == 4
    rows = {c.pk: c for c in BotConversation.objects.all()}
    assert rows[answered.pk].close_reason == CloseReason.ANSWERED
    for left in (asking, missed, greeted):
        assert rows[left.pk].close_reason == CloseReason.UNANSWERED
    for closed in (answered, asking, missed, greeted):
        row = rows[closed.pk]
        assert row.status == ConversationStatus.CLOSED and row.closed_at is not None and row.state == {}
        # The case stays the bot's: in no queue, list or count, not the customer's ticket either.
        assert Ticket.objects.get(pk=row.ticket_id).status == Status.BOT
    assert rows[recent.pk].status == ConversationStatus.BOT and rows[recent.pk].close_reason == ""
    assert rows[handed.pk].status == ConversationStatus.HANDED_OFF
    assert not selectors.tickets_visible_to(alice).filter(pk=answered.ticket_id).exists()
    assert not selectors.tickets_visible_to(supervisor).filter(pk=answered.ticket_id).exists()
    assert idle.do_close_idle() == 0  # a second sweep finds nothing new


def test_the_sweep_is_off_at_zero_hours(alice, settings):
    age(talk(alice, ANSWERED), hours=1000)
    settings.KEFU_BOT_IDLE_CLOSE_HOURS = 0
    assert idle.do_close_idle() == 0
    settings.KEFU_BOT_IDLE_CLOSE_HOURS = 2000
    assert idle.do_close_idle() == 0
    settings.KEFU_BOT_IDLE_CLOSE_HOURS = 24
    assert idle.do_close_idle() == 1


def test_a_customer_who_writes_again_continues_the_thread_and_the_bot_starts_over(alice):
    """Over the widget's HTTP API, as the customer's browser sends it: the same conversation id."""
    client = bearer(alice)
    first = client.post("/api/v1/bot/messages", {"text": ASKING}, content_type="application/json").json()
    conversation = BotConversation.objects.get(public_id=first["conversation_id"])
    assert conversation.state["asking"] == "network" and conversation.state["slots"]["coin"] == "USDT"
    age(conversation)
    assert idle.do_close_idle() == 1
    seq_before = Ticket.objects.get(pk=conversation.ticket_id).last_seq

    again = client.post(
        "/api/v1/bot/messages",
        {"text": "你好", "conversation_id": first["conversation_id"]},
        content_type="application/json",
    )
    assert again.status_code == 200, again.content
    assert again.json()["conversation_id"] == first["conversation_id"]
    conversation.refresh_from_db()
    assert conversation.status == ConversationStatus.BOT
    assert (conversation.closed_at, conversation.close_reason) == (None, "")
    # A fresh dialogue: yesterday's question and slots are gone; the thread goes on.
    assert "asking" not in conversation.state and "coin" not in conversation.state.get("slots", {})
    case = Ticket.objects.get(pk=conversation.ticket_id)
    assert case.status == Status.BOT and case.last_seq == seq_before + 2
    said = Message.objects.filter(ticket=case, seq__gt=seq_before).order_by("seq")
    assert [m.sender for m in said] == [Sender.CUSTOMER, Sender.BOT]
    assert "asking" not in said[1].extra
    # Idle again later: closed again, with the new reason.
    age(conversation)
    assert idle.do_close_idle() == 1
    assert BotConversation.objects.get(pk=conversation.pk).close_reason == CloseReason.UNANSWERED


def test_a_backlog_is_closed_in_bounded_batches_over_several_sweeps(alice, monkeypatch):
    conversations = [talk(alice, MISSED) for _ in range(5)]
    age(*conversations)
    monkeypatch.setattr(idle, "MAX_BATCHES", 2)
    assert idle.do_close_idle(batch=2) == 4  # two batches of two, then this sweep stops
    assert idle.do_close_idle(batch=2) == 1
    assert not BotConversation.objects.filter(status=ConversationStatus.BOT).exists()


@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="PostgreSQL's planner")
def test_the_sweep_reads_the_partial_index_of_conversations_still_with_the_bot(alice):
    age(talk(alice, MISSED))
    cutoff = timezone.now() - timedelta(hours=24)
    query = (
        BotConversation.objects.filter(status=ConversationStatus.BOT, updated_at__lt=cutoff)
        .order_by("updated_at")
        .values_list("pk")[:500]
    )
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        sql, params = query.query.sql_with_params()
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "botconv_with_bot" in plan, plan


def test_on_a_messaging_inbox_the_contact_continues_the_closed_conversation(hook_inbox):  # noqa: F811
    """Telegram-like: the pipeline threads the contact's next message onto its bot-stage case,
    and the bot reopens the conversation there (the chat shows one thread, as it does)."""
    from kefu.inbox.models import Inbox
    from kefu.inbox.tests.test_messaging import _say

    inbox, _adapter = hook_inbox
    Inbox.objects.filter(pk=inbox.pk).update(bot_enabled=True)
    inbox.refresh_from_db()
    first = _say(inbox, "t1", "My USDT deposit has not arrived")
    conversation = BotConversation.objects.get(ticket=first.ticket)
    age(conversation)
    assert idle.do_close_idle() == 1
    assert BotConversation.objects.get(pk=conversation.pk).close_reason == CloseReason.UNANSWERED

    again = _say(inbox, "t2", "hello")
    assert again.ticket_id == first.ticket_id
    conversation.refresh_from_db()
    assert conversation.status == ConversationStatus.BOT and conversation.close_reason == ""
    assert BotConversation.objects.filter(ticket=first.ticket).count() == 1
    assert again.ticket.messages.filter(sender=Sender.BOT).count() == 2


def test_the_sweep_is_a_periodic_job_every_ten_minutes_unless_off(alice, settings):
    from kefu.bot.tasks import SWEEP_SECONDS, _sweep_seconds, close_idle
    from kefu.jobs.engine import huey, task_name

    periodic = {huey._registry.task_to_string(cls) for cls in huey._registry._periodic_tasks}
    assert task_name(close_idle) in periodic
    assert _sweep_seconds() == SWEEP_SECONDS == 600
    age(talk(alice, MISSED))
    close_idle.call_local()
    assert BotConversation.objects.get().status == ConversationStatus.CLOSED
    settings.KEFU_BOT_IDLE_CLOSE_HOURS = 0
    assert _sweep_seconds() == 0  # never enqueued
