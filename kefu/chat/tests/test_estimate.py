"""The honest wait: the formula, and the inputs the live queue feeds it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from kefu.chat.estimate import estimate_wait, mean_handling_seconds
from kefu.chat.tests.conftest import queued_chat, set_online
from kefu.conftest import make_user


def test_wait_is_position_times_handling_time_over_slots():
    assert estimate_wait(position=3, slots=6, handle_seconds=300) == 150
    assert estimate_wait(position=1, slots=1, handle_seconds=300) == 300


def test_no_slots_means_no_estimate_and_nobody_ahead_means_no_wait():
    assert estimate_wait(position=2, slots=0, handle_seconds=300) is None
    assert estimate_wait(position=0, slots=3, handle_seconds=300) == 0


def test_handling_time_uses_the_default_until_enough_samples_and_trims_outliers():
    assert mean_handling_seconds([100, 200], default=420) == 420
    samples = [100.0] * 19 + [10_000.0]  # a chat left open over lunch
    assert mean_handling_seconds(samples, default=420) == 100


pytestmark = pytest.mark.django_db(transaction=True)


def _closed_chat(customer, agent, *, handled: float, ago: float, team_slug: str = "assets"):
    """A chat an agent handled for ``handled`` seconds, closed ``ago`` seconds ago."""
    from kefu.accounts.models import Team
    from kefu.chat.models import ChatConversation

    now = timezone.now()
    ChatConversation.objects.create(
        customer=customer,
        team=Team.objects.get(slug=team_slug),
        status="closed",
        assignee=agent,
        queued_at=now - timedelta(seconds=ago + handled + 30),
        assigned_at=now - timedelta(seconds=ago + handled),
        closed_at=now - timedelta(seconds=ago),
    )


def test_inputs_are_recent_handling_times_and_the_slots_of_eligible_agents_online(alice, bob):
    """Only online agents of the team who speak the language count; old chats do not."""
    from kefu.chat.selectors import clear_caches, queue_info, wait_inputs

    assets = make_user("assets1@example.com", "agent", ("assets",))
    set_online(assets, capacity=2)
    english_only = make_user("assets2@example.com", "agent", ("assets",))
    set_online(english_only, capacity=4, languages="en")
    away = make_user("assets3@example.com", "agent", ("assets",))
    set_online(away, capacity=5)
    from kefu.chat.actions import do_set_presence

    do_set_presence(agent=away, status="away")
    set_online(make_user("tech1@example.com", "agent", ("tech",)), capacity=7)  # another team
    for handled in (300, 300, 300, 300, 300, 300):
        _closed_chat(bob, assets, handled=handled, ago=60)
    _closed_chat(bob, assets, handled=5000, ago=6 * 3600)  # outside the window
    clear_caches()

    from kefu.accounts.models import Team

    team = Team.objects.get(slug="assets")
    inputs = wait_inputs(team_id=team.pk, language="zh-hans", tier=1)
    assert inputs.slots == 2 and inputs.agents_online == 1
    assert inputs.handle_seconds == pytest.approx(300, abs=1)

    # Fill the agent's two slots, then two more wait: positions 1 and 2.
    for _ in range(2):
        queued_chat(make_user(f"c{_}@example.com"), intent="deposit_not_credited", text="")
    first = queued_chat(alice, intent="deposit_not_credited", text="")
    second = queued_chat(make_user("carol@example.com"), intent="deposit_not_credited", text="")
    clear_caches()
    info1, info2 = queue_info(first), queue_info(second)
    assert (info1.position, info2.position) == (1, 2)
    assert info1.eta_seconds == pytest.approx(150, abs=1) and info2.eta_seconds == pytest.approx(300, abs=1)
    assert info1.offer == ""


def test_a_long_wait_no_agent_or_closed_hours_offers_a_ticket(alice, settings):
    from kefu.chat.selectors import clear_caches, queue_info
    from kefu.chat.tests.conftest import service_hours

    chat = queued_chat(alice, intent="deposit_not_credited", text="")
    clear_caches()
    assert queue_info(chat).offer == "no_agents" and queue_info(chat).eta_seconds is None

    set_online(make_user("assets1@example.com", "agent", ("assets",)), capacity=0)
    clear_caches()
    assert queue_info(chat).offer == "no_agents"  # online but without a free slot, ever

    settings.KEFU_CHAT_OFFER_AFTER_SECONDS = 60
    settings.KEFU_CHAT_DEFAULT_HANDLE_SECONDS = 600
    from kefu.accounts.models import User
    from kefu.chat.actions import do_set_presence

    do_set_presence(agent=User.objects.get(email="assets1@example.com"), capacity=1)
    # The agent took the chat; a second customer now waits 600 s > 60 s.
    other = queued_chat(make_user("dave@example.com"), intent="deposit_not_credited", text="")
    clear_caches()
    info = queue_info(other)
    assert info.eta_seconds == 600 and info.offer == "long_wait"

    # A chat calendar without any opening hours: closed now.
    service_hours("chat")
    assert queue_info(other).offer == "closed"


def test_security_cases_go_first(alice, bob):
    from kefu.chat.selectors import queue_position

    normal = queued_chat(alice, intent="account_locked", text="")
    urgent = queued_chat(bob, intent="account_compromised", text="")
    assert urgent.team.slug == "security" and urgent.priority > normal.priority
    later_normal = queued_chat(make_user("erin@example.com"), intent="account_locked", text="")
    assert queue_position(normal) == 1 and queue_position(later_normal) == 2  # accounts queue
    assert queue_position(urgent) == 1  # security queue
    second_urgent = queued_chat(make_user("frank@example.com"), intent="scam_report", text="")
    assert queue_position(second_urgent) == 2


def test_live_chat_is_offered_only_within_hours_and_with_an_agent_online(alice):
    """What the bot asks before handing off to the queue instead of filing a ticket."""
    from kefu.chat.selectors import clear_caches, live_chat_available
    from kefu.chat.tests.conftest import service_hours

    service_hours("chat", always_open=True)
    assert not live_chat_available(intent="deposit_not_credited", language="zh-hans")
    set_online(make_user("assets1@example.com", "agent", ("assets",)))
    clear_caches()
    assert live_chat_available(intent="deposit_not_credited", language="zh-hans")
    assert not live_chat_available(intent="app_not_opening", language="zh-hans")  # tech: nobody online
    service_hours("chat")  # no hours: closed
    assert not live_chat_available(intent="deposit_not_credited", language="zh-hans")
