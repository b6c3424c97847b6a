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
    assert second.json()["handoff"]["case_number"].startswith("KF-")


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
