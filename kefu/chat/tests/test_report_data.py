"""What live chat keeps for the reports: the wait estimate told on entering the queue, the
first agent's arrival (kept on transfers) and the agents' status intervals."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from kefu.chat import actions
from kefu.chat.models import AgentPresence, AgentPresenceLog, ChatConversation
from kefu.chat.tests.conftest import queued_chat, set_online
from kefu.conftest import make_user

pytestmark = pytest.mark.django_db(transaction=True)  # dispatch runs when the enqueue commits


def fresh(chat: ChatConversation) -> ChatConversation:
    return ChatConversation.objects.get(pk=chat.pk)


def test_the_wait_told_on_entering_the_queue_and_the_first_agent_are_kept(alice, bob):
    """A free agent: told 0 (an agent joins in a moment). Agent full: position 1, one slot,
    the default handling time (420 s, too few chats measured) → told 420 s. A transfer back to
    the queue and a new agent leave the first arrival as it was."""
    agent = make_user("a1@example.com", "agent", ("assets",))
    set_online(agent, capacity=1)
    first = fresh(queued_chat(alice))
    assert first.assignee == agent and first.wait_estimate_seconds == 0
    assert first.wait_estimate_at == first.queued_at and first.first_assigned_at == first.assigned_at

    second = fresh(queued_chat(bob))
    assert second.status == "queued" and second.wait_estimate_seconds == 420
    assert second.wait_estimate_at == second.queued_at and second.first_assigned_at is None

    actions.do_close(conversation=first, actor=agent, reason="resolved")
    second = fresh(second)
    assert second.assignee == agent and second.first_assigned_at == second.assigned_at
    arrived = second.first_assigned_at
    actions.do_transfer(conversation=second, actor=agent, to_team=agent.teams.get())
    other = make_user("a2@example.com", "agent", ("assets",))
    set_online(other)
    second = fresh(second)
    assert second.assignee is not None and second.assigned_at > arrived and second.first_assigned_at == arrived


def test_no_agent_online_means_no_estimate_was_told(alice):
    chat = fresh(queued_chat(alice))
    assert chat.status == "queued" and chat.wait_estimate_at is not None and chat.wait_estimate_seconds is None


def test_each_status_change_closes_the_open_interval_and_opens_the_next():
    """online → away → online → offline: four intervals, each ending where the next begins;
    setting the same status again or only the capacity writes none."""
    agent = make_user("a1@example.com", "agent", ("assets",))
    for status in ("online", "away", "away", "online", "offline"):
        actions.do_set_presence(agent=agent, status=status)
    actions.do_set_presence(agent=agent, capacity=2)
    rows = list(AgentPresenceLog.objects.filter(user=agent).order_by("started_at", "id"))
    assert [row.status for row in rows] == ["online", "away", "online", "offline"]
    assert [row.ended_at for row in rows[:-1]] == [row.started_at for row in rows[1:]]
    assert rows[-1].ended_at is None


def test_an_agent_the_sweep_takes_offline_is_offline_from_the_last_heartbeat():
    """Online two hours ago, last heartbeat an hour ago: online for one hour, not until the
    sweep noticed."""
    agent = make_user("a1@example.com", "agent", ("assets",))
    set_online(agent)
    went_online, seen = timezone.now() - timedelta(hours=2), timezone.now() - timedelta(hours=1)
    AgentPresence.objects.filter(user=agent).update(last_seen_at=seen, status_changed_at=went_online)
    AgentPresenceLog.objects.filter(user=agent).update(started_at=went_online)
    actions.do_sweep()
    online, offline = AgentPresenceLog.objects.filter(user=agent).order_by("started_at")
    assert (online.status, online.ended_at) == ("online", seen)
    assert (offline.status, offline.started_at, offline.ended_at) == ("offline", seen, None)
