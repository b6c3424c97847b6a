"""One rule decides a 64-hex string by the field it was typed into (guard.scan_field), the same
at every entry point: the ticket API and form, the bot's tx-hash question, and the live chat.

In the tx-hash field a ``0x`` value or an explorer link is a hash; a bare 64-hex is settled
first (the customer's own key? found on the ticket's chain?) and hidden when nothing settles it.
"""

from __future__ import annotations

import pytest

from kefu.audit.models import AuditEvent
from kefu.bot.tests.support import Chat
from kefu.conftest import bearer
from kefu.tickets.models import MessageKind, Priority, Ticket

# eth-tester chains and an isolated demo wallet (the wallet tests' fixtures; autouse included).
from kefu.wallet.tests.conftest import _no_real_nodes, _web3_loaded, eth  # noqa: F401
from kefu.wallet.tests.support import add_address, uid_of

pytestmark = pytest.mark.django_db

HEX = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
KEY_PLACEHOLDER = "[hidden: possible private key]"
# Private key 1 and its Ethereum address (eth-tester's first account).
KEY_ONE = "00" * 31 + "01"
ADDRESS_ONE = "0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf"
NOTICE_EN = "We hid a 64-character hex string because it could be a private key."
NOTICE_ZH = "我们隐藏了一串 64 位十六进制字符，因为它可能是私钥。"


def api_ticket(customer, language: str = "en", **fields) -> Ticket:
    return Ticket.objects.get(case_number=api_post(customer, language, **fields)["case_number"])


def api_post(customer, language: str = "en", **fields) -> dict:
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
    response = bearer(customer, language).post("/api/v1/tickets", payload, content_type="application/json")
    assert response.status_code == 201, response.content
    return response.json()


@pytest.mark.parametrize(
    "value",
    [
        "0x" + HEX,
        "0X" + HEX.upper(),
        f"https://etherscan.io/tx/0x{HEX}",
        f"https://mempool.space/tx/{HEX}",
        f"https://tronscan.org/#/transaction/{HEX}",
    ],
)
def test_a_0x_hash_or_an_explorer_link_in_the_tx_hash_field_is_kept(alice, value):
    """No chain is configured here: these forms need none (the notice sends customers to them)."""
    ticket = api_ticket(alice, tx_hash=value)
    assert ticket.tx_hash == value and not ticket.security_flag


@pytest.mark.parametrize("value", [HEX, HEX.upper(), f"txid {HEX}"])
@pytest.mark.parametrize("language,notice", [("en", NOTICE_EN), ("zh-hans", NOTICE_ZH)])
def test_a_bare_64_hex_nothing_settles_is_hidden_with_a_notice(alice, value, language, notice):
    """TRC-20 has no chain client: a bare value could be a pasted private key, so it is hidden,
    and the customer is told, in their language, how to send a hash that is kept. It is not a
    security case: most such values are txids, and the ticket stays with its team."""
    out = api_post(alice, language, tx_hash=value, network="TRC-20")
    ticket = Ticket.objects.get(case_number=out["case_number"])
    assert HEX not in ticket.tx_hash.lower()
    assert not ticket.security_flag and ticket.priority == Priority.NORMAL
    assert ticket.team.slug != "security"
    assert out["secret_warning"].startswith(notice)
    assert ("0x" in out["secret_warning"]) and (
        "explorer" in out["secret_warning"] or "浏览器" in out["secret_warning"]
    )


def test_the_portal_form_hides_an_unsettled_bare_value_with_the_notice(alice, client):
    from kefu.tickets.models import Category

    client.force_login(alice)
    category = Category.objects.get(slug="deposit-not-credited")
    response = client.post(
        "/portal/new/",
        {
            "category": category.pk,
            "title": "USDT not credited",
            "description": "Sent 100 USDT.",
            "coin": "USDT",
            "network": "TRC-20",
            "amount": "100",
            "tx_hash": HEX,
            "order_number": "",
        },
        HTTP_ACCEPT_LANGUAGE="en",
        follow=True,
    )
    ticket = Ticket.objects.get(customer=alice)
    assert HEX not in ticket.tx_hash and not ticket.security_flag
    assert NOTICE_ZH in response.content.decode() or NOTICE_EN in response.content.decode()


