"""Reference caches: kept between reads, forgotten when their table changes."""

from __future__ import annotations

import pytest

from kefu.accounts.models import Role, Team
from kefu.conftest import make_user
from kefu.refcache import ReferenceCache
from kefu.tickets import selectors
from kefu.tickets.models import CannedReply


def test_a_cache_loads_once_until_forgotten():
    loads = []
    cache = ReferenceCache("test-once", lambda: loads.append(1) or len(loads))
    assert cache.get() == 1
    assert cache.get() == 1
    cache.forget()
    assert cache.get() == 2


def test_a_value_loaded_across_a_change_is_not_kept():
    cache: ReferenceCache[int] = ReferenceCache("test-race", lambda: 0)
    calls = []

    def load() -> int:
        calls.append(1)
        if len(calls) == 1:
            cache.forget()  # the table changes while the first load reads it
        return len(calls)

    cache._load = load
    assert cache.get() == 1  # the caller gets what it read...
    assert cache.get() == 2  # ...but it was not kept


def test_an_expired_value_is_reloaded(monkeypatch):
    loads = []
    cache = ReferenceCache("test-expiry", lambda: loads.append(1) or len(loads), seconds=10)
    assert cache.get() == 1
    import kefu.refcache as refcache

    real = refcache.time.monotonic
    monkeypatch.setattr(refcache.time, "monotonic", lambda: real() + 11)
    assert cache.get() == 2


@pytest.mark.django_db
def test_canned_replies_follow_edits_and_teams():
    assets = Team.objects.get(slug="assets")
    agent = make_user("agent-canned@example.com", role=Role.AGENT, teams=("accounts",))
    general = CannedReply.objects.create(title="Hello all", body_zh="你好", body_en="Hello")
    team_only = CannedReply.objects.create(title="Assets only", body_zh="资产", body_en="Assets", team=assets)
    titles = [c.title for c in selectors.canned_replies_for(agent)]
    assert "Hello all" in titles and "Assets only" not in titles
    general.title = "Hello everyone"
    general.save()
    assert "Hello everyone" in [c.title for c in selectors.canned_replies_for(agent)]
    team_only.team = None
    team_only.save()
    assert "Assets only" in [c.title for c in selectors.canned_replies_for(agent)]
    general.delete()
    assert "Hello everyone" not in [c.title for c in selectors.canned_replies_for(agent)]


@pytest.mark.django_db
def test_assignable_staff_follow_membership_and_role_changes():
    assets = Team.objects.get(slug="assets")
    agent = make_user("agent-staff@example.com", role=Role.AGENT)
    assert agent.pk not in [m.pk for m in selectors.assignable_staff(assets.pk)]
    agent.teams.add(assets)
    assert agent.pk in [m.pk for m in selectors.assignable_staff(assets.pk)]
    agent.teams.remove(assets)
    assert agent.pk not in [m.pk for m in selectors.assignable_staff(assets.pk)]
    assert agent.pk in [m.pk for m in selectors.assignable_staff(None)]
    agent.role = Role.CUSTOMER
    agent.save()
    assert agent.pk not in [m.pk for m in selectors.assignable_staff(None)]


@pytest.mark.django_db
def test_a_sign_in_does_not_forget_the_staff_list(django_assert_num_queries):
    agent = make_user("agent-login@example.com", role=Role.AGENT)
    selectors.assignable_staff(None)
    from django.contrib.auth.models import update_last_login

    update_last_login(None, agent)
    with django_assert_num_queries(0):
        selectors.assignable_staff(None)
