"""The upgrade that makes a live chat a session on its case: its messages become the case's thread."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django.utils import timezone

from kefu.chat.models import ChatConversation
from kefu.conftest import make_user
from kefu.tickets import thread
from kefu.tickets.models import Category, Message, Sender, Status, Ticket

BEFORE = [("chat", "0005_service_calendar_business_calendar")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    # The models as they were: chat before the upgrade, every other app as it is now.
    others = [node for node in executor.loader.graph.leaf_nodes() if node[0] != "chat"]
    return executor.loader.project_state([*targets, *others]).apps


def _latest():
    return list(MigrationLoader(connection).graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_the_upgrade_moves_each_chat_s_messages_into_its_case_s_thread(agent):
    customer = make_user("old-chat@example.com")
    category = Category.objects.get(slug="deposit-not-credited")
    start = timezone.now() - timedelta(days=2)
    try:
        old = _migrate(BEFORE)
        OldChat = old.get_model("chat", "ChatConversation")
        OldChatMessage = old.get_model("chat", "ChatMessage")
        OldBot = old.get_model("bot", "BotConversation")
        OldTicket = old.get_model("tickets", "Ticket")
        OldMessage = old.get_model("tickets", "Message")

        def said(chat, *messages):
            for n, (sender, kind, text, client_id, extra) in enumerate(messages, start=1):
                message = OldChatMessage.objects.create(
                    conversation=chat,
                    seq=n,
                    sender=sender,
                    kind=kind,
                    text=text,
                    client_id=client_id,
                    extra=extra,
                    author_id=agent.pk if sender == "agent" else None,
                )
                OldChatMessage.objects.filter(pk=message.pk).update(created_at=start + timedelta(minutes=n))
            OldChat.objects.filter(pk=chat.pk).update(last_seq=len(messages))

        # 1. A chat on its bot conversation's case: the bot's turns are in the case already (the
        #    chat copied them before the hand-off); the rest follows them, read marks with it.
        case = OldTicket.objects.create(
            case_number="KF-20261201-00000002",
            customer_id=customer.pk,
            category_id=category.pk,
            title="我的USDT没到",
            status="bot",
            channel="chat",
            last_seq=2,
        )
        OldMessage.objects.create(
            ticket=case, seq=1, sender="customer", author_id=customer.pk, body="我的USDT没到"
        )
        OldMessage.objects.create(ticket=case, seq=2, sender="bot", body="请问是哪个网络？")
        bot = OldBot.objects.create(customer_id=customer.pk, status="handed_off", ticket=case)
        served = OldChat.objects.create(
            customer_id=customer.pk,
            bot_conversation=bot,
            ticket=case,
            status="active",
            queued_at=start + timedelta(minutes=2, seconds=30),
            customer_read_seq=4,
            agent_read_seq=5,
        )
        said(
            served,
            ("customer", "message", "我的USDT没到", "", {}),
            ("bot", "message", "请问是哪个网络？", "", {"quick_replies": ["TRC20"]}),
            ("system", "message", "正在为您转接", "", {"event": "queued"}),
            ("agent", "message", "在查了", "a1", {}),
            ("customer", "message", "好的", "c1", {}),
            ("agent", "note", "链上已确认", "a2", {}),
        )
        # 2. An old closed chat that never had a case: a closed case of its own.
        alone = OldChat.objects.create(customer_id=customer.pk, status="closed", language="en")
        said(
            alone,
            ("customer", "message", "  where is my   withdrawal ", "w1", {}),
            ("bot", "message", "Which coin?", "", {}),
        )
        # 3. A visitor's chat with the bot, no case yet: a case in the bot's stage.
        talking = OldChat.objects.create(customer_id=None, status="bot")
        said(talking, ("customer", "message", "你好", "", {}))

        _migrate(_latest())

        rows = list(
            Message.objects.filter(ticket_id=case.pk)
            .order_by("seq")
            .values_list("seq", "sender", "kind", "body", "client_id", "channel")
        )
        assert rows == [
            (1, Sender.CUSTOMER, "public", "我的USDT没到", "", "portal"),
            (2, Sender.BOT, "public", "请问是哪个网络？", "", "portal"),
            (3, Sender.SYSTEM, "public", "正在为您转接", "", "chat"),
            (4, Sender.AGENT, "public", "在查了", "a1", "chat"),
            (5, Sender.CUSTOMER, "public", "好的", "c1", "chat"),
            (6, Sender.AGENT, "internal", "链上已确认", "a2", "chat"),
        ]
        assert Message.objects.get(ticket_id=case.pk, seq=3).extra == {"event": "queued"}
        assert Message.objects.get(ticket_id=case.pk, seq=4).created_at == start + timedelta(minutes=4)
        chat = ChatConversation.objects.get(pk=served.pk)
        assert (chat.customer_read_seq, chat.agent_read_seq) == (4, 5)  # old 4 and 5: the same messages
        upgraded = Ticket.objects.get(pk=case.pk)
        assert upgraded.last_seq == 6 and thread.append(upgraded, body="升级之后").seq == 7

        new = ChatConversation.objects.get(pk=alone.pk).ticket
        assert (new.status, new.customer_id, new.channel, new.language) == (
            Status.CLOSED,
            customer.pk,
            "chat",
            "en",
        )
        assert new.title == "where is my withdrawal" and new.last_seq == 2
        assert list(new.messages.order_by("seq").values_list("seq", "sender", "client_id")) == [
            (1, Sender.CUSTOMER, "w1"),
            (2, Sender.BOT, ""),
        ]
        visitor = ChatConversation.objects.get(pk=talking.pk).ticket
        assert (visitor.status, visitor.customer_id, visitor.last_seq) == (Status.BOT, None, 1)
        assert not hasattr(ChatConversation(), "last_seq")
    finally:
        _migrate(_latest())
