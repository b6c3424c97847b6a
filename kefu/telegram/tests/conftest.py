from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client as HttpClient

from kefu.telegram.tests.fakeapi import TOKEN, FakeBotApi

SECRET = "wh-secret-Zx81"


@pytest.fixture
def bot_api(settings):
    """The local Bot API server, and Kefu's Telegram settings pointing at it."""
    fake = FakeBotApi().start()
    settings.KEFU_TELEGRAM_BOT_TOKEN = TOKEN
    settings.KEFU_TELEGRAM_WEBHOOK_SECRET = SECRET
    settings.KEFU_TELEGRAM_API_URL = fake.url
    settings.KEFU_MAIL_RETRY_SECONDS = 30
    yield fake
    fake.stop()


def post_update(update, secret: str | None = SECRET):
    """POST /channels/telegram/webhook as Telegram does (its secret header, the Update's JSON)."""
    headers: dict[str, Any] = {"HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN": secret} if secret is not None else {}
    body = update if isinstance(update, bytes | str) else json.dumps(update)
    return HttpClient().post("/channels/telegram/webhook", body, content_type="application/json", **headers)


def settle() -> None:
    """What the worker does: queued jobs, then every due event and Telegram delivery."""
    from kefu.inbox import durable, pipeline
    from kefu.inbox.actions import send_delivery
    from kefu.inbox.models import DeliveryStatus, EventStatus, InboundEvent, OutboundDelivery
    from kefu.jobs.engine import drain

    drain()
    for pk in durable.due(InboundEvent, EventStatus.PENDING, limit=1000):
        pipeline.process(pk)
    for pk in durable.due(OutboundDelivery, DeliveryStatus.QUEUED, limit=1000, channel="telegram"):
        send_delivery(pk)
