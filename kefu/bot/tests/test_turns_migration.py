"""The upgrade that makes each stored bot conversation a case: its turns become that case's thread."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django.utils import timezone

from kefu.bot.models import BotConversation
from kefu.conftest import make_user
from kefu.tickets import thread
from kefu.tickets.models import Category, Message, Sender, Status, Ticket

BEFORE = [("bot", "0001_initial")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    # The models as they were: bot before the upgrade, every other app as it is now — but chat
    # before its own upgrade (chat 0006, which needs bot's, went back with it).
    others = [node for node in executor.loader.graph.leaf_nodes() if node[0] not in ("bot", "chat")]
    others.append(("chat", "0005_service_calendar_business_calendar"))
    return executor.loader.project_state([*targets, *others]).apps


def _latest():
    return list(MigrationLoader(connection).graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_the_upgrade_turns_each_conversation_s_turns_into_its_case_s_thread(agent):
    customer = make_user("old-bot@example.com")
    category = Category.objects.get(slug="deposit-not-credited")
    start = timezone.now() - timedelta(days=3)
    try:
        old = _migrate(BEFORE)
        OldConversation = old.get_model("bot", "BotConversation")
        OldTurn = old.get_model("bot", "BotTurn")
        OldTicket = old.get_model("tickets", "Ticket")
        OldMessage = old.get_model("tickets", "Message")

        def turns(conversation, *said):
            for n, (sender, text) in enumerate(said):
                turn = OldTurn.objects.create(
                    conversation=conversation, sender=sender, text=text, intent="deposit_not_credited"
                )
                OldTurn.objects.filter(pk=turn.pk).update(created_at=start + timedelta(minutes=n))

        # 1. Handed off to a ticket that has a reply since: the turns go before its messages.
        filed = OldTicket.objects.create(
            case_number="KF-20261201-00000001",
            customer_id=customer.pk,
            category_id=category.pk,
            title="充值未到账: 我的USDT没到",
            description="The customer asked for a human.",
            status="open",
            channel="bot",
            last_seq=2,
        )
        OldMessage.objects.create(ticket=filed, seq=1, sender="customer", author_id=customer.pk, body="(转交)")
        OldMessage.objects.create(ticket=filed, seq=2, sender="agent", author_id=agent.pk, body="在查了")
        handed = OldConversation.objects.create(
            customer_id=customer.pk, status="handed_off", ticket=filed, language="zh-hans"
        )
        turns(handed, ("customer", "我的USDT没到"), ("bot", "请问是哪个网络？"), ("customer", "转人工"))
        # 2. Still with the bot, a signed-out visitor's: a new case in the bot's stage.
        talking = OldConversation.objects.create(customer_id=None, status="bot", language="en")
        turns(talking, ("customer", "  where is my   withdrawal "), ("bot", "Which coin?"))
        # 3. Handed to a live chat long ago (the chat filed its own ticket): a closed case.
        chatted = OldConversation.objects.create(customer_id=customer.pk, status="handed_off")
        turns(chatted, ("customer", "人工"))
        # 4. Never said anything: left alone.
        OldConversation.objects.create(customer_id=customer.pk)

        _migrate(_latest())

        rows = list(
            Message.objects.filter(ticket_id=filed.pk).order_by("seq").values_list("seq", "sender", "body")
        )
        assert rows == [
            (1, Sender.CUSTOMER, "我的USDT没到"),
            (2, Sender.BOT, "请问是哪个网络？"),
            (3, Sender.CUSTOMER, "转人工"),
            (4, Sender.CUSTOMER, "(转交)"),
            (5, Sender.AGENT, "在查了"),
        ]
        first = Message.objects.get(ticket_id=filed.pk, seq=1)
        assert first.author_id == customer.pk and first.channel == "bot"
        assert first.extra == {"intent": "deposit_not_credited"} and first.created_at == start
        upgraded = Ticket.objects.get(pk=filed.pk)
        assert (upgraded.last_seq, upgraded.status) == (5, "open")
        assert thread.append(upgraded, body="升级之后").seq == 6

        case = BotConversation.objects.get(pk=talking.pk).ticket
        assert (case.status, case.customer, case.channel, case.language) == (Status.BOT, None, "bot", "en")
        assert case.title == "where is my withdrawal" and case.last_seq == 2
        assert list(case.messages.order_by("seq").values_list("sender", "author", "body")) == [
            (Sender.CUSTOMER, None, "  where is my   withdrawal "),
            (Sender.BOT, None, "Which coin?"),
        ]
        assert BotConversation.objects.get(pk=chatted.pk).ticket.status == Status.CLOSED
        assert Ticket.objects.count() == 3  # one case each for the two without a ticket
    finally:
        _migrate(_latest())
