"""The WhatsApp webhook against recorded real-format payloads: Meta's verification, the
signature on every POST, messages in, duplicates, malformed and unknown parts, statuses."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from kefu.conftest import login
from kefu.inbox import pipeline
from kefu.inbox.models import DeliveryStatus, EventStatus, InboundEvent, OutboundDelivery
from kefu.tickets.actions import check_add_message
from kefu.tickets.models import Channel, Message, Ticket
from kefu.whatsapp.tests import fake_graph as fg
from kefu.whatsapp.tests.conftest import APP_SECRET, VERIFY_TOKEN
from kefu.whatsapp.tests.helpers import WEBHOOK, inbox, post_webhook, settle

pytestmark = pytest.mark.django_db

CUSTOMER = "+16505551234"


@pytest.fixture
def linked(graph, alice):
    """The customer's WhatsApp number is linked to her account."""
    pipeline.identify(inbox(), address=CUSTOMER, customer=alice)
    return alice


def test_verification_echoes_the_challenge_only_with_the_verify_token(graph):
    ok = Client().get(
        WEBHOOK, {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"}
    )
    assert ok.status_code == 200 and ok.content == b"1158201444"
    wrong = Client().get(
        WEBHOOK, {"hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "1"}
    )
    assert wrong.status_code == 403 and b"1" not in wrong.content
    assert (
        Client().get(WEBHOOK, {"hub.mode": "unsubscribe", "hub.verify_token": VERIFY_TOKEN}).status_code
        == 403
    )


def test_without_settings_there_is_no_whatsapp_webhook(db):
    assert Client().get(WEBHOOK, {"hub.mode": "subscribe", "hub.verify_token": ""}).status_code == 404


def test_a_post_without_or_with_a_wrong_signature_is_refused_and_stores_nothing(graph):
    body = fg.inbound(fg.text("hello", wamid="wamid.A1"))
    assert post_webhook(body, secret=APP_SECRET, signature="").status_code == 401
    assert post_webhook(body, secret="not-the-app-secret").status_code == 403
    assert post_webhook(body, secret=APP_SECRET, signature="sha256=" + "0" * 64).status_code == 403
    assert not InboundEvent.objects.exists()


def test_a_message_becomes_a_whatsapp_case_and_a_redelivery_changes_nothing(linked):
    body = fg.inbound(fg.text("My USDT deposit has not arrived", wamid="wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQz"))
    assert post_webhook(body, secret=APP_SECRET).status_code == 200
    assert post_webhook(body, secret=APP_SECRET).status_code == 200  # Meta retries until 200
    settle()
    [event] = InboundEvent.objects.all()
    assert event.status == EventStatus.PROCESSED, event.last_error
    ticket = event.ticket
    assert ticket.customer == linked and ticket.channel == Channel.WHATSAPP
    assert list(ticket.messages.values_list("body", flat=True)) == ["My USDT deposit has not arrived"]
    assert event.contact.display_name == "Sheena Nelson" and event.contact.address == CUSTOMER


def test_button_and_list_replies_are_read_as_their_titles_and_bad_parts_are_skipped(linked, caplog):
    body = fg.inbound(
        fg.text("hi", wamid="wamid.T1"),
        {
            "from": "16505551234",
            "id": "wamid.R1",
            "timestamp": "1749416390",
            "type": "reaction",
            "reaction": {"emoji": "👍"},
        },
        {"type": "text", "text": {"body": "no id, no sender"}},
        "not even an object",
        fg.button_reply("Deposit", wamid="wamid.B1"),
        fg.list_reply("Withdrawal", wamid="wamid.L1"),
    )
    body["entry"].append({"id": "x", "changes": "garbage"})
    assert post_webhook(body, secret=APP_SECRET).status_code == 200
    settle()
    ticket = Ticket.objects.get()
    assert list(ticket.messages.order_by("seq").values_list("body", flat=True)) == [
        "hi",
        "Deposit",
        "Withdrawal",
    ]
    assert "malformed message skipped" in caplog.text and "no id, no sender" not in caplog.text


def test_an_unparseable_body_with_a_good_signature_is_acknowledged_and_skipped(graph):
    from django.test import TestCase

    raw = b"{not json"
    sig = fg.signed(APP_SECRET, {})[1]  # a signature of another body: refused
    assert (
        Client()
        .post(WEBHOOK, data=raw, content_type="application/json", HTTP_X_HUB_SIGNATURE_256=sig)
        .status_code
        == 403
    )
    import hashlib
    import hmac

    good = "sha256=" + hmac.new(APP_SECRET.encode(), raw, hashlib.sha256).hexdigest()
    with TestCase.captureOnCommitCallbacks(execute=True):
        answer = Client().post(
            WEBHOOK, data=raw, content_type="application/json", HTTP_X_HUB_SIGNATURE_256=good
        )
    assert answer.status_code == 200 and not InboundEvent.objects.exists()


def test_status_callbacks_mark_the_delivery_sent_or_failed_with_the_reason(linked, agent):
    post_webhook(fg.inbound(fg.text("help", wamid="wamid.S1")), secret=APP_SECRET)
    settle()
    ticket = Ticket.objects.get()
    agent.teams.add(ticket.team)
    check_add_message(ticket=ticket, author=agent, body="We are on it.")
    settle()
    delivery = OutboundDelivery.objects.get()
    assert delivery.status == DeliveryStatus.SENT and delivery.provider_id.startswith("wamid.")

    def callback(state: str) -> str:
        post_webhook(fg.inbound(statuses=[fg.status(delivery.provider_id, state)]), secret=APP_SECRET)
        return OutboundDelivery.objects.get().status

    assert callback("sent") == DeliveryStatus.SENT
    assert callback("delivered") == DeliveryStatus.DELIVERED
    assert callback("sent") == DeliveryStatus.DELIVERED  # late or repeated: never backwards
    assert callback("read") == DeliveryStatus.READ
    assert callback("delivered") == DeliveryStatus.READ
    page = login(agent).get(
        reverse("tickets:workspace_ticket", args=[ticket.case_number]), HTTP_ACCEPT_LANGUAGE="en"
    )
    assert 'class="delivery delivery-read"' in page.content.decode()  # the agent sees it was read
    post_webhook(
        fg.inbound(statuses=[fg.status(delivery.provider_id, "failed", code=131047)]), secret=APP_SECRET
    )
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED and "24-hour" in delivery.last_error
    assert Message.objects.filter(ticket=ticket).count() == 2


def test_health_says_whether_the_graph_api_answers_for_the_number(graph, settings):
    from kefu.inbox.adapters.whatsapp import WhatsAppAdapter

    health = WhatsAppAdapter().health(inbox())
    assert health.ok and "Kefu Support" in health.detail and "GREEN" in health.detail
    settings.KEFU_WHATSAPP_ACCESS_TOKEN = "expired-token"
    health = WhatsAppAdapter().health(inbox())
    assert not health.ok and "code 190" in health.detail and "expired-token" not in health.detail
    settings.KEFU_WHATSAPP_APP_SECRET = ""
    assert not WhatsAppAdapter().health(inbox()).ok
