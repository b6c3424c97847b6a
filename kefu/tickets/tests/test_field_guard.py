"""One rule decides a 64-hex string by the field it was typed into (guard.scan_field), the same
at every entry point: the ticket API and form, the bot's tx-hash question, and the live chat."""

from __future__ import annotations

import pytest

from kefu.bot.tests.support import Chat
from kefu.conftest import bearer
from kefu.tickets.models import Ticket

pytestmark = pytest.mark.django_db

HEX = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
KEY_PLACEHOLDER = "[hidden: possible private key]"


def api_ticket(customer, **fields) -> Ticket:
    payload = {
        "category": "deposit-not-credited",
        "title": "USDT not credited",
        "description": "Sent 100 USDT on TRC-20 two hours ago.",
        "coin": "usdt",
        "network": "TRC-20",
        "amount": "100",
        "tx_hash": "",
        "order_number": "",
    }
    payload.update(fields)
    response = bearer(customer, "en").post("/api/v1/tickets", payload, content_type="application/json")
    assert response.status_code == 201, response.content
    return Ticket.objects.get(case_number=response.json()["case_number"])


@pytest.mark.parametrize("value", [HEX, "0x" + HEX, HEX.upper()])
def test_a_64_hex_in_the_tx_hash_field_is_a_hash(alice, value):
    ticket = api_ticket(alice, tx_hash=value)
    assert ticket.tx_hash == value and not ticket.security_flag


@pytest.mark.parametrize(
    "value",
    [f"private key {HEX}", f"{HEX} is my private key", f"{HEX} 私钥", f"my pk: 0x{HEX}"],
)
def test_a_value_that_calls_itself_a_key_is_hidden_in_every_field(alice, value):
    """Key words in the value itself override the field, before or after the digits."""
    for field in ("tx_hash", "order_number"):
        ticket = api_ticket(alice, **{field: value})
        stored = getattr(ticket, field)
        assert HEX not in stored.lower() and KEY_PLACEHOLDER in stored, (field, stored)
        assert ticket.security_flag


def test_the_same_bare_value_elsewhere_is_hidden_by_the_free_text_rule(alice):
    """Order number, title, description: no field says "hash", so a bare 64-hex with no words
    around it is hidden as a possible key; a 0x one is kept as a likely EVM transaction hash."""
    ticket = api_ticket(alice, tx_hash=HEX, order_number=HEX, description=f"see {HEX} and 0x{HEX[::-1]}")
    assert ticket.tx_hash == HEX
    assert ticket.order_number == KEY_PLACEHOLDER
    assert ticket.description == f"see {KEY_PLACEHOLDER} and 0x{HEX[::-1]}"
    assert ticket.security_flag


def test_the_bots_tx_hash_question_uses_the_same_rule(alice):
    chat = Chat(alice, language="en")
    chat.say("我充值的USDT还没到账")
    chat.say("TRC20")
    chat.say("200")
    reply = chat.say("两个小时前")
    assert "哈希" in reply.text or "hash" in reply.text.lower()
    chat.say(f"{HEX} is my private key")  # the answer calls itself a key: hidden, and warned about
    turns = list(chat.conversation.turns.values_list("text", flat=True))
    assert not any(HEX in t for t in turns)
    assert any(KEY_PLACEHOLDER in t or "[已隐藏：疑似私钥]" in t for t in turns)
