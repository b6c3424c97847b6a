"""Hostile frames on the chat sockets (kefu.inputs): an error frame, and the socket stays open."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async

from kefu.chat.models import Message
from kefu.chat.tests.conftest import of_type, receive_until, run_async, ws_client
from kefu.conftest import make_user

pytestmark = pytest.mark.django_db(transaction=True)

db = database_sync_to_async


async def still_open(client) -> None:
    await client.send_json_to({"type": "ping"})
    assert (await client.receive_json_from())["type"] == "pong"


def test_malformed_frames_get_an_error_frame_and_the_socket_stays(alice):
    run_async(_malformed_frames, alice)


async def _malformed_frames(alice):
    async with ws_client("/ws/chat/", alice) as customer:
        await customer.send_json_to({"type": "hello", "language": "en"})
        await receive_until(customer, of_type("welcome"))
        for text, detail in [
            ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
            ('{"type": "hello", "last_seq": 1e400}', "out of range"),
            ('{"type": "hello", "language": "en", "x": "\\ud800"}', "invalid character"),
        ]:
            await customer.send_text_to(text)
            frame = await customer.receive_json_from()
            assert frame["type"] == "error" and frame["code"] == "bad_json", frame
            assert detail in frame["detail"]
            await still_open(customer)
        # A message number of any shape or size is read as "from the start", never an overflow.
        for last_seq in [10**30, "١٢", [1], -5]:
            await customer.send_json_to(
                {
                    "type": "hello",
                    "language": "en",
                    "conversation_id": "0" * 32,
                    "last_seq": last_seq,
                    "resume_key": "ключ",
                }
            )
            assert (await receive_until(customer, of_type("welcome")))["conversation"] is None
        await customer.send_json_to({"type": "read", "seq": 10**30})
        await still_open(customer)


def test_a_non_ascii_resume_key_is_refused_not_a_crash():
    run_async(_non_ascii_resume_key)


async def _non_ascii_resume_key():
    async with ws_client("/ws/chat/") as visitor:
        await visitor.send_json_to({"type": "hello", "language": "en"})
        await receive_until(visitor, of_type("welcome"))
        await visitor.send_json_to({"type": "message", "client_id": "c1", "text": "hello"})
        created = (await receive_until(visitor, of_type("conversation")))["conversation"]
    async with ws_client("/ws/chat/") as stranger:
        await stranger.send_json_to({"type": "hello", "conversation_id": created["id"], "resume_key": "密钥"})
        assert (await receive_until(stranger, of_type("welcome")))["conversation"] is None


def test_nul_in_a_chat_message_is_stripped_and_the_message_kept(alice):
    run_async(_nul_in_a_chat_message, alice)


async def _nul_in_a_chat_message(alice):
    async with ws_client("/ws/chat/", alice) as customer:
        await customer.send_json_to({"type": "hello", "language": "en"})
        await receive_until(customer, of_type("welcome"))
        await customer.send_text_to(
            '{"type": "message", "client_id": "c1", "text": "my USDT\\u0000 is missing"}'
        )
        ack = await receive_until(customer, of_type("ack", client_id="c1"))
        assert ack["seq"] == 1
        await still_open(customer)
    texts = await db(lambda: list(Message.objects.filter(seq=1).values_list("body", flat=True)))()
    assert texts == ["my USDT is missing"]


def test_agent_frames_with_odd_numbers_get_an_answer(alice):
    run_async(_agent_frames)


async def _agent_frames():
    agent = await db(make_user)("g1@example.com", "agent", ("general",))
    async with ws_client("/ws/chat/agent/", agent) as staff:
        await staff.send_json_to({"type": "hello", "last_seqs": {"x": 1e300}})
        await receive_until(staff, of_type("welcome"))
        await staff.send_json_to({"type": "status", "capacity": "²"})
        await receive_until(staff, of_type("presence"))
        await staff.send_json_to({"type": "status", "capacity": 10**30})
        frame = await staff.receive_json_from()
        assert frame["type"] == "error" and frame["code"] == "invalid", frame
        await staff.send_json_to({"type": "ping"})
        await receive_until(staff, of_type("pong"))
