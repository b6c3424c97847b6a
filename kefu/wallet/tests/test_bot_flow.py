"""The bot's “充值未到账” flow with a tx hash ends in the chain's verdict (eth-tester)."""

from __future__ import annotations

import pytest

from kefu.bot.actions import do_handle_message
from kefu.bot.models import BotConversation
from kefu.conftest import make_user
from kefu.wallet.tests.support import add_address, uid_of

pytestmark = pytest.mark.django_db


def test_deposit_not_credited_with_a_tx_hash_reports_the_confirmations(eth):
    alice = make_user("alice@example.com")
    mine = eth.accounts[3]
    add_address(uid_of("alice@example.com"), mine)
    token = eth.chain.deploy_token()
    tx_hash = eth.chain.send_token(token, eth.accounts[0], mine, 25_000_000)
    eth.chain.mine(11)  # 12 of 64 confirmations

    conversation = None
    for text in ("我充值的USDT一直没到账", "ERC20", "25", "十分钟前", tx_hash):
        reply = do_handle_message(conversation=conversation, customer=alice, text=text, language="zh-hans")
        conversation = BotConversation.objects.get(public_id=reply.conversation_id)

    assert "12/64" in reply.text and "分钟" in reply.text
    assert conversation.state["diagnosis"] == "confirming"
    assert reply.quick_replies  # "did this solve it?"


def test_a_transfer_to_someone_elses_address_is_called_out(eth):
    alice = make_user("alice@example.com")
    add_address(uid_of("alice@example.com"), eth.accounts[3])
    token = eth.chain.deploy_token()
    tx_hash = eth.chain.send_token(token, eth.accounts[0], eth.accounts[5], 25_000_000)
    eth.chain.mine(70)

    reply = do_handle_message(
        conversation=None, customer=alice, text=f"my USDT deposit on ERC-20 never arrived, tx hash {tx_hash}",
        language="en",
    )
    conversation = BotConversation.objects.get(public_id=reply.conversation_id)
    while conversation.state.get("asking"):
        reply = do_handle_message(conversation=conversation, customer=alice, text="don't know", language="en")
        conversation.refresh_from_db()
    assert conversation.state["diagnosis"] == "not_yours"
    assert "not yours" in reply.text
