"""Group commit of chat messages: batches store what single writes store, resends included."""

from __future__ import annotations

import asyncio

import pytest

from kefu.chat import actions, selectors, writer
from kefu.chat.models import ChatConversation, ChatStatus, Message
from kefu.chat.tests.conftest import queued_chat, run_async, set_online
from kefu.conftest import make_user

pytestmark = pytest.mark.django_db(transaction=True)


def active_chat(customer, agent) -> ChatConversation:
    set_online(agent, capacity=5)
    chat = queued_chat(customer, intent="deposit_not_credited")
    chat = ChatConversation.objects.get(pk=chat.pk)
    assert chat.status == ChatStatus.ACTIVE and chat.assignee_id == agent.pk
    return chat


def customer_post(chat, customer, client_id: str, text: str):
    plan = actions.plan_customer_message(conversation=chat, customer=customer, client_id=client_id, text=text)
    assert plan is not None
    return plan


def test_a_batch_stores_every_post_with_consecutive_numbers(alice, bob):
    agent = make_user("assets-agent@example.com", "agent", ("assets",))
    first, second = active_chat(alice, agent), active_chat(bob, agent)
    start_first, start_second = selectors.last_seq(first), selectors.last_seq(second)
    reply = actions.plan_agent_message(conversation=first, agent=agent, client_id="r1", text="我来查一下")
    results = actions.do_post_fast(
        [
            customer_post(first, alice, "a1", "还没到账"),
            customer_post(second, bob, "b1", "提现卡住了"),
            reply,
            customer_post(first, alice, "a2", "TxID 在这里"),
        ]
    )
    assert [r[1] for r in results] == [False] * 4
    assert [r[0].seq for r in results] == [
        start_first + 1,
        start_second + 1,
        start_first + 2,
        start_first + 3,
    ]
    stored = list(Message.objects.filter(ticket_id=first.ticket_id, seq__gt=start_first).order_by("seq"))
    assert [(m.client_id, m.sender) for m in stored] == [
        ("a1", "customer"),
        ("r1", "agent"),
        ("a2", "customer"),
    ]
    first.refresh_from_db()
    assert selectors.last_seq(first) == start_first + 3 and first.first_response_at is not None
    # Each message handed back is its stored row (the keys come back from the one INSERT).
    for message, _duplicate in results:
        row = Message.objects.get(pk=message.pk)
        assert (row.ticket_id, row.seq, row.client_id) == (message.ticket_id, message.seq, message.client_id)


def test_a_resend_in_a_batch_returns_the_stored_message_and_loses_nothing(alice):
    agent = make_user("assets-agent@example.com", "agent", ("assets",))
    chat = active_chat(alice, agent)
    ((original, _),) = actions.do_post_fast([customer_post(chat, alice, "c1", "第一条")])
    results = actions.do_post_fast(
        [
            customer_post(chat, alice, "c2", "第二条"),
            customer_post(chat, alice, "c1", "第一条"),
            customer_post(chat, alice, "c3", "第三条"),
        ]
    )
    assert (results[1][0].pk, results[1][1]) == (original.pk, True)
    assert [r[0].seq for r in (results[0], results[2])] == [original.seq + 1, original.seq + 2]
    chat.refresh_from_db()
    assert selectors.last_seq(chat) == original.seq + 2  # the resend took no number
    assert Message.objects.filter(ticket_id=chat.ticket_id, client_id="c1").count() == 1


def test_a_post_the_conversation_no_longer_accepts_is_left_to_the_general_path(alice, bob):
    agent = make_user("assets-agent@example.com", "agent", ("assets",))
    open_chat, closed_chat = active_chat(alice, agent), active_chat(bob, agent)
    stale_plan = customer_post(closed_chat, bob, "x1", "还在吗")  # planned on a copy that says active
    ChatConversation.objects.filter(pk=closed_chat.pk).update(status=ChatStatus.CLOSED)
    results = actions.do_post_fast([stale_plan, customer_post(open_chat, alice, "y1", "你好")])
    assert results[0] is None and results[1] is not None
    assert not Message.objects.filter(ticket_id=closed_chat.ticket_id, client_id="x1").exists()
    # The general path explains why, in the customer's language.
    with pytest.raises(Exception, match="ended|结束"):
        actions.check_customer_message(conversation=closed_chat, customer=bob, client_id="x1", text="还在吗")