def test_a_bare_key_of_the_customers_own_address_is_hidden_and_urgent(alice):
    """Local and certain before any chain: it derives Alice's deposit address, so it is her key."""
    add_address(uid_of(alice.email), ADDRESS_ONE)
    out = api_post(alice, tx_hash=KEY_ONE, network="ERC-20")
    ticket = Ticket.objects.get(case_number=out["case_number"])
    assert ticket.tx_hash == KEY_PLACEHOLDER
    assert ticket.security_flag and ticket.priority == Priority.URGENT and ticket.team.slug == "security"
    assert out["secret_warning"].startswith("Your message seemed to contain a private key")
    notes = list(ticket.messages.filter(kind=MessageKind.SYSTEM).values_list("body", flat=True))
    assert any("own deposit address" in n or "充值地址" in n for n in notes), notes
    event = AuditEvent.objects.get(action="ticket.secret_redacted", target_id=ticket.case_number)
    assert event.data.get("own_key") is True


def test_the_customers_own_key_is_hidden_even_with_0x_or_tx_words(alice):
    add_address(uid_of(alice.email), ADDRESS_ONE)
    ticket = api_ticket(alice, tx_hash="0x" + KEY_ONE, description=f"txid {KEY_ONE}", network="ERC-20")
    assert ticket.tx_hash == KEY_PLACEHOLDER and KEY_ONE not in ticket.description
    assert ticket.priority == Priority.URGENT


def test_a_bare_hash_found_on_the_tickets_chain_is_kept(alice, eth):  # noqa: F811
    sent = eth.chain.send_eth(eth.accounts[0], eth.accounts[1], 1).removeprefix("0x")
    out = api_post(alice, tx_hash=sent, network="ERC-20")
    ticket = Ticket.objects.get(case_number=out["case_number"])
    assert ticket.tx_hash == sent and not ticket.security_flag and out["secret_warning"] is None
    # Not found on that chain: hidden (a configured chain said no).
    assert api_ticket(alice, tx_hash=HEX, network="ERC-20").tx_hash == KEY_PLACEHOLDER


def test_the_bots_tx_hash_question_settles_a_bare_value_on_chain(alice, eth):  # noqa: F811
    sent = eth.chain.send_eth(eth.accounts[0], eth.accounts[1], 1).removeprefix("0x")
    chat = Chat(alice, language="en")
    chat.say("我充值的USDT还没到账")
    chat.say("ERC20")
    chat.say("200")
    reply = chat.say("两个小时前")
    assert "哈希" in reply.text or "hash" in reply.text.lower()
    reply = chat.say(sent)
    assert reply.secret_warning is None
    assert any(sent in t for t in chat.conversation.ticket.messages.values_list("body", flat=True))


def test_the_bots_tx_hash_question_hides_an_unsettled_bare_value_with_the_notice(alice):
    chat = Chat(alice, language="zh-hans")
    chat.say("我充值的USDT还没到账")
    chat.say("TRC20")
    chat.say("200")
    chat.say("两个小时前")
    reply = chat.say(HEX)
    assert reply.secret_warning and reply.secret_warning.startswith(NOTICE_ZH)
    assert "浏览器" in reply.text  # the question stays open: send the explorer link instead
    assert not any(HEX in t for t in chat.conversation.ticket.messages.values_list("body", flat=True))
    # Not a security case, as in the ticket form and API: a hand-off would not go to security.
    chat.conversation.refresh_from_db()
    assert not chat.conversation.state.get("secret_seen")
    link = f"https://tronscan.org/#/transaction/{HEX}"
    reply = chat.say(link)
    assert reply.secret_warning is None and chat.conversation.state["slots"]["tx_hash"] in (HEX, link)


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
    ticket = api_ticket(
        alice, tx_hash="0x" + HEX, order_number=HEX, description=f"see {HEX} and 0x{HEX[::-1]}"
    )
    assert ticket.tx_hash == "0x" + HEX
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
    turns = list(chat.conversation.ticket.messages.values_list("body", flat=True))
    assert not any(HEX in t for t in turns)
    assert any(KEY_PLACEHOLDER in t or "[已隐藏：疑似私钥]" in t for t in turns)


