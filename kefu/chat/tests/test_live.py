"""The real server: uvicorn, the ASGI stack (origin check, session cookie), real WebSocket clients."""

from __future__ import annotations

import asyncio
import json
import re

import pytest

from kefu.chat.tests.conftest import (
    LiveASGIServer,
    of_type,
    run_async,
    set_online,
    ws_connect,
    ws_receive_until,
)
from kefu.conftest import make_user

pytestmark = pytest.mark.django_db(transaction=True)


def test_customer_and_agent_chat_through_the_real_server(asgi_server: LiveASGIServer, alice):
    agent = make_user("g1@example.com", "agent", ("general",))
    set_online(agent)

    async def scenario() -> None:
        customer = await ws_connect(asgi_server, "/ws/chat/", alice)
        staff = await ws_connect(asgi_server, "/ws/chat/agent/", agent)
        await staff.send(json.dumps({"type": "hello"}))
        await ws_receive_until(staff, of_type("welcome"))
        await customer.send(json.dumps({"type": "hello"}))
        welcome = await ws_receive_until(customer, of_type("welcome"))
        assert welcome["signed_in"] is True  # the session cookie made it through AuthMiddlewareStack
        await customer.send(json.dumps({"type": "message", "client_id": "c1", "text": "转人工"}))
        assigned = await ws_receive_until(staff, of_type("assigned"), timeout=20)
        await ws_receive_until(customer, lambda f: f.get("type") == "status" and f["status"] == "active")
        await staff.send(
            json.dumps(
                {
                    "type": "message",
                    "conversation_id": assigned["chat"]["id"],
                    "client_id": "a1",
                    "text": "您好",
                }
            )
        )
        reply = await ws_receive_until(
            customer, lambda f: f.get("type") == "message" and f["message"]["sender"] == "agent"
        )
        assert reply["message"]["text"] == "您好"
        await customer.close()
        await staff.close()

    run_async(scenario)


def test_a_foreign_origin_is_refused(asgi_server: LiveASGIServer, alice):
    from websockets.asyncio.client import connect
    from websockets.exceptions import InvalidStatus

    async def scenario() -> None:
        with pytest.raises(InvalidStatus):
            await connect(
                asgi_server.ws_url + "/ws/chat/", additional_headers={"Origin": "https://evil.example"}
            )

    run_async(scenario)


def test_embed_script_and_pages_are_served(asgi_server: LiveASGIServer):
    import httpx

    script = httpx.get(asgi_server.url + "/chat/embed.js")
    assert script.status_code == 200 and "kefu-bot" in script.text
    assert f"ws://127.0.0.1:{asgi_server.port}/ws/chat/" in script.text or "/ws/chat/" in script.text
    assert re.search(r"http://127\.0\.0\.1:\d+/static/kefu/bot-panel\.js", script.text)
    assert httpx.get(asgi_server.url + "/chat/hours/").status_code == 200


def test_bench_contract_line(asgi_server: LiveASGIServer):
    """``kefu bench chat`` against a running server: its last line has the agreed shape."""
    from kefu.chat.bench import run_bench, summary

    def bench() -> object:
        from django.db import connections

        try:
            return run_bench(urls=[asgi_server.url], clients=4, seconds=2, interval=0.5, agents=1)
        finally:
            connections.close_all()

    # In a thread of its own: the bench runs its own event loop (see ``run_async``).
    result = run_async(lambda: asyncio.to_thread(bench))
    line = summary(result)
    assert re.fullmatch(r"clients=4 messages=\d+ errors=0 p50_ms=[\d.]+ p99_ms=[\d.]+", line), line
    assert result.messages >= 4 and len(result.latencies) == result.messages
