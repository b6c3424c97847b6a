"""The bot over HTTP: ``POST /api/v1/bot/messages``."""

from __future__ import annotations

import pytest
from django.test import Client

from kefu.conftest import bearer, login

pytestmark = pytest.mark.django_db


def test_bot_message_round_trip_keeps_the_conversation(alice):
    client = login(alice)
    first = client.post("/api/v1/bot/messages", {"text": "提币一直在处理中"}, content_type="application/json")
    assert first.status_code == 200
    body = first.json()
    assert body["intent"] in ("withdrawal_pending", "withdrawal_failed") and body["conversation_id"]
    second = client.post(
        "/api/v1/bot/messages",
        {"conversation_id": body["conversation_id"], "text": "转人工"},
        content_type="application/json",
    )
    handoff = second.json()["handoff"]  # nobody online for live chat: a ticket
    assert handoff["kind"] == "ticket" and handoff["case_number"].startswith("KF-")
    assert handoff["url"] == f"/portal/tickets/{handoff['case_number']}/"


def test_someone_elses_conversation_is_404(alice, bob):
    conversation = login(alice).post("/api/v1/bot/messages", {"text": "你好"}, content_type="application/json").json()[
        "conversation_id"
    ]
    response = bearer(bob).post(
        "/api/v1/bot/messages", {"conversation_id": conversation, "text": "hi"}, content_type="application/json"
    )
    assert response.status_code == 404


def test_empty_text_is_a_400_in_the_customers_language():
    response = Client(HTTP_ACCEPT_LANGUAGE="en").post(
        "/api/v1/bot/messages", {"text": "  "}, content_type="application/json"
    )
    assert response.status_code == 400 and response.json()["errors"]["text"] == ["Please type your question."]


def test_anonymous_session_calls_need_csrf():
    client = Client(enforce_csrf_checks=True)
    response = client.post("/api/v1/bot/messages", {"text": "hello"}, content_type="application/json")
    assert response.status_code == 403


def test_messages_are_rate_limited(settings, alice):
    settings.KEFU_BOT_RATE = (3, 60)
    client = login(alice)
    codes = [
        client.post("/api/v1/bot/messages", {"text": "你好"}, content_type="application/json").status_code
        for _ in range(5)
    ]
    assert codes == [200, 200, 200, 429, 429]


def test_with_live_chat_available_the_hand_off_says_where_to_continue(alice):
    """An agent online for the topic: the answer points to the queued chat, not to a ticket."""
    from kefu.chat.actions import do_set_presence
    from kefu.chat.models import ChatConversation
    from kefu.chat.selectors import clear_caches
    from kefu.conftest import make_user
    from kefu.tickets.models import VISIBLE_Q, Ticket

    do_set_presence(agent=make_user("g1@example.com", "agent", ("general",)), status="online")
    clear_caches()
    response = bearer(alice).post("/api/v1/bot/messages", {"text": "转人工"}, content_type="application/json")
    body = response.json()
    chat = ChatConversation.objects.get()
    handoff = body["handoff"]
    assert handoff["kind"] == "chat" and handoff["chat_id"] == chat.public_id.hex
    assert handoff["url"] == f"/portal/?kefu_chat={chat.public_id.hex}" and handoff["case_number"] is None
    assert handoff["position"] == 1 and Ticket.objects.filter(VISIBLE_Q).count() == 0
    # The chat panel opened from that link shows the chat to its customer only.
    page = login(alice).get(handoff["url"])
    assert page.status_code == 200 and 'id="kefu-bot"' in page.content.decode()
