"""A connection stays readable while its handler waits for a busy database.

The ASGI server reads a WebSocket's next frame only when the application asks for the next
event (uvicorn pauses reading the socket after each message). A consumer that asked only
after its handler had finished left the socket unread while the database was slow, so the
keepalive pings of both ends went unanswered and both closed the connection after 20 s — the
setup burst of ``kefu bench chat --clients 1000`` on PostgreSQL (docs/benchmarks.md).
"""

from __future__ import annotations

import asyncio
import threading

import pytest
from django.db import connections

from kefu.chat import dbcall
from kefu.chat.tests.conftest import of_type, receive_until, run_async, ws_client

pytestmark = pytest.mark.django_db(transaction=True)


def _database_threads() -> int:
    if connections["default"].vendor == "sqlite":
        return 1
    return dbcall.server_thread_count()


def test_frames_are_read_while_a_handler_waits_for_the_database(alice):
    run_async(_frames_are_read_while_a_handler_waits, alice)


async def _frames_are_read_while_a_handler_waits(alice):
    gate = threading.Event()
    async with ws_client("/ws/chat/", alice) as customer:
        # Every database thread of the consumers busy (as under a burst of hand-offs).
        busy = [asyncio.ensure_future(dbcall.db(gate.wait)()) for _ in range(_database_threads())]
        try:
            await customer.send_json_to({"type": "hello"})  # its handler now waits for a thread
            await customer.send_json_to({"type": "ping"})
            # The application keeps taking the socket's events (what lets the server read
            # on and answer keepalive pings), though the hello is not handled yet.
            for _ in range(500):
                if customer.input_queue.empty():
                    break
                await asyncio.sleep(0.01)
            assert customer.input_queue.empty(), "the socket was left unread while the handler waited"
            assert await customer.receive_nothing(timeout=0.1)  # nothing answered yet, in order
        finally:
            gate.set()
            await asyncio.gather(*busy)
        # Once the database is free, the frames are handled in the order they came.
        welcome = await receive_until(customer, lambda f: f.get("type") in ("welcome", "pong"))
        assert welcome["type"] == "welcome"
        await receive_until(customer, of_type("pong"))