def test_an_agent_outside_the_chat_cannot_write_through_the_batch(alice):
    agent = make_user("assets-agent@example.com", "agent", ("assets",))
    stranger = make_user("other-agent@example.com", "agent", ("assets",))
    chat = active_chat(alice, agent)
    plan = actions.plan_agent_message(conversation=chat, agent=stranger, client_id="s1", text="hi")
    assert actions.do_post_fast([plan]) == [None]


def test_a_secret_never_takes_the_fast_path(alice):
    agent = make_user("assets-agent@example.com", "agent", ("assets",))
    chat = active_chat(alice, agent)
    phrase = "abandon " * 11 + "about"
    assert (
        actions.plan_customer_message(conversation=chat, customer=alice, client_id="k", text=phrase) is None
    )


def test_concurrent_senders_share_transactions(alice):
    agent = make_user("assets-agent@example.com", "agent", ("assets",))
    chat = active_chat(alice, agent)
    start = selectors.last_seq(chat)

    async def send_many() -> tuple[list, int, int]:
        posts = await asyncio.gather(
            *(
                writer.post_customer_message(
                    conversation=chat, customer=alice, client_id=f"m{i}", text=f"第 {i} 条"
                )
                for i in range(20)
            )
        )
        group = writer.writer()
        return posts, group.batches, group.posts

    posts, batches, written = run_async(send_many)
    assert written == 20 and batches < 20
    assert sorted(p.message.seq for p in posts) == list(range(start + 1, start + 21))
    assert Message.objects.filter(ticket_id=chat.ticket_id, seq__gt=start).count() == 20


def test_on_a_database_server_a_batch_waiting_for_a_lock_does_not_hold_up_other_chats(alice, bob):
    """Several batches are written at once on PostgreSQL: one waiting (here on a row lock held
    elsewhere; under load, on round trips) no longer makes every other chat's message wait."""
    import threading

    from django.db import connection, transaction

    if connection.vendor == "sqlite":
        pytest.skip("SQLite writes one batch at a time (one writer); row locks need PostgreSQL")
    agent = make_user("assets-agent@example.com", "agent", ("assets",))
    first, second = active_chat(alice, agent), active_chat(bob, agent)
    locked, release = threading.Event(), threading.Event()

    def hold_first_chat() -> None:
        from django.db import connections

        try:
            with transaction.atomic():
                ChatConversation.objects.select_for_update().get(pk=first.pk)
                locked.set()
                release.wait(60)
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold_first_chat)
    holder.start()
    assert locked.wait(30)

    async def scenario() -> None:
        group = writer.writer()
        waiting = asyncio.ensure_future(
            writer.post_customer_message(conversation=first, customer=alice, client_id="w1", text="还没到账")
        )
        while group.pending or not group.busy:  # its batch has left for the database
            await asyncio.sleep(0.01)
        try:
            other = await asyncio.wait_for(
                writer.post_customer_message(conversation=second, customer=bob, client_id="o1", text="提现卡住了"),
                timeout=20,
            )
            assert other.message.seq and not waiting.done()
        finally:
            release.set()
        assert (await waiting).message.client_id == "w1"

    try:
        run_async(scenario)
    finally:
        release.set()
        holder.join()


def test_a_batch_costs_one_statement_a_message_and_one_insert(alice, bob):
    """On a database server each statement is a round trip: a batch's messages are numbered one
    statement each (the chat's and the case's UPDATE together) and stored in one INSERT."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    if connection.vendor != "postgresql":
        pytest.skip("SQLite has no UPDATE in a WITH clause; its statements are in-process calls")
    agent = make_user("assets-agent@example.com", "agent", ("assets",))
    first, second = active_chat(alice, agent), active_chat(bob, agent)
    posts = [
        customer_post(first, alice, "q1", "还没到账"),
        customer_post(second, bob, "q2", "提现卡住了"),
        customer_post(first, alice, "q3", "TxID 在这里"),
    ]
    with CaptureQueriesContext(connection) as queries:
        results = actions.do_post_fast(posts)
    assert all(r is not None and not r[1] for r in results)
    writes = [q["sql"] for q in queries.captured_queries if q["sql"].split()[0] in ("UPDATE", "WITH", "INSERT")]
    assert len(writes) == 4, writes
    assert sum(sql.startswith("INSERT") for sql in writes) == 1
