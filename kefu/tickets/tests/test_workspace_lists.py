"""The workspace lists: counts per view in one query, the first screen, the age column."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from kefu.accounts.models import Team
from kefu.conftest import login
from kefu.tickets import actions, selectors
from kefu.tickets.models import Category, Message, Ticket

pytestmark = pytest.mark.django_db


def file(customer, category: str = "deposit-not-credited") -> Ticket:
    return actions.check_create_ticket(
        customer=customer, category=Category.objects.get(slug=category), title="t", description="d"
    ).ticket


def test_counts_per_view(alice, agent, tech_agent, supervisor):
    assets = [file(alice) for _ in range(3)]  # the assets team
    tech = file(alice, "app-not-opening")  # technical support
    actions.do_assign(ticket=assets[0], actor=agent, assignee=agent)
    actions.do_escalate(ticket=assets[1], actor=agent, reason="needs tier 2")
    closed = file(alice)
    actions.do_change_status(ticket=closed, actor=agent, status="closed")
    counts = selectors.queue_counts(agent)
    assert counts.mine == 1
    assert counts.unassigned == 2  # the escalated one is unassigned too; the closed one is not active
    assets_team = Team.objects.get(slug="assets")
    assert counts.teams[assets_team.pk] == 3
    assert counts.escalated == 1
    assert selectors.queue_counts(tech_agent).teams == {tech.team_id: 1}
    assert selectors.queue_counts(tech_agent).mine == 0
    assert selectors.queue_counts(supervisor).all == 4


def test_counts_take_one_query_whatever_the_number_of_teams(alice, agent, supervisor):
    file(alice)
    with CaptureQueriesContext(connection) as one:
        selectors.queue_counts(agent)
    with CaptureQueriesContext(connection) as all_teams:
        selectors.queue_counts(supervisor)
    # The agent's team ids are read once per request (cached on the user); the counts are one query.
    assert len([q for q in one.captured_queries if "COUNT(" in q["sql"].upper()]) == 1
    assert len([q for q in all_teams.captured_queries if "COUNT(" in q["sql"].upper()]) == 1


def test_an_agent_with_nothing_assigned_lands_on_the_unassigned_queue(alice, agent):
    """The first screen shows what needs doing first, not an empty "mine"."""
    waiting = file(alice)
    client = login(agent)
    page = client.get(reverse("tickets:workspace"))
    assert page.context["queue"] == "unassigned"
    assert waiting.case_number in page.content.decode()
    actions.do_assign(ticket=waiting, actor=agent, assignee=agent)
    cache.clear()  # the sidebar's counts are kept for a few seconds
    assert client.get(reverse("tickets:workspace")).context["queue"] == "mine"
    # Asking for a view explicitly always gets it.
    assert client.get(reverse("tickets:workspace"), {"queue": "escalated"}).context["queue"] == "escalated"


def test_an_agent_with_nothing_at_all_lands_on_mine(agent):
    assert login(agent).get(reverse("tickets:workspace")).context["queue"] == "mine"


def test_the_list_shows_age_and_time_since_the_customers_last_message(alice, agent):
    ticket = file(alice)
    three_days = timezone.now() - timedelta(days=3)
    Ticket.objects.filter(pk=ticket.pk).update(created_at=three_days)
    Message.objects.filter(ticket=ticket).update(created_at=three_days)
    actions.check_add_message(ticket=ticket, author=agent, body="回复")
    actions.check_add_message(ticket=ticket, author=alice, body="追问")
    Message.objects.filter(ticket=ticket, body="追问").update(created_at=timezone.now() - timedelta(hours=5))
    page = login(agent).get(
        reverse("tickets:workspace"), {"queue": "team", "team": "assets"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    [row] = page.context["rows"]
    assert row.age == "3 d"
    assert row.waiting == "5 h"
    assert "3 d" in page.content.decode()


def test_counts_are_shown_in_the_sidebar(alice, agent):
    file(alice)
    body = login(agent).get(reverse("tickets:workspace"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<span class="count">1</span>' in body
