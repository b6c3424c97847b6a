"""The channel contract (kefu/inbox/tests/test_contract.py) for the web widget.

The widget is the one adapter whose messages do not go through the pipeline's durable inbound
events: live chat's consumers write the case's thread directly (its measured fast path), and a
message's ``client_id`` is its dedupe key. So the contract runs here, through the real consumer
(the ASGI communicator, database calls in their own threads: a transactional test), with the same
checks as for every other channel: a seed phrase and a private key are hidden everywhere and the
case goes to the security team; a re-sent message makes no duplicate; an agent's reply reaches
the customer on the widget (at once while connected, and in the history on return). The widget
sends nothing through the outbox, so the failed-send check does not apply (as for the portal).
"""

from __future__ import annotations

import logging

import pytest
from channels.db import database_sync_to_async
from django.urls import reverse

from kefu.accounts.models import Role
from kefu.chat.tests.conftest import of_type, receive_until, run_async, ws_client
from kefu.conftest import login, make_user
from kefu.inbox.tests.test_contract import PHRASE, WIF, _assert_hidden
from kefu.mail.tests.test_safety import everything_stored
from kefu.tickets.actions import check_add_message
from kefu.tickets.models import Message, Ticket

pytestmark = pytest.mark.django_db(transaction=True)

db = database_sync_to_async


def _case_of(customer) -> Ticket:
    case = Ticket.objects.filter(customer=customer).order_by("-pk").first()
    assert case is not None
    return case


async def _say(customer, text: str, client_id: str) -> dict:
    await customer.send_json_to({"type": "message", "client_id": client_id, "text": text})
    return await receive_until(customer, of_type("ack", client_id=client_id))


def test_a_seed_phrase_and_a_private_key_are_hidden_everywhere_and_go_to_security(alice, caplog):
    caplog.set_level(logging.DEBUG)
    security_agent = make_user("sec@kefu.example", Role.AGENT, teams=("security",))
    body = f"A support agent asked for my recovery words: {PHRASE}\nand my key {WIF}\nwhat now?"

    async def scenario() -> None:
        async with ws_client("/ws/chat/", alice) as customer:
            await customer.send_json_to({"type": "hello"})
            await receive_until(customer, of_type("welcome"))
            ack = await _say(customer, body, "s1")
            assert ack["secret_warning"]
            for secret in (PHRASE, WIF):
                _assert_hidden(secret, ack["text"])
            # The bot answers (and hands the case to people) before the customer leaves.
            await receive_until(customer, lambda f: f.get("type") == "message" and f["message"]["sender"] == "bot")

    run_async(scenario)
    ticket = _case_of(alice)
    assert ticket is not None and ticket.security_flag and ticket.team.slug == "security"
    page = login(security_agent).get(reverse("tickets:workspace_ticket", args=[ticket.case_number]))
    assert page.status_code == 200
    stored = everything_stored()
    for secret in (PHRASE, WIF):
        _assert_hidden(secret, stored)
        _assert_hidden(secret, caplog.text)
        _assert_hidden(secret, page.content.decode())
    assert Message.objects.filter(ticket=ticket, body__contains="what now?").exists()  # the rest is kept


def test_a_resent_message_makes_no_duplicate(alice):
    async def scenario() -> None:
        async with ws_client("/ws/chat/", alice) as customer:
            await customer.send_json_to({"type": "hello"})
            await receive_until(customer, of_type("welcome"))
            first = await _say(customer, "我的USDT充值还没到账", "once")
            # The connection dropped before the acknowledgement: the widget sends it again.
            again = await _say(customer, "我的USDT充值还没到账", "once")
            assert again["duplicate"] and again["seq"] == first["seq"]

    run_async(scenario)
    ticket = _case_of(alice)
    assert Message.objects.filter(ticket=ticket, body="我的USDT充值还没到账").count() == 1
    assert Ticket.objects.filter(customer=alice).count() == 1


def test_an_agents_reply_reaches_the_customer_on_the_widget(alice, agent):
    reply = "It was sent an hour ago: check TXID abc."

    async def scenario() -> None:
        async with ws_client("/ws/chat/", alice) as customer:
            await customer.send_json_to({"type": "hello"})
            await receive_until(customer, of_type("welcome"))
            await _say(customer, "转人工，我的提币一直没到", "h1")
            # No agent online: the bot opens the case to the team (a ticket), customer known.
            handed = await receive_until(
                customer,
                lambda f: f.get("type") == "message" and (f["message"].get("extra") or {}).get("handoff"),
            )
            ticket = await db(_case_of)(alice)
            await db(lambda: agent.teams.add(ticket.team))()
            # Answered from the ticket (the workspace, the API): pushed into the open chat.
            await db(check_add_message)(ticket=ticket, author=agent, body=reply)
            pushed = await receive_until(
                customer, lambda f: f.get("type") == "message" and f["message"]["sender"] == "agent"
            )
            assert pushed["message"]["text"] == reply
        # Back later, on a new connection (the widget keeps the conversation's id and the last
        # message number it showed): what came meanwhile is in the history it is given.
        async with ws_client("/ws/chat/", alice) as customer:
            await customer.send_json_to(
                {
                    "type": "hello",
                    "conversation_id": handed["conversation_id"],
                    "last_seq": handed["message"]["seq"],
                }
            )
            welcome = await receive_until(customer, of_type("welcome"))
            assert [m["text"] for m in welcome["history"] if m["sender"] == "agent"] == [reply]

    run_async(scenario)
