"""A message added to a chat's case from the ticket side reaches the customer's open chat live."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async

from kefu.chat.tests.conftest import of_type, receive_until, run_async, ws_client
from kefu.chat.tests.test_writer import active_chat
from kefu.conftest import make_user
from kefu.tickets import actions as ticket_actions
from kefu.tickets.models import Channel, MessageKind, Ticket

pytestmark = pytest.mark.django_db(transaction=True)

db = database_sync_to_async


def reply_on_the_case(chat, agent, body: str, kind: str = MessageKind.PUBLIC) -> None:
    ticket = Ticket.objects.get(pk=chat.ticket_id)
    ticket_actions.check_add_message(ticket=ticket, author=agent, body=body, kind=kind, channel=Channel.AGENT)


def test_a_reply_written_in_the_ticket_view_appears_in_the_open_chat(alice):
    run_async(_reply_appears, alice)


async def _reply_appears(alice):
    agent = await db(make_user)("assets-agent@example.com", "agent", ("assets",))
    chat = await db(active_chat)(alice, agent)
    async with ws_client("/ws/chat/", alice) as customer:
        await customer.send_json_to({"type": "hello"})
        await receive_until(customer, of_type("welcome"))
        await db(reply_on_the_case)(chat, agent, "内部：查链上记录", MessageKind.INTERNAL)
        await db(reply_on_the_case)(chat, agent, "我们已经在链上查到这笔充值")
        frame = await receive_until(customer, of_type("message"))
        # The first message the customer is sent is the public reply: the note stayed with staff.
        assert frame["message"]["text"] == "我们已经在链上查到这笔充值"
        assert frame["message"]["sender"] == "agent"
