"""Who may see what: customers their own, agents their teams', supervisors everything — 404 otherwise."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from kefu.conftest import login, png_bytes
from kefu.tickets import actions
from kefu.tickets.attachments import check_upload
from kefu.tickets.models import Category, Message

pytestmark = pytest.mark.django_db


@pytest.fixture
def alices_ticket(alice):
    upload = SimpleUploadedFile("proof.png", png_bytes(), content_type="image/png")
    return actions.check_create_ticket(
        customer=alice,
        category=Category.objects.get(slug="deposit-not-credited"),
        title="充值未到账",
        description="截图见附件",
        files=[check_upload(upload)],
    ).ticket


def test_a_customer_cannot_read_reply_to_or_download_another_customers_ticket(alices_ticket, bob):
    client = login(bob)
    case = alices_ticket.case_number
    assert client.get(reverse("tickets:portal_ticket", args=[case])).status_code == 404
    response = client.post(reverse("tickets:portal_ticket", args=[case]), {"body": "hi"})
    assert response.status_code == 404
    attachment = alices_ticket.attachments.get()
    assert client.get(reverse("tickets:attachment", args=[attachment.public_id])).status_code == 404
    assert Message.objects.filter(ticket=alices_ticket).count() == 1


def test_the_owner_can_download_their_attachment(alices_ticket, alice):
    attachment = alices_ticket.attachments.get()
    response = login(alice).get(reverse("tickets:attachment", args=[attachment.public_id]))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert b"".join(response.streaming_content) == png_bytes()


def test_an_agent_outside_the_team_cannot_see_the_ticket_but_a_supervisor_can(
    alices_ticket, tech_agent, supervisor
):
    case = alices_ticket.case_number
    attachment = alices_ticket.attachments.get()
    outsider = login(tech_agent)
    assert outsider.get(reverse("tickets:workspace_ticket", args=[case])).status_code == 404
    assert (
        outsider.post(
            reverse("tickets:workspace_ticket", args=[case]), {"action": "reply", "body": "x"}
        ).status_code
        == 404
    )
    assert outsider.get(reverse("tickets:attachment", args=[attachment.public_id])).status_code == 404
    boss = login(supervisor)
    assert boss.get(reverse("tickets:workspace_ticket", args=[case])).status_code == 200
    assert boss.get(reverse("tickets:attachment", args=[attachment.public_id])).status_code == 200


def test_team_agent_sees_internal_notes_and_customer_does_not(alices_ticket, alice, agent):
    actions.check_add_message(ticket=alices_ticket, author=agent, body="内部：疑似充错网络", kind="internal")
    case = alices_ticket.case_number
    assert (
        "内部：疑似充错网络"
        in login(agent).get(reverse("tickets:workspace_ticket", args=[case])).content.decode()
    )
    assert (
        "内部：疑似充错网络"
        not in login(alice).get(reverse("tickets:portal_ticket", args=[case])).content.decode()
    )


def test_customers_cannot_open_the_workspace(alice):
    assert login(alice).get(reverse("tickets:workspace")).status_code == 404


def test_anonymous_visitors_are_sent_to_sign_in(alices_ticket):
    from django.test import Client

    response = Client().get(reverse("tickets:portal_ticket", args=[alices_ticket.case_number]))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_forms_are_csrf_protected(alices_ticket, alice):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    response = client.post(reverse("tickets:portal_ticket", args=[alices_ticket.case_number]), {"body": "hi"})
    assert response.status_code == 403


def test_an_agent_cannot_list_a_team_queue_they_are_not_in(alices_ticket, tech_agent, agent):
    url = reverse("tickets:workspace") + "?queue=team&team=assets"
    assert alices_ticket.case_number not in login(tech_agent).get(url).content.decode()
    assert alices_ticket.case_number in login(agent).get(url).content.decode()


def test_the_all_queue_holds_only_the_agents_teams(alices_ticket, alice, agent, supervisor):
    from kefu.tickets.selectors import page_of, queue_lanes

    other = actions.check_create_ticket(
        customer=alice,
        category=Category.objects.get(slug="app-not-opening"),
        title="闪退",
        description="打不开",
    ).ticket
    assert other.team.slug == "tech"
    mine = page_of(queue_lanes(agent, queue="all"), cursor=None, size=10).items
    assert alices_ticket in mine and other not in mine
    assert other in page_of(queue_lanes(supervisor, queue="all"), cursor=None, size=10).items
    actions.do_assign(ticket=alices_ticket, actor=supervisor, assignee=agent)
    assert page_of(queue_lanes(agent, queue="mine"), cursor=None, size=10).items == [alices_ticket]