def _chat_to_the_hash_question(customer, network: str):
    from kefu.chat import actions as chat_actions

    chat = chat_actions.do_start_conversation(customer=customer, language="zh-hans")
    for n, text in enumerate(["我充值的USDT还没到账", network, "200", "两个小时前"]):
        post = chat_actions.check_customer_message(
            conversation=chat, customer=customer, client_id=f"c{n}", text=text
        )
    assert "哈希" in post.replies[-1].body or "hash" in post.replies[-1].body.lower()
    return chat


def test_the_live_chats_hash_answer_hides_an_unsettled_bare_value_with_the_notice(alice):
    from kefu.chat import actions as chat_actions
    from kefu.tickets.models import Message

    chat = _chat_to_the_hash_question(alice, "TRC20")
    post = chat_actions.check_customer_message(conversation=chat, customer=alice, client_id="h", text=HEX)
    assert HEX not in post.message.body and post.secret_warning.startswith(NOTICE_ZH)
    assert not Message.objects.filter(body__icontains=HEX).exists()


def test_a_hash_the_live_chat_settled_on_chain_reaches_the_ticket_filed_from_it(alice, eth):  # noqa: F811
    """The chat hand-off fields: the bot's settled tx hash is kept on the ticket filed at close,
    with no lookup under the close's lock."""
    from kefu.chat import actions as chat_actions
    from kefu.chat.models import ChatConversation
    from kefu.chat.tests.conftest import set_online
    from kefu.conftest import make_user

    set_online(make_user("agent1@example.com", "agent", ("assets",)))
    sent = eth.chain.send_eth(eth.accounts[0], eth.accounts[1], 1).removeprefix("0x")
    chat = _chat_to_the_hash_question(alice, "ERC20")
    post = chat_actions.check_customer_message(conversation=chat, customer=alice, client_id="h", text=sent)
    assert post.message.body == sent and post.secret_warning is None
    chat_actions.check_customer_message(conversation=chat, customer=alice, client_id="human", text="转人工")
    chat = ChatConversation.objects.get(pk=chat.pk)
    assert chat.status == "queued" and chat.ticket.status == "bot" and chat.slots["tx_hash"] == sent
    chat_actions.check_customer_close(conversation=chat, customer=alice)
    ticket = ChatConversation.objects.get(pk=chat.pk).ticket
    # (The transcript in its description follows the free-text rule: the bare line is hidden there.)
    assert ticket is not None and ticket.tx_hash == sent


class _WatchedClient:
    """The real eth-tester client, noting whether each lookup ran inside a database transaction."""

    def __init__(self, inner) -> None:
        self.inner, self.chain = inner, inner.chain
        self.in_transaction: list[bool] = []

    def normalize_hash(self, tx_hash: str) -> str:
        return self.inner.normalize_hash(tx_hash)

    def get_transaction(self, tx_hash: str):
        from django.db import connection

        self.in_transaction.append(connection.in_atomic_block)
        return self.inner.get_transaction(tx_hash)


@pytest.mark.django_db(transaction=True)
def test_chain_lookups_run_outside_any_write_transaction(eth):  # noqa: F811
    """SQLite has one write lock: the API, the bot and the live chat look up before they write."""
    from kefu.chat import actions as chat_actions
    from kefu.conftest import make_user
    from kefu.wallet.chain import client_for, use_client

    customer = make_user("carol@example.com")
    watched = _WatchedClient(client_for("ethereum"))
    sent = eth.chain.send_eth(eth.accounts[0], eth.accounts[1], 1).removeprefix("0x")
    with use_client("ethereum", watched):
        assert api_ticket(customer, tx_hash=sent, network="ERC-20").tx_hash == sent
        chat = _chat_to_the_hash_question(customer, "ERC20")
        other = eth.chain.send_eth(eth.accounts[0], eth.accounts[2], 1).removeprefix("0x")
        post = chat_actions.check_customer_message(
            conversation=chat, customer=customer, client_id="h", text=other
        )
        assert post.message.body == other
    assert watched.in_transaction and not any(watched.in_transaction)
