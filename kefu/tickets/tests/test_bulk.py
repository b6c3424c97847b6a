"""Bulk changes from the lists, tags, and who else has a ticket open."""

from __future__ import annotations

import pytest
from django.urls import reverse

from kefu.audit.models import AuditEvent
from kefu.conftest import login, make_user
from kefu.tickets import actions, presence
from kefu.tickets.models import Category, Status, Tag, Ticket

pytestmark = pytest.mark.django_db


def file(customer, title: str = "t", category: str = "deposit-not-credited") -> Ticket:
    return actions.check_create_ticket(
        customer=customer, category=Category.objects.get(slug=category), title=title, description="d"
    ).ticket


def post_bulk(client, cases: list[str], **data):
    return client.post(
        reverse("tickets:workspace_bulk"),
        {"case": cases, "next": "/workspace/?queue=unassigned", **data},
    )


def test_assign_to_me_changes_only_the_tickets_the_agent_may_touch_and_audits_each(alice, agent):
    mine = [file(alice, f"资产{i}") for i in range(2)]
    foreign = file(alice, "技术组的", category="app-not-opening")  # another team's: invisible to agent
    response = post_bulk(
        login(agent), [t.case_number for t in mine] + [foreign.case_number, "KF-NOPE"], op="assign_me"
    )
    assert response.status_code == 302 and response["Location"] == "/workspace/?queue=unassigned"
    assert [t.assignee_id for t in Ticket.objects.filter(pk__in=[t.pk for t in mine])] == [agent.pk, agent.pk]
    assert Ticket.objects.get(pk=foreign.pk).assignee_id is None
    audited = set(AuditEvent.objects.filter(action="ticket.assigned").values_list("target_id", flat=True))
    assert audited == {t.case_number for t in mine}


def test_skipped_tickets_are_reported_without_saying_which_exist(alice, agent):
    foreign = file(alice, "技术组的", category="app-not-opening")
    client = login(agent)
    response = client.get(
        post_bulk(client, [foreign.case_number, "KF-00000000-00000000"], op="assign_me")["Location"]
    )
    text = response.content.decode()
    # The same words for a ticket that exists elsewhere and one that does not exist at all.
    assert "跳过 2 个工单" in text or "2 tickets skipped" in text


def test_set_status_goes_through_the_status_action_and_skips_refused_transitions(alice, agent):
    open_one, closed = file(alice, "a"), file(alice, "b")
    actions.do_change_status(ticket=closed, actor=agent, status=Status.CLOSED)
    post_bulk(login(agent), [open_one.case_number, closed.case_number], op="status", status=Status.ON_HOLD)
    assert Ticket.objects.get(pk=open_one.pk).status == Status.ON_HOLD
    assert Ticket.objects.get(pk=closed.pk).status == Status.CLOSED  # closed → on hold is not a transition


def test_assign_to_another_agent_respects_the_team_rule(alice, agent, tech_agent):
    ticket = file(alice)
    colleague = make_user("colleague@example.com", "agent", ("assets",))
    client = login(agent)
    post_bulk(client, [ticket.case_number], op="assign", assignee=str(tech_agent.public_id))
    assert Ticket.objects.get(pk=ticket.pk).assignee_id is None  # not in the ticket's team: skipped
    post_bulk(client, [ticket.case_number], op="assign", assignee=str(colleague.public_id))
    assert Ticket.objects.get(pk=ticket.pk).assignee_id == colleague.pk


def test_customers_cannot_post_bulk_changes(alice):
    ticket = file(alice)
    assert post_bulk(login(alice), [ticket.case_number], op="status", status=Status.CLOSED).status_code == 404
    assert Ticket.objects.get(pk=ticket.pk).status == Status.NEW


def test_tags_bulk_added_shown_in_the_list_and_filtered_by(alice, agent):
    urgent = Tag.objects.create(slug="vip", name_zh="大客户", name_en="VIP")
    tagged, plain = file(alice, "有标签"), file(alice, "没标签")
    client = login(agent)
    post_bulk(client, [tagged.case_number], op="tag", tag="vip")
    post_bulk(client, [tagged.case_number], op="tag", tag="vip")  # twice: still one tag, one audit
    assert list(urgent.tickets.all()) == [tagged]
    assert AuditEvent.objects.filter(action="ticket.tagged", target_id=tagged.case_number).count() == 1

    html = client.get(reverse("tickets:workspace") + "?queue=team&team=assets&tag=vip").content.decode()
    assert "有标签" in html and "没标签" not in html and '<span class="badge tag">大客户</span>' in html
    due = client.get(reverse("tickets:workspace") + "?queue=team&team=assets&tag=vip&sort=due")
    assert due.status_code == 200
    assert plain.pk not in [t.pk for t in Tag.objects.get(slug="vip").tickets.all()]


def test_a_tag_is_added_and_removed_on_the_ticket_view(alice, agent):
    Tag.objects.create(slug="chain", name_zh="链上问题", name_en="On-chain")
    ticket = file(alice)
    client = login(agent)
    url = reverse("tickets:workspace_action", args=[ticket.case_number, "tag"])
    client.post(url, {"tag": "chain"})
    assert (
        "链上问题"
        in client.get(reverse("tickets:workspace_ticket", args=[ticket.case_number])).content.decode()
    )
    client.post(reverse("tickets:workspace_action", args=[ticket.case_number, "untag"]), {"tag": "chain"})
    assert not Tag.objects.get(slug="chain").tickets.exists()
    assert AuditEvent.objects.filter(action="ticket.untagged").count() == 1


def test_an_agent_sees_who_else_has_the_ticket_open_and_who_is_typing(alice, agent):
    ticket = file(alice)
    lin = make_user("lin@example.com", "agent", ("assets",))
    lin.display_name = "林"
    lin.save()
    url = reverse("tickets:workspace_presence", args=[ticket.case_number])
    first, second = login(agent), login(lin)
    assert first.post(url).json() == {"viewers": []}
    assert second.post(url, {"typing": "1"}).json() == {"viewers": [{"name": agent.email, "typing": False}]}
    assert first.post(url).json() == {"viewers": [{"name": "林", "typing": True}]}
    page = first.get(reverse("tickets:workspace_ticket", args=[ticket.case_number])).content.decode()
    assert "林 正在输入回复" in page or "林 is typing a reply" in page
    second.post(url, {"leave": "1"})
    assert first.post(url).json() == {"viewers": []}


def test_presence_is_only_for_those_who_may_see_the_ticket(alice, tech_agent):
    ticket = file(alice)  # the assets team's
    url = reverse("tickets:workspace_presence", args=[ticket.case_number])
    assert login(tech_agent).post(url).status_code == 404
    assert login(alice).post(url).status_code == 404
    assert presence.touch(ticket.pk, alice) == []  # nobody was marked by the refused calls


def test_the_bulk_form_returns_only_to_a_page_of_this_site(alice, agent):
    ticket = file(alice)
    client = login(agent)
    for target in ("https://evil.example/", "//evil.example/x", "javascript:alert(1)"):
        response = client.post(
            reverse("tickets:workspace_bulk"),
            {"case": [ticket.case_number], "op": "assign_me", "next": target},
        )
        assert response["Location"] == reverse("tickets:workspace"), target
