"""Chat creation limits: starting chats and sending messages, per customer and per client IP,
across sockets (the per-socket token bucket alone is dodged by opening another socket)."""

from __future__ import annotations

import time
from contextlib import asynccontextmanager
from typing import Any

import pytest
from channels.db import database_sync_to_async

from kefu.chat.models import ChatConversation
from kefu.chat.tests.conftest import application, of_type, run_async

pytestmark = pytest.mark.django_db(transaction=True)

db = database_sync_to_async


@asynccontextmanager
async def socket(user=None, ip: str = "198.51.100.1"):
    from django.contrib.auth.models import AnonymousUser
    from django.contrib.sessions.backends.db import SessionStore

    from kefu.chat.tests.communicator import WebsocketCommunicator

    communicator = WebsocketCommunicator(application(), "/ws/chat/")
    communicator.scope["user"] = user or AnonymousUser()
    communicator.scope["session"] = SessionStore()
    communicator.scope["client"] = (ip, 50000)
    connected, _ = await communicator.connect()
    assert connected
    try:
        await communicator.send_json_to({"type": "hello", "language": "en"})
        await next_frame(communicator, of_type("welcome"))
        yield communicator
    finally:
        await communicator.disconnect()


async def next_frame(communicator, predicate, timeout: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        frame = await communicator.receive_json_from(timeout=max(0.1, deadline - time.monotonic()))
        if predicate(frame):
            return frame


def ack_or_error(client_id: str):
    return lambda f: f.get("type") in ("ack", "error") and f.get("client_id") == client_id


async def send(communicator, client_id: str, text: str = "hello") -> dict[str, Any]:
    await communicator.send_json_to({"type": "message", "client_id": client_id, "text": text})
    return await next_frame(communicator, ack_or_error(client_id))


def test_chat_messages_are_limited_per_customer_across_sockets(alice, settings):
    settings.KEFU_CHAT_MESSAGE_RATE = "3/600"
    run_async(_messages, alice)


async def _messages(alice):
    async with socket(alice) as first:
        assert [(await send(first, f"a{n}"))["type"] for n in range(3)] == ["ack"] * 3
        refused = await send(first, "a3")
        assert refused["code"] == "rate_limited" and "too quickly" in refused["detail"]
    async with socket(alice, ip="198.51.100.2") as second:  # a new socket, another address
        refused = await send(second, "b0")
        assert refused["type"] == "error" and refused["code"] == "rate_limited"


def test_starting_chats_is_limited_per_client_ip(settings):
    settings.KEFU_CHAT_START_RATE = "2/600"
    settings.KEFU_CREATE_IP_FACTOR = 1
    run_async(_starts)


async def _starts():
    for n in range(2):
        async with socket() as visitor:  # anonymous visitors: only the IP identifies them
            assert (await send(visitor, f"v{n}"))["type"] == "ack"
    async with socket() as visitor:
        refused = await send(visitor, "v2")
        assert refused["type"] == "error" and "many chats" in refused["detail"]
    async with socket(ip="192.0.2.7") as elsewhere:
        assert (await send(elsewhere, "w0"))["type"] == "ack"
    assert await db(ChatConversation.objects.count)() == 3
