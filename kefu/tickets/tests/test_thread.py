"""A case's thread: numbered messages with their sender, and the upgrade that numbers old ones."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader

from kefu.conftest import make_user
from kefu.tickets import thread
from kefu.tickets.actions import check_add_message, check_create_ticket, do_merge
from kefu.tickets.models import Category, Channel, Message, MessageKind, Sender, Ticket


def _create(customer, title="充值未到账"):
    return check_create_ticket(
        customer=customer,
        category=Category.objects.get(slug="deposit-not-credited"),
        title=title,
        description="USDT 充值两小时没到账",
        channel=Channel.PORTAL,
        language="zh-hans",
    ).ticket


@pytest.mark.django_db
def test_every_message_of_a_case_gets_the_next_number_and_says_who_wrote_it(agent):
    customer = make_user("thread@example.com")
    ticket = _create(customer)
    check_add_message(ticket=ticket, author=agent, body="请提供交易哈希", channel=Channel.PORTAL)
    check_add_message(ticket=ticket, author=agent, body="内部：查链上", kind=MessageKind.INTERNAL)
    check_add_message(ticket=ticket, author=customer, body="好的", channel=Channel.EMAIL)

    rows = list(Message.objects.filter(ticket=ticket).order_by("seq").values_list("seq", "sender", "kind"))
    assert rows == [
        (1, Sender.CUSTOMER, MessageKind.PUBLIC),
        (2, Sender.AGENT, MessageKind.PUBLIC),
        (3, Sender.AGENT, MessageKind.INTERNAL),
        (4, Sender.CUSTOMER, MessageKind.PUBLIC),
    ]
    ticket.refresh_from_db()
    assert ticket.last_seq == 4


@pytest.mark.django_db
def test_a_number_or_a_client_id_is_never_used_twice_in_one_case():
    customer = make_user("unique@example.com")
    ticket = _create(customer)
    with pytest.raises(IntegrityError), transaction.atomic():
        Message.objects.create(ticket=ticket, seq=1, body="same number")
    with transaction.atomic():
        thread.append(ticket, body="first", client_id="c-1")
    with pytest.raises(IntegrityError), transaction.atomic():
        thread.append(ticket, body="resent", client_id="c-1")
    # Numbers taken by a rolled-back writer are returned with it: still no gap.
    message = thread.append(ticket, body="next")
    assert message.seq == 3


@pytest.mark.django_db
def test_a_merge_moves_the_thread_after_the_target_s_messages_in_order(agent):
    customer = make_user("merge-thread@example.com")
    source, target = _create(customer, "重复"), _create(customer, "原来的")
    check_add_message(ticket=source, author=customer, body="补充一句")
    do_merge(source=source, target=target, actor=agent)
    rows = list(Message.objects.filter(ticket=target).order_by("seq").values_list("seq", "body"))
    assert [seq for seq, _ in rows] == [1, 2, 3, 4]
    assert rows[1][1] == "USDT 充值两小时没到账" and rows[2][1] == "补充一句"  # source's, in order
    assert Ticket.objects.get(pk=target.pk).last_seq == 4


BEFORE = [("tickets", "0007_backfill_search")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def _latest():
    return list(MigrationLoader(connection).graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_the_upgrade_numbers_old_threads_in_order_and_names_their_senders(agent):
    customer = make_user("old-thread@example.com")
    category = Category.objects.get(slug="deposit-not-credited")
    try:
        old = _migrate(BEFORE)
        OldTicket = old.get_model("tickets", "Ticket")
        OldMessage = old.get_model("tickets", "Message")
        tickets = [
            OldTicket.objects.create(
                case_number=f"KF-20261207-0000000{n}",
                customer_id=customer.pk,
                category_id=category.pk,
                title="旧工单",
                description="旧问题",
            )
            for n in (1, 2)
        ]
        first, second = tickets
        OldMessage.objects.create(ticket=first, author_id=customer.pk, kind="public", body="客户")
        OldMessage.objects.create(ticket=second, author_id=customer.pk, kind="public", body="另一单")
        OldMessage.objects.create(ticket=first, author_id=agent.pk, kind="public", body="客服")
        OldMessage.objects.create(ticket=first, author_id=agent.pk, kind="internal", body="备注")
        OldMessage.objects.create(ticket=first, author_id=None, kind="system", body="系统")
        OldMessage.objects.create(ticket=first, author_id=None, kind="public", body="邮件来信")
        _migrate(_latest())

        rows = list(
            Message.objects.filter(ticket_id=first.pk).order_by("seq").values_list("seq", "sender", "body")
        )
        assert rows == [
            (1, Sender.CUSTOMER, "客户"),
            (2, Sender.AGENT, "客服"),
            (3, Sender.AGENT, "备注"),
            (4, Sender.SYSTEM, "系统"),
            (5, Sender.CUSTOMER, "邮件来信"),
        ]
        assert list(Message.objects.filter(ticket_id=second.pk).values_list("seq", flat=True)) == [1]
        upgraded = Ticket.objects.get(pk=first.pk)
        assert upgraded.last_seq == 5
        assert thread.append(upgraded, body="升级之后").seq == 6
    finally:
        _migrate(_latest())
