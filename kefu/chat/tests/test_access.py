"""Which chats a member of staff may open: one rule (``selectors.may_see``) behind every action."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async

from kefu.chat.models import ChatConversation, Message
from kefu.chat.tests.conftest import of_type, queued_chat, receive_until, run_async, ws_client
from kefu.conftest import make_user

pytestmark = pytest.mark.django_db(transaction=True)

db = database_sync_to_async


async def _frames_until_pong(client) -> list[dict]:
    """Everything the server answered before the pong to a ping sent now (frames are in order)."""
    await client.send_json_to({"type": "ping"})
    frames: list[dict] = []
    while True:
        frame = await receive_until(client, lambda f: True)
        if frame.get("type") == "pong":
            return frames
        frames.append(frame)


def _bot_stage_chat(customer) -> ChatConversation:
    from kefu.chat.actions import do_start_conversation

    return do_start_conversation(customer=customer, language="zh-hans")


def test_an_agent_cannot_touch_a_chat_still_with_the_bot(alice):
    run_async(_an_agent_cannot_touch_a_chat_still_with_the_bot, alice)


async def _an_agent_cannot_touch_a_chat_still_with_the_bot(alice):
    agent = await db(make_user)("outsider@example.com", "agent", ("tech",))
    supervisor = await db(make_user)("boss@example.com", "supervisor")
    chat = await db(_bot_stage_chat)(alice)
    cid = chat.public_id.hex
    async with ws_client("/ws/chat/agent/", agent) as staff:
        await staff.send_json_to({"type": "hello"})
        await receive_until(staff, of_type("welcome"))
        for frame in (
            {"type": "open", "conversation_id": cid},
            {"type": "context", "conversation_id": cid},
            {"type": "read", "conversation_id": cid, "seq": 5},
            {"type": "message", "conversation_id": cid, "client_id": "n1", "text": "note", "internal": True},
            {"type": "accept", "conversation_id": cid},
        ):
            await staff.send_json_to(frame)
            answers = await _frames_until_pong(staff)
            # The same answer as for a chat that does not exist: nothing about it leaks.
            assert [a.get("code") for a in answers if a.get("type") == "error"] == ["not_found"], frame
            assert not [a for a in answers if a.get("type") in ("chat", "context", "ack")], frame
    stored = await db(ChatConversation.objects.get)(pk=chat.pk)
    assert stored.agent_read_seq == 0 and stored.assignee_id is None
    assert not await db(Message.objects.filter(ticket_id=stored.ticket_id).exists)()
    # Supervisors oversee everything, the bot stage included.
    async with ws_client("/ws/chat/agent/", supervisor) as boss:
        await boss.send_json_to({"type": "hello"})
        await receive_until(boss, of_type("welcome"))
        await boss.send_json_to({"type": "open", "conversation_id": cid})
        assert (await receive_until(boss, of_type("chat")))["chat"]["id"] == cid


def test_a_queued_chat_is_visible_to_its_team_only(alice):
    run_async(_a_queued_chat_is_visible_to_its_team_only, alice)


async def _a_queued_chat_is_visible_to_its_team_only(alice):
    member = await db(make_user)("member@example.com", "agent", ("assets",))
    outsider = await db(make_user)("outsider@example.com", "agent", ("tech",))
    chat = await db(queued_chat)(alice)  # deposit_not_credited → assets
    assert chat.team_id is not None
    cid = chat.public_id.hex
    async with ws_client("/ws/chat/agent/", outsider) as staff:
        await staff.send_json_to({"type": "hello"})
        await receive_until(staff, of_type("welcome"))
        await staff.send_json_to({"type": "open", "conversation_id": cid})
        answers = await _frames_until_pong(staff)
        assert [a.get("code") for a in answers if a.get("type") == "error"] == ["not_found"]
    async with ws_client("/ws/chat/agent/", member) as staff:
        await staff.send_json_to({"type": "hello"})
        await receive_until(staff, of_type("welcome"))
        await staff.send_json_to({"type": "open", "conversation_id": cid})
        assert (await receive_until(staff, of_type("chat")))["chat"]["id"] == cid


def test_may_see_is_the_rule_of_queue_and_access(alice, db):
    """Unit view of the rule: a team-less chat becomes everyone's only once handed off."""
    from django.utils import timezone

    from kefu.chat import selectors
    from kefu.chat.models import ChatStatus

    agent = make_user("teamless@example.com", "agent", ("tech",))
    supervisor = make_user("boss2@example.com", "supervisor")
    chat = _bot_stage_chat(alice)
    assert not selectors.may_see(agent, chat) and not selectors.may_take(agent, chat)
    assert selectors.may_see(supervisor, chat)
    assert selectors.access_staff_conversation(agent, chat.public_id.hex) is None
    chat.status, chat.queued_at = ChatStatus.QUEUED, timezone.now()
    chat.save()
    assert selectors.may_see(agent, chat) and selectors.may_take(agent, chat)
    assert selectors.access_staff_conversation(agent, chat.public_id.hex) is not None
    assert not selectors.may_see(alice, chat)
