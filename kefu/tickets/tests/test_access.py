"""Access checks come before any write; API clients reach their own files with their token."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from kefu.conftest import bearer, png_bytes
from kefu.tickets.models import Ticket

pytestmark = pytest.mark.django_db

NEW_TICKET = {
    "category": "deposit-not-credited",  # routed to the assets team
    "title": "USDT not credited",
    "description": "Sent 100 USDT on TRC-20 two hours ago.",
}


def test_an_agent_filing_outside_their_teams_is_refused_before_anything_is_written(tech_agent):
    client = bearer(tech_agent, "en")
    for _attempt in range(3):  # retries must not duplicate anything either
        response = client.post("/api/v1/tickets", NEW_TICKET, content_type="application/json")
        assert response.status_code == 403, response.content
        assert "teams" in response.json()["detail"]
    assert not Ticket.objects.exists()


def test_an_agent_filing_in_their_team_gets_the_ticket(agent):
    response = bearer(agent).post("/api/v1/tickets", NEW_TICKET, content_type="application/json")
    assert response.status_code == 201, response.content
    assert Ticket.objects.get().case_number == response.json()["case_number"]


def test_a_ticket_the_guard_routes_to_security_is_still_answered_with_201(agent):
    """Filed by an assets agent, moved to the security team by the secret guard: created, so 201."""
    from mnemonic import Mnemonic

    phrase = Mnemonic("english").generate(128)
    payload = {**NEW_TICKET, "description": f"customer pasted {phrase} in the chat"}
    response = bearer(agent).post("/api/v1/tickets", payload, content_type="application/json")
    assert response.status_code == 201, response.content
    ticket = Ticket.objects.get()
    assert ticket.team.slug == "security" and response.json()["case_number"] == ticket.case_number
    assert phrase not in response.content.decode()


def test_supervisors_and_customers_file_anywhere(alice, supervisor):
    for user in (alice, supervisor):
        response = bearer(user).post("/api/v1/tickets", NEW_TICKET, content_type="application/json")
        assert response.status_code == 201, response.content
    assert Ticket.objects.count() == 2


def test_the_portal_refuses_an_agent_outside_their_teams_before_writing(tech_agent):
    from kefu.tickets.models import Category

    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(tech_agent)
    category = Category.objects.get(slug=NEW_TICKET["category"])
    response = client.post(
        reverse("tickets:portal_new"),
        {"category": category.pk, "title": "x", "description": "y"},
    )
    assert response.status_code == 200 and b"teams" in response.content
    assert not Ticket.objects.exists()


# --- attachments over the API ------------------------------------------------------------------


def _ticket_with_file(customer) -> tuple[Ticket, str]:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from kefu.tickets import actions
    from kefu.tickets.attachments import check_uploads
    from kefu.tickets.models import Category

    files = check_uploads([SimpleUploadedFile("proof.png", png_bytes(), content_type="image/png")])
    submission = actions.check_create_ticket(
        customer=customer,
        category=Category.objects.get(slug=NEW_TICKET["category"]),
        title="proof",
        description="see the screenshot",
        files=files,
    )
    return submission.ticket, submission.ticket.case_number


def _file_url(client: Client, case: str) -> str:
    detail = client.get(f"/api/v1/tickets/{case}")
    assert detail.status_code == 200, detail.content
    return detail.json()["messages"][0]["attachments"][0]["url"]


def test_an_api_client_downloads_its_own_file_with_its_token(alice, bob):
    _ticket, case = _ticket_with_file(alice)
    owner = bearer(alice)
    url = _file_url(owner, case)
    response = owner.get(url)
    assert response.status_code == 200, (url, response.status_code, response.get("Location"))
    assert b"".join(response.streaming_content) == png_bytes()
    assert response["Content-Type"] == "image/png"
    # Someone else's token: the same answer as for a file that does not exist.
    assert bearer(bob).get(url).status_code == 404
    # No credentials at all: refused, never served.
    anonymous = Client().get(url)
    assert anonymous.status_code in (302, 401)
    if anonymous.status_code == 302:
        assert "/login" in anonymous["Location"] or "/accounts/" in anonymous["Location"]
    # A token that is not one is not a sign-in either.
    assert Client(HTTP_AUTHORIZATION="Bearer kefu_nope").get(url).status_code in (302, 401)


def test_the_signed_in_browser_still_downloads_through_the_same_url(alice, bob):
    _ticket, case = _ticket_with_file(alice)
    url = _file_url(bearer(alice), case)
    browser = Client()
    browser.force_login(alice)
    assert browser.get(url).status_code == 200
    other = Client()
    other.force_login(bob)
    assert other.get(url).status_code == 404
