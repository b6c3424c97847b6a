"""WebSocket round trips through the consumers (the ASGI communicator, no network)."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async

from kefu.chat.models import ChatConversation, Message
from kefu.chat.tests.conftest import of_type, receive_until, run_async, set_online, ws_client
from kefu.conftest import make_user

pytestmark = pytest.mark.django_db(transaction=True)

db = database_sync_to_async


def from_sender(sender: str):
    return lambda f: f.get("type") == "message" and f["message"]["sender"] == sender


async def hello(client, **fields) -> dict:
    await client.send_json_to({"type": "hello", **fields})
    return await receive_until(client, of_type("welcome"))


def test_bot_first_then_the_queue_then_an_agent(alice):
    run_async(_bot_first_then_the_queue_then_an_agent, alice)


async def _bot_first_then_the_queue_then_an_agent(alice):
    """The customer talks to the bot, asks for a human, waits with a position, then chats with an agent."""
    agent = await db(make_user)("g1@example.com", "agent", ("general",))
    # Online (so live chat takes the hand-off) but busy with someone else: the customer waits.
    await db(set_online)(agent, capacity=1)
    from kefu.chat.tests.conftest import queued_chat

    await db(queued_chat)(await db(make_user)("bob@example.com"), intent="contact_human")
    async with ws_client("/ws/chat/", alice) as customer, ws_client("/ws/chat/agent/", agent) as staff:
        welcome = await hello(customer)
        assert welcome["conversation"] is None and welcome["hours"]["open"]
        await hello(staff)

        await customer.send_json_to({"type": "message", "client_id": "c1", "text": "转人工"})
        conversation = await receive_until(customer, of_type("conversation"))
        chat_id = conversation["conversation"]["id"]
        ack = await receive_until(customer, of_type("ack", client_id="c1"))
        assert ack["seq"] == 1 and ack["conversation_id"] == chat_id
        # The bot's hand-off queues this same conversation, then the bot says so.
        status = await receive_until(customer, of_type("status"))
        assert status["status"] == "queued" and status["team"] and not status["case_number"]
        queue = await receive_until(customer, of_type("queue"))
        assert queue["position"] == 1 and queue["agents_online"] == 1 and queue["eta_seconds"]
        bot = await receive_until(customer, from_sender("bot"))
        handoff = bot["message"]["extra"]["handoff"]
        assert handoff["kind"] == "chat" and handoff["chat_id"] == chat_id and handoff["position"] == 1

        # The agent sees the queue change and takes the chat (beyond their capacity).
        waiting = await receive_until(staff, lambda f: f.get("type") == "queue" and f["items"])
        assert [item["id"] for item in waiting["items"]] == [chat_id]
        await staff.send_json_to({"type": "accept", "conversation_id": chat_id})
        assigned = await receive_until(staff, of_type("assigned"))
        assert [m["text"] for m in assigned["chat"]["history"]][:1] == ["转人工"]
        status = await receive_until(
            customer, lambda f: f.get("type") == "status" and f["status"] == "active"
        )
        assert status["agent"]

        await staff.send_json_to({"type": "typing", "conversation_id": chat_id, "active": True})
        assert (await receive_until(customer, of_type("typing")))["active"] is True
        await staff.send_json_to(
            {"type": "message", "conversation_id": chat_id, "client_id": "a1", "text": "您好，我来帮您"}
        )
        await receive_until(staff, of_type("ack", client_id="a1"))
        reply = await receive_until(customer, from_sender("agent"))
        assert reply["message"]["text"] == "您好，我来帮您"

        await customer.send_json_to({"type": "read", "seq": reply["message"]["seq"]})
        read = await receive_until(staff, of_type("read"))
        assert read["by"] == "customer" and read["seq"] == reply["message"]["seq"]

        await customer.send_json_to({"type": "message", "client_id": "c2", "text": "谢谢"})
        incoming = await receive_until(staff, from_sender("customer"))
        assert incoming["message"]["text"] == "谢谢"


def test_internal_notes_never_reach_the_customer(alice):
    run_async(_internal_notes_never_reach_the_customer, alice)


async def _internal_notes_never_reach_the_customer(alice):
    agent = await db(make_user)("a1@example.com", "agent", ("assets",))
    colleague = await db(make_user)("a2@example.com", "agent", ("assets",))
    await db(set_online)(agent)
    from kefu.chat.tests.conftest import queued_chat

    chat = await db(queued_chat)(alice)
    async with ws_client("/ws/chat/", alice) as customer, ws_client("/ws/chat/agent/", colleague) as staff:
        await hello(customer, conversation_id=chat.public_id.hex)
        await hello(staff)
        await staff.send_json_to({"type": "open", "conversation_id": chat.public_id.hex})
        await receive_until(staff, of_type("chat"))
        await staff.send_json_to(
            {
                "type": "message",
                "conversation_id": chat.public_id.hex,
                "client_id": "n1",
                "text": "内部备注",
                "internal": True,
            }
        )
        await receive_until(staff, of_type("ack", client_id="n1"))
        # A colleague may not answer the customer in someone else's chat.
        await staff.send_json_to(
            {"type": "message", "conversation_id": chat.public_id.hex, "client_id": "n2", "text": "hi"}
        )
        assert (await receive_until(staff, of_type("error")))["code"] == "forbidden"
        agent_client = ws_client("/ws/chat/agent/", agent)
        async with agent_client as owner:
            await hello(owner)
            await owner.send_json_to(
                {
                    "type": "message",
                    "conversation_id": chat.public_id.hex,
                    "client_id": "m1",
                    "text": "公开回复",
                }
            )
            public = await receive_until(customer, from_sender("agent"))
        assert public["message"]["text"] == "公开回复"  # the note before it was skipped
        history = await hello(customer, conversation_id=chat.public_id.hex)
        assert "内部备注" not in [m["text"] for m in history["history"]]


def test_reconnect_resumes_without_losing_or_duplicating_messages(alice):
    run_async(_reconnect_resumes_without_losing_or_duplicating_messages, alice)


async def _reconnect_resumes_without_losing_or_duplicating_messages(alice):
    """Messages sent while the customer was away arrive once; a resent message is stored once."""
    agent = await db(make_user)("a1@example.com", "agent", ("assets",))
    await db(set_online)(agent)
    from kefu.chat.tests.conftest import queued_chat

    chat = await db(queued_chat)(alice, text="")
    cid = chat.public_id.hex
    async with ws_client("/ws/chat/agent/", agent) as staff:
        await hello(staff)
        async with ws_client("/ws/chat/", alice) as customer:
            welcome = await hello(customer, conversation_id=cid)
            await customer.send_json_to({"type": "message", "client_id": "c-1", "text": "第一条"})
            first = await receive_until(customer, of_type("ack", client_id="c-1"))
        last_seen = first["seq"]  # the connection drops here
        for n in range(3):
            await staff.send_json_to(
                {"type": "message", "conversation_id": cid, "client_id": f"a-{n}", "text": f"回复{n}"}
            )
            await receive_until(staff, of_type("ack", client_id=f"a-{n}"))

        async with ws_client("/ws/chat/", alice) as customer:
            welcome = await hello(customer, conversation_id=cid, last_seq=last_seen)
            assert [m["text"] for m in welcome["history"]] == ["回复0", "回复1", "回复2"]
            # The browser did not get the ack of "第二条" before the drop and sends it again.
            await customer.send_json_to({"type": "message", "client_id": "c-1", "text": "第一条"})
            again = await receive_until(customer, of_type("ack", client_id="c-1"))
            assert again["duplicate"] and again["seq"] == first["seq"]
    texts = await db(
        lambda: list(Message.objects.filter(ticket_id=chat.ticket_id).values_list("body", flat=True))
    )()
    assert texts.count("第一条") == 1 and texts.count("回复1") == 1
    assert welcome["conversation"]["last_seq"] >= last_seen + 3


def test_a_lost_event_is_filled_in_from_the_database(alice):
    run_async(_a_lost_event_is_filled_in_from_the_database, alice)


async def _a_lost_event_is_filled_in_from_the_database(alice):
    """If the channel layer drops a message event, the next one reveals the gap and the consumer repairs it."""
    agent = await db(make_user)("a1@example.com", "agent", ("assets",))
    await db(set_online)(agent)
    from kefu.chat import actions
    from kefu.chat.tests.conftest import queued_chat

    chat = await db(queued_chat)(alice, text="")
    async with ws_client("/ws/chat/", alice) as customer:
        await hello(customer, conversation_id=chat.public_id.hex)

        # Store a message without publishing it: as if its event had been dropped.
        def silent_message() -> None:
            from unittest import mock

            with mock.patch("kefu.chat.events.publish"):
                actions.check_agent_message(
                    conversation=chat, agent=agent, client_id="lost", text="丢失的消息"
                )

        await db(silent_message)()
        await db(actions.check_agent_message)(conversation=chat, agent=agent, client_id="next", text="下一条")
        first = await receive_until(customer, from_sender("agent"))
        second = await receive_until(customer, from_sender("agent"))
        assert [first["message"]["text"], second["message"]["text"]] == ["丢失的消息", "下一条"]


def test_anonymous_visitors_chat_with_the_bot_and_resume_only_with_their_key():
    run_async(_anonymous_visitors_chat_with_the_bot_and_resume_only_with_their_key)


async def _anonymous_visitors_chat_with_the_bot_and_resume_only_with_their_key():
    async with ws_client("/ws/chat/") as visitor:
        await hello(visitor)
        await visitor.send_json_to({"type": "message", "client_id": "v1", "text": "转人工"})
        created = (await receive_until(visitor, of_type("conversation")))["conversation"]
        bot = await receive_until(visitor, from_sender("bot"))
        # Nobody online for live chat: the case opens to the team at once, visitor unknown.
        assert bot["message"]["extra"]["handoff"]["kind"] == "ticket"
        assert not bot["message"]["extra"].get("needs_sign_in")
    async with ws_client("/ws/chat/") as stranger:
        welcome = await hello(stranger, conversation_id=created["id"])
        assert welcome["conversation"] is None  # the id alone is not enough
    async with ws_client("/ws/chat/") as visitor:
        welcome = await hello(
            visitor, conversation_id=created["id"], resume_key=created["resume_key"], last_seq=0
        )
        assert [m["text"] for m in welcome["history"]][0] == "转人工"
    status = await db(lambda: ChatConversation.objects.get(public_id=created["id"]).status)()
    assert status == "bot"


def test_customers_cannot_use_the_agent_socket_and_frames_are_validated(alice):
    run_async(_customers_cannot_use_the_agent_socket_and_frames_are_validated, alice)


async def _customers_cannot_use_the_agent_socket_and_frames_are_validated(alice):
    from kefu.chat.tests.communicator import WebsocketCommunicator
    from kefu.chat.tests.conftest import application

    communicator = WebsocketCommunicator(application(), "/ws/chat/agent/")
    communicator.scope["user"] = alice
    await communicator.connect()
    closed = await communicator.receive_output_frame()
    assert closed["type"] == "websocket.close" and closed["code"] == 4403
    async with ws_client("/ws/chat/", alice) as customer:
        await customer.send_text_to("not json")
        assert (await customer.receive_json_from())["code"] == "bad_json"
        await customer.send_json_to({"type": "message", "text": "hi"})
        assert (await customer.receive_json_from())["code"] == "hello_first"
        await hello(customer)
        await customer.send_json_to({"type": "nonsense"})
        assert (await customer.receive_json_from())["code"] == "unknown_type"
        await customer.send_json_to({"type": "message", "client_id": "x", "text": "  "})
        assert (await receive_until(customer, of_type("error")))["code"] == "invalid"


def test_agents_set_their_status_and_capacity(alice):
    run_async(_agents_set_their_status_and_capacity, alice)


async def _agents_set_their_status_and_capacity(alice):
    agent = await db(make_user)("a1@example.com", "agent", ("assets",))
    async with ws_client("/ws/chat/agent/", agent) as staff:
        welcome = await hello(staff)
        assert welcome["presence"]["status"] == "offline"
        await staff.send_json_to({"type": "status", "status": "online", "capacity": 5})
        presence = await receive_until(staff, of_type("presence"))
        assert presence["status"] == "online" and presence["capacity"] == 5
        from kefu.chat.tests.conftest import queued_chat

        await db(queued_chat)(alice)  # an agent online with a free slot gets it at once
        assigned = await receive_until(staff, of_type("assigned"))
        assert assigned["chat"]["customer"] == "alice@example.com"
        await staff.send_json_to({"type": "context", "conversation_id": assigned["chat"]["id"]})
        context = await receive_until(staff, of_type("context"))
        assert context["customer"]["email"] == "alice@example.com" and "tickets" in context
        await staff.send_json_to({"type": "close", "conversation_id": assigned["chat"]["id"]})
        closed = await receive_until(staff, lambda f: f.get("type") == "status" and f["status"] == "closed")
        assert closed["case_number"]


@pytest.mark.parametrize(
    ("verified", "idle_minutes", "code"),
    [(False, 0, 4401), (True, 0, None), (True, 45, 4401)],
    ids=["second-factor-missing", "signed-in", "idle-too-long"],
)
def test_the_agent_socket_enforces_the_staff_session_rules(verified, idle_minutes, code):
    """What the HTTP middleware enforces (2FA done, not idle 30 min) holds for the socket too."""
    from django.contrib.sessions.backends.db import SessionStore
    from django.utils import timezone

    from kefu.identity.middleware import LAST_SEEN_KEY
    from kefu.identity.twofactor import SESSION_VERIFIED_KEY

    agent = make_user("totp-agent@example.com", "agent", ("assets",))
    agent.totp_enabled = True
    agent.save(update_fields=["totp_enabled"])
    session = SessionStore()
    if verified:
        session[SESSION_VERIFIED_KEY] = True
    session[LAST_SEEN_KEY] = timezone.now().timestamp() - idle_minutes * 60
    session.save()
    assert run_async(_first_frame_on_agent_socket, agent, session) == code


async def _first_frame_on_agent_socket(agent, session):
    from kefu.chat.tests.communicator import WebsocketCommunicator
    from kefu.chat.tests.conftest import application

    communicator = WebsocketCommunicator(application(), "/ws/chat/agent/")
    communicator.scope["user"] = agent
    communicator.scope["session"] = session
    await communicator.connect()
    try:
        await communicator.send_json_to({"type": "hello"})
        frame = await communicator.receive_output_frame()
        return frame.get("code") if frame["type"] == "websocket.close" else None
    finally:
        await communicator.disconnect()
