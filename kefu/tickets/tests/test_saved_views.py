"""Saved views: a name and the list's query string, personal or shared; they never grant access."""

from __future__ import annotations

import pytest
from django.urls import reverse

from kefu.conftest import login
from kefu.tickets import actions
from kefu.tickets.models import Category, SavedView

pytestmark = pytest.mark.django_db


def save(client, name: str, query: str, shared: bool = False):
    data = {"name": name, "query": query}
    if shared:
        data["shared"] = "1"
    return client.post(reverse("tickets:workspace_save_view"), data)


def test_a_personal_view_keeps_the_list_parameters_only_and_opens_the_list(agent, tech_agent):
    response = save(login(agent), "  我的  逾期 ", "queue=overdue&cursor=abc&evil=1&tag=vip&sort=due")
    view = SavedView.objects.get()
    assert (view.name, view.query, view.shared) == ("我的 逾期", "queue=overdue&tag=vip&sort=due", False)
    assert response["Location"] == "/workspace/?queue=overdue&tag=vip&sort=due"
    page = login(agent).get("/workspace/?queue=overdue&tag=vip&sort=due").content.decode()
    assert "我的 逾期" in page and 'class="active">我的 逾期</a>' in page
    assert "我的 逾期" not in login(tech_agent).get("/workspace/").content.decode()


def test_saving_again_under_the_same_name_replaces_the_view(agent):
    client = login(agent)
    save(client, "队列", "queue=mine")
    save(client, "队列", "queue=unassigned")
    assert list(SavedView.objects.values_list("name", "query")) == [("队列", "queue=unassigned")]


def test_a_shared_view_shows_for_every_agent_but_only_their_own_tickets(alice, agent, tech_agent):
    actions.check_create_ticket(
        customer=alice,
        category=Category.objects.get(slug="deposit-not-credited"),
        title="资产组工单",
        description="d",
    )
    save(login(agent), "资产组", "queue=all&team=assets", shared=True)
    other = login(tech_agent)
    assert "资产组</a>" in other.get("/workspace/").content.decode()
    assert "资产组工单" not in other.get("/workspace/?queue=all&team=assets").content.decode()
    assert "资产组工单" in login(agent).get("/workspace/?queue=all&team=assets").content.decode()


def test_only_the_owner_or_a_supervisor_deletes_a_view(agent, tech_agent, supervisor):
    save(login(agent), "私人", "queue=mine")
    save(login(agent), "公共", "queue=unassigned", shared=True)
    mine, shared = SavedView.objects.get(name="私人"), SavedView.objects.get(name="公共")
    url = lambda v: reverse("tickets:workspace_delete_view", args=[v.public_id])  # noqa: E731
    assert login(tech_agent).post(url(mine)).status_code == 404
    assert login(tech_agent).post(url(shared)).status_code == 404
    assert login(supervisor).post(url(mine)).status_code == 404  # personal: the owner's alone
    assert login(supervisor).post(url(shared)).status_code == 302
    assert login(agent).post(url(mine)).status_code == 302
    assert not SavedView.objects.exists()


def test_customers_have_no_saved_views(alice):
    assert save(login(alice), "x", "queue=mine").status_code == 404
    assert not SavedView.objects.exists()
