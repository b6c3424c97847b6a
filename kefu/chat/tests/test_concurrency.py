"""Parallel dispatchers and agents on PostgreSQL: a chat is never given to two agents."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections

from kefu.chat import actions
from kefu.chat.models import AgentPresence, ChatConversation
from kefu.chat.tests.conftest import queued_chat
from kefu.conftest import make_user

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("row locks with SKIP LOCKED need PostgreSQL (set KEFU_DATABASE_URL)")


def in_parallel(count: int, work) -> list:
    """Run ``work(i)`` in ``count`` threads released at the same moment; results or exceptions."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = work(i)
        except Exception as exc:  # collected for the assertions
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_parallel_dispatchers_fill_every_slot_exactly_once():
    chats = [queued_chat(make_user(f"c{i}@example.com"), text="") for i in range(40)]
    agents = [make_user(f"a{i}@example.com", "agent", ("assets",)) for i in range(6)]
    # Online with capacity, without triggering a dispatch: the threads below do it.
    AgentPresence.objects.bulk_create([AgentPresence(user=a, status="online", capacity=3) for a in agents])

    results = in_parallel(8, lambda i: actions.do_dispatch())
    assert not [r for r in results if isinstance(r, Exception)], results
    made = [a for r in results for a in r]
    per_chat = Counter(a.conversation_id for a in made)
    assert per_chat and max(per_chat.values()) == 1  # no chat assigned twice
    assert len(made) == 18  # every slot filled: 6 agents × 3
    per_agent = Counter(a.agent_id for a in made)
    assert set(per_agent.values()) == {3}
    for presence in AgentPresence.objects.all():
        assigned = ChatConversation.objects.filter(assignee_id=presence.user_id, status="active").count()
        assert presence.active_chats == assigned == 3
    assert ChatConversation.objects.filter(status="queued").count() == len(chats) - 18


def test_many_agents_accepting_the_same_chat_at_once_only_one_gets_it(alice):
    chat = queued_chat(alice, text="")
    agents = [make_user(f"a{i}@example.com", "agent", ("assets",)) for i in range(10)]
    results = in_parallel(10, lambda i: actions.do_accept(conversation=chat, agent=agents[i]))
    winners = [r for r in results if isinstance(r, ChatConversation)]
    losers = [r for r in results if isinstance(r, ValidationError)]
    assert len(winners) == 1 and len(losers) == 9, results
    chat.refresh_from_db()
    assert chat.assignee_id == winners[0].assignee_id
    assert sum(AgentPresence.objects.values_list("active_chats", flat=True)) == 1


def test_dispatch_while_agents_close_and_customers_arrive_keeps_counters_true():
    agents = [make_user(f"a{i}@example.com", "agent", ("assets",)) for i in range(4)]
    AgentPresence.objects.bulk_create([AgentPresence(user=a, status="online", capacity=2) for a in agents])
    first = [queued_chat(make_user(f"c{i}@example.com"), text="") for i in range(8)]  # fills all slots
    customers = [make_user(f"d{i}@example.com") for i in range(12)]

    def work(i: int):
        if i < 8:
            return actions.do_close(conversation=first[i], actor=None, reason="resolved")
        return [queued_chat(customers[(i - 8) * 3 + k], text="") for k in range(3)]

    results = in_parallel(12, work)
    assert not [r for r in results if isinstance(r, Exception)], results
    actions.do_dispatch()
    for presence in AgentPresence.objects.all():
        assigned = ChatConversation.objects.filter(assignee_id=presence.user_id, status="active").count()
        assert presence.active_chats == assigned <= presence.capacity
    assert ChatConversation.objects.filter(status="active").count() == 8
