"""Creation limits: tickets and replies per customer and per client IP (portal and API)."""

from __future__ import annotations

import pytest
from django.test import Client

from kefu.conftest import bearer, login
from kefu.tickets.models import VISIBLE_Q, Category, Message, Ticket

pytestmark = pytest.mark.django_db

NEW_TICKET = {
    "category": "deposit-not-credited",
    "title": "USDT not credited",
    "description": "Sent 100 USDT on TRC-20 two hours ago.",
}


@pytest.fixture(autouse=True)
def _small_limits(settings):
    settings.KEFU_TICKET_CREATE_RATE = "3/600"
    settings.KEFU_TICKET_REPLY_RATE = "3/600"
    settings.KEFU_CREATE_IP_FACTOR = 2


def api_create(client: Client, ip: str = "198.51.100.1"):
    return client.post("/api/v1/tickets", NEW_TICKET, content_type="application/json", REMOTE_ADDR=ip)


def test_a_customer_cannot_flood_tickets_through_the_api(alice):
    client = bearer(alice, "en")
    assert [api_create(client).status_code for _ in range(3)] == [201, 201, 201]
    refused = api_create(client, ip="198.51.100.2")  # another address does not help
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert "many tickets" in refused.json()["detail"]
    assert Ticket.objects.filter(customer=alice).count() == 3
    zh = bearer(alice, "zh-hans").post("/api/v1/tickets", NEW_TICKET, content_type="application/json")
    assert zh.status_code == 429 and "工单" in zh.json()["detail"]


def test_a_customer_cannot_flood_tickets_through_the_portal(alice):
    client = login(alice)
    category = Category.objects.get(slug="deposit-not-credited")
    form = {"category": category.pk, "title": "Not credited", "description": "Two hours ago."}
    for _ in range(3):
        assert client.post("/portal/new/", form).status_code == 302
    response = client.post("/portal/new/", form, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200 and "many tickets" in response.content.decode()
    assert Ticket.objects.filter(customer=alice).count() == 3


def test_one_address_cannot_flood_with_many_accounts_but_others_are_unaffected(alice, bob, db):
    from kefu.conftest import make_user

    carol = make_user("carol@example.com")
    for user in (alice, bob):  # 2 x 3 = the per-IP allowance (3 x factor 2)
        for _ in range(3):
            assert api_create(bearer(user), ip="203.0.113.5").status_code == 201
    assert api_create(bearer(carol), ip="203.0.113.5").status_code == 429
    # Someone else's flood never spends a customer's own allowance: carol elsewhere is fine.
    assert api_create(bearer(carol), ip="198.51.100.9").status_code == 201


def test_replies_are_limited_for_customers_not_for_staff(alice, agent):
    ticket = api_create(bearer(alice)).json()
    url = f"/api/v1/tickets/{ticket['case_number']}/messages"
    customer = bearer(alice, "en")
    codes = [
        customer.post(url, {"body": "any news?"}, content_type="application/json").status_code
        for _ in range(4)
    ]
    assert codes == [201, 201, 201, 429]
    portal = login(alice)
    response = portal.post(
        f"/portal/tickets/{ticket['case_number']}/", {"body": "hello?"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert "many replies" in response.content.decode()
    staff = bearer(agent)
    for _ in range(6):
        assert staff.post(url, {"body": "on it"}, content_type="application/json").status_code == 201
    assert Message.objects.filter(ticket__case_number=ticket["case_number"], author=agent).count() == 6


def test_bot_hand_offs_count_against_the_ticket_allowance(alice, settings):
    """A fresh bot conversation per message used to file a ticket every time."""
    settings.KEFU_TICKET_CREATE_RATE = "2/600"
    client = bearer(alice, "en")
    answers = [
        client.post("/api/v1/bot/messages", {"text": "转人工"}, content_type="application/json").json()
        for _ in range(3)
    ]
    assert [a["handoff"]["kind"] if a.get("handoff") else None for a in answers] == ["ticket", "ticket", None]
    # The bot answers in the language the customer writes ("转人工"), whatever the browser says.
    assert "工单过多" in answers[2]["reply"]
    # Cases opened to the team; the refused one's conversation stays with the bot.
    assert Ticket.objects.filter(VISIBLE_Q, customer=alice).count() == 2
