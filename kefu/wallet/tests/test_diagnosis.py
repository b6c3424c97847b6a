"""Every verdict of the diagnosis, on eth-tester in-process and over JSON-RPC HTTP.

Given a customer with wallet records and a transaction on the chain, when the diagnosis runs,
then the verdict, the numbers and the evidence say what an agent would conclude by hand.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.utils import translation

from kefu.wallet.diagnosis import Verdict, diagnose, diagnose_for_bot
from kefu.wallet.records import DepositState, WithdrawalState
from kefu.wallet.tests.evm_support import closed_port_url
from kefu.wallet.tests.support import add_address, add_deposit, add_withdrawal, install_chain, uid_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice_uid(db) -> str:
    return uid_of("alice@example.com")


@pytest.fixture
def token(eth) -> str:
    return eth.chain.deploy_token()


def deposit_to(eth, token: str, receiver: str, raw: int = 25_000_000) -> str:
    return eth.chain.send_token(token, eth.accounts[0], receiver, raw)


def test_confirming_gives_the_count_and_an_estimate(eth, token, alice_uid):
    mine = eth.accounts[3]
    add_address(alice_uid, mine)
    tx_hash = deposit_to(eth, token, mine)
    eth.chain.mine(11)  # 12 confirmations of 64

    result = diagnose(tx_hash=tx_hash, uid=alice_uid, coin="USDT", network="ERC-20", language="en")

    assert result.verdict == Verdict.CONFIRMING
    assert (result.found, result.status) == (True, "success")
    assert (result.confirmations, result.required_confirmations) == (12, 64)
    assert result.eta_minutes == 11  # 52 blocks x 12 s
    assert result.message == "12/64 confirmations, expected in about 11 minutes."
    assert f"{mine} is your USDT deposit address on ERC-20." in result.evidence
    assert any("Token transfer of 25 " in line for line in result.evidence)


def test_a_pending_deposit_is_confirming_and_waiting_for_a_block(eth, token, alice_uid):
    mine = eth.accounts[3]
    add_address(alice_uid, mine)
    eth.chain.auto_mine(False)
    tx_hash = deposit_to(eth, token, mine)

    result = diagnose(tx_hash=tx_hash, uid=alice_uid, network="ERC-20", language="en")

    assert result.verdict == Verdict.CONFIRMING
    assert (result.status, result.confirmations) == ("pending", 0)
    assert result.message == "Waiting to be included in a block on Ethereum."


def test_enough_confirmations_but_no_credit_yet_is_awaiting_credit(eth, token, alice_uid, settings):
    settings.KEFU_CHAIN_CONFIRMATIONS = {"ethereum": 3}
    mine = eth.accounts[3]
    add_address(alice_uid, mine)
    tx_hash = deposit_to(eth, token, mine)
    eth.chain.mine(2)

    result = diagnose(tx_hash=tx_hash, uid=alice_uid, network="ERC-20")

    assert result.verdict == Verdict.AWAITING_CREDIT
    assert (result.confirmations, result.required_confirmations) == (3, 3)


def test_a_credited_record_is_credited(eth, alice_uid):
    mine = eth.accounts[3]
    add_address(alice_uid, mine, coin="ETH")
    tx_hash = eth.chain.send_eth(eth.accounts[0], mine, 10**17)
    add_deposit(alice_uid, tx_hash.upper().replace("0X", "0x"), status=DepositState.CREDITED, coin="ETH")

    result = diagnose(tx_hash=tx_hash, uid=alice_uid, network="ERC-20", language="en")

    assert result.verdict == Verdict.CREDITED
    assert result.found and result.confirmations == 1
    assert "Wallet record: deposit of 5 ETH, credited." in result.evidence


def test_a_transfer_to_someone_else_is_not_yours(eth, token, alice_uid):
    add_address(alice_uid, eth.accounts[3])
    stranger = eth.accounts[4]
    tx_hash = deposit_to(eth, token, stranger)

    result = diagnose(tx_hash=tx_hash, uid=alice_uid, network="ERC-20", language="en")

    assert result.verdict == Verdict.NOT_YOURS
    assert result.message == "Sent to an address that is not yours."
    assert f"{stranger}: not one of your deposit addresses." in result.evidence


@pytest.mark.parametrize("named_network", ["BEP-20", "ERC-20"])
def test_a_deposit_on_bsc_to_an_erc20_address_is_the_wrong_network(eth, alice_uid, named_network):
    """Whether the customer names BSC, or names ERC-20 and the hash is only on BSC."""
    bsc_fixture = install_chain("bsc", eth.mode)
    bsc = next(bsc_fixture)
    try:
        mine = eth.accounts[3]
        add_address(alice_uid, mine, network="ERC-20")
        token = bsc.chain.deploy_token()
        tx_hash = bsc.chain.send_token(token, bsc.accounts[0], mine, 10**6)

        result = diagnose(tx_hash=tx_hash, uid=alice_uid, coin="USDT", network=named_network, language="en")

        assert result.verdict == Verdict.WRONG_NETWORK
        assert result.chain == "bsc" and result.found
        assert result.message == "Sent on BSC to your ERC-20 address: the wrong network."
        if named_network == "ERC-20":
            assert "Not found on Ethereum, but found on BSC." in result.evidence
    finally:
        bsc_fixture.close()


def test_an_address_registered_for_both_networks_is_not_a_wrong_network(eth, alice_uid):
    bsc_fixture = install_chain("bsc", eth.mode)
    bsc = next(bsc_fixture)
    try:
        mine = eth.accounts[3]
        add_address(alice_uid, mine, network="ERC-20")
        add_address(alice_uid, mine, network="BEP-20")
        tx_hash = bsc.chain.send_eth(bsc.accounts[0], mine, 10**18)
        result = diagnose(tx_hash=tx_hash, uid=alice_uid, network="BEP-20")
        assert result.verdict == Verdict.CONFIRMING and result.required_confirmations == 15
    finally:
        bsc_fixture.close()


def test_a_deposit_to_a_shared_address_without_a_matched_memo_is_memo_missing(eth, alice_uid):
    shared = eth.accounts[5]
    add_address(alice_uid, shared, coin="ETH", memo="384721")
    tx_hash = eth.chain.send_eth(eth.accounts[0], shared, 10**18)

    result = diagnose(tx_hash=tx_hash, uid=alice_uid, network="ERC-20", language="en")

    assert result.verdict == Verdict.MEMO_MISSING
    assert result.message.startswith("Memo missing")
    assert any("384721" in line for line in result.evidence)


def test_a_matched_deposit_to_a_shared_address_is_not_memo_missing(eth, alice_uid):
    shared = eth.accounts[5]
    add_address(alice_uid, shared, coin="ETH", memo="384721")
    tx_hash = eth.chain.send_eth(eth.accounts[0], shared, 10**18)
    add_deposit(alice_uid, tx_hash, status=DepositState.CONFIRMING, coin="ETH")
    assert diagnose(tx_hash=tx_hash, uid=alice_uid, network="ERC-20").verdict == Verdict.CONFIRMING


def test_a_reverted_deposit_is_reverted(eth, token, alice_uid):
    mine = eth.accounts[3]
    add_address(alice_uid, mine)
    tx_hash = deposit_to(eth, token, mine, raw=2**130)

    result = diagnose(tx_hash=tx_hash, uid=alice_uid, network="ERC-20", language="en")

    assert result.verdict == Verdict.REVERTED
    assert result.status == "failed"
    assert result.message == "Reverted on chain: funds not moved."


def test_a_deposit_held_by_the_wallet_is_held_for_review(eth, token, alice_uid):
    mine = eth.accounts[3]
    add_address(alice_uid, mine)
    tx_hash = deposit_to(eth, token, mine)
    add_deposit(alice_uid, tx_hash, status=DepositState.HELD)
    assert diagnose(tx_hash=tx_hash, uid=alice_uid, network="ERC-20").verdict == Verdict.HELD_FOR_REVIEW


def test_a_withdrawal_in_security_review_is_held_for_review(alice_uid):
    add_withdrawal(alice_uid, status=WithdrawalState.REVIEWING)

    result = diagnose(tx_hash=None, uid=alice_uid, coin="ETH", kind="withdrawal", language="en")

    assert result.verdict == Verdict.HELD_FOR_REVIEW
    assert result.message == "Withdrawal held for security review."


class _Announcement(SimpleNamespace):
    def title_for(self, language):
        return self.title_en if (language or "").startswith("en") else self.title_zh


def _announce(monkeypatch, **fields):
    item = _Announcement(
        kind=fields.pop("kind", "maintenance"), body_en="", body_zh="", **fields
    )  # fmt: skip
    calls = []

    def fake(coin, network):
        calls.append((coin, network))
        return [item]

    monkeypatch.setattr("kefu.wallet.diagnosis._active_announcements", fake)
    return calls


def test_a_deposit_during_an_eth_deposit_pause_is_deposits_paused(eth, alice_uid, monkeypatch):
    calls = _announce(monkeypatch, title_en="ETH deposits paused for an upgrade", title_zh="ETH 充值暂停")
    mine = eth.accounts[3]
    add_address(alice_uid, mine, coin="ETH")
    tx_hash = eth.chain.send_eth(eth.accounts[0], mine, 10**18)

    result = diagnose(tx_hash=tx_hash, uid=alice_uid, coin="ETH", network="ERC-20", language="en")

    assert result.verdict == Verdict.DEPOSITS_PAUSED
    assert result.message == "Deposits of ETH are paused (announcement)."
    assert "Announcement: ETH deposits paused for an upgrade" in result.evidence
    assert calls == [("ETH", "ERC-20")]


def test_a_withdrawal_only_pause_does_not_stop_deposits(eth, alice_uid, monkeypatch):
    _announce(monkeypatch, title_en="ETH withdrawals paused", title_zh="ETH 提币暂停")
    mine = eth.accounts[3]
    add_address(alice_uid, mine, coin="ETH")
    tx_hash = eth.chain.send_eth(eth.accounts[0], mine, 10**18)
    assert diagnose(tx_hash=tx_hash, uid=alice_uid, coin="ETH").verdict == Verdict.CONFIRMING

    add_withdrawal(alice_uid, status=WithdrawalState.SUBMITTED)
    result = diagnose(tx_hash=None, uid=alice_uid, coin="ETH", kind="withdrawal")
    assert result.verdict == Verdict.WITHDRAWALS_PAUSED


def test_an_unknown_hash_is_not_found(eth, alice_uid):
    add_address(alice_uid, eth.accounts[3])
    result = diagnose(tx_hash="0x" + "12" * 32, uid=alice_uid, network="ERC-20", language="en")
    assert result.verdict == Verdict.NOT_FOUND
    assert result.message == "Not found on Ethereum: check the hash."
    assert (result.found, result.status, result.confirmations) == (False, None, None)


def test_an_unreachable_node_is_chain_unavailable(alice_uid, settings):
    settings.KEFU_CHAIN_URLS = {"ethereum": closed_port_url()}
    result = diagnose(tx_hash="0x" + "12" * 32, uid=alice_uid, network="ERC-20", language="en")
    assert result.verdict == Verdict.CHAIN_UNAVAILABLE
    assert result.message == "We cannot check the Ethereum network right now."
    assert "The Ethereum node did not answer." in result.evidence


def test_a_credited_record_survives_an_unreachable_node(alice_uid, settings):
    settings.KEFU_CHAIN_URLS = {"ethereum": closed_port_url()}
    tx_hash = "0x" + "34" * 32
    add_deposit(alice_uid, tx_hash, status=DepositState.CREDITED)
    assert diagnose(tx_hash=tx_hash, uid=alice_uid, network="ERC-20").verdict == Verdict.CREDITED


@pytest.mark.parametrize("bad", ["0x1234", "my hash is abc", "0x" + "z" * 64])
def test_a_malformed_hash_is_invalid_hash(eth, alice_uid, bad):
    result = diagnose(tx_hash=bad, uid=alice_uid, network="ERC-20", language="en")
    assert result.verdict == Verdict.INVALID_HASH
    assert "64 characters" in result.next_step


def test_a_withdrawal_sent_on_chain_is_broadcast_then_completed(eth, alice_uid, settings):
    tx_hash = eth.chain.send_eth(eth.accounts[0], eth.accounts[6], 10**18)
    add_withdrawal(alice_uid, status=WithdrawalState.BROADCAST, tx_hash=tx_hash)

    result = diagnose(tx_hash=tx_hash, uid=alice_uid, network="ERC-20", language="en")
    assert result.kind == "withdrawal"  # told apart by the wallet's records
    assert result.verdict == Verdict.WITHDRAWAL_BROADCAST
    assert result.message == "Your withdrawal was sent on Ethereum: 1/64 confirmations."

    settings.KEFU_CHAIN_CONFIRMATIONS = {"ethereum": 5}
    eth.chain.mine(4)
    result = diagnose(tx_hash=tx_hash, uid=alice_uid, network="ERC-20", refresh=True)
    assert result.verdict == Verdict.WITHDRAWAL_COMPLETED


def test_a_withdrawal_without_hash_looks_up_the_latest_unfinished_one(eth, alice_uid):
    add_withdrawal(alice_uid, status=WithdrawalState.COMPLETED, tx_hash="0x" + "aa" * 32)
    add_withdrawal(alice_uid, status=WithdrawalState.PROCESSING)

    result = diagnose(tx_hash=None, uid=alice_uid, coin="ETH", kind="withdrawal", language="en")

    assert result.verdict == Verdict.WITHDRAWAL_PENDING_INTERNAL
    assert result.message == "Your withdrawal is being processed and has not been sent on chain yet."


def test_a_failed_withdrawal_is_withdrawal_failed(alice_uid):
    add_withdrawal(alice_uid, status=WithdrawalState.FAILED)
    assert diagnose(tx_hash=None, uid=alice_uid, kind="withdrawal").verdict == Verdict.WITHDRAWAL_FAILED


def test_a_reverted_withdrawal_is_reverted(eth, alice_uid):
    token = eth.chain.deploy_token()
    tx_hash = eth.chain.send_token(token, eth.accounts[0], eth.accounts[6], 2**129)
    add_withdrawal(alice_uid, status=WithdrawalState.BROADCAST, tx_hash=tx_hash, coin="USDT")
    result = diagnose(tx_hash=tx_hash, uid=alice_uid, network="ERC-20", language="en")
    assert result.verdict == Verdict.REVERTED and result.kind == "withdrawal"
    assert "returned to your balance" in result.next_step


def test_no_withdrawal_on_record_is_no_withdrawal(alice_uid):
    assert diagnose(tx_hash=None, uid=alice_uid, kind="withdrawal").verdict == Verdict.NO_WITHDRAWAL


def test_a_network_kefu_cannot_check_is_unsupported_network(alice_uid):
    result = diagnose(tx_hash="ab" * 32, uid=alice_uid, coin="USDT", network="TRC-20", language="en")
    assert result.verdict == Verdict.UNSUPPORTED_NETWORK
    assert result.message == "We cannot check TRC-20 transactions automatically."


def test_a_deposit_question_without_a_hash_asks_for_it(alice_uid):
    assert diagnose(tx_hash=None, uid=alice_uid, coin="USDT").verdict == Verdict.NEEDS_TX_HASH


def test_a_deposit_question_without_a_hash_uses_the_open_deposit_on_record(eth, token, alice_uid):
    mine = eth.accounts[3]
    add_address(alice_uid, mine)
    tx_hash = deposit_to(eth, token, mine)
    add_deposit(alice_uid, tx_hash, status=DepositState.CONFIRMING, coin="USDT", network="ERC-20")
    result = diagnose(tx_hash=None, uid=alice_uid, coin="USDT")
    assert result.verdict == Verdict.CONFIRMING and result.tx_hash == tx_hash


def test_without_a_customer_only_the_chain_speaks(eth, settings):
    settings.KEFU_CHAIN_CONFIRMATIONS = {"ethereum": 1}
    tx_hash = eth.chain.send_eth(eth.accounts[0], eth.accounts[1], 10**18)
    result = diagnose(tx_hash=tx_hash, chain="ethereum", language="en")
    assert result.verdict == Verdict.CONFIRMED
    assert "Sent 1 ETH to " + eth.accounts[1] + "." in result.evidence


def test_a_bare_hash_with_no_network_is_looked_for_on_every_configured_chain(eth, alice_uid):
    add_address(alice_uid, eth.accounts[3], coin="ETH")
    tx_hash = eth.chain.send_eth(eth.accounts[0], eth.accounts[3], 10**18)
    result = diagnose(tx_hash=tx_hash.removeprefix("0x"), uid=alice_uid)
    assert result.verdict == Verdict.CONFIRMING and result.chain == "ethereum"


def test_the_message_is_in_the_customers_language(eth, token, alice_uid):
    mine = eth.accounts[3]
    add_address(alice_uid, mine)
    tx_hash = deposit_to(eth, token, mine, raw=2**130)

    with translation.override("en"):
        result = diagnose(tx_hash=tx_hash, uid=alice_uid, network="ERC-20", language="zh-hans")
        assert translation.get_language() == "en"  # the customer's language did not leak out

    with translation.override("zh-hans"):
        assert result.message == translation.gettext("Reverted on chain: funds not moved.")
        assert result.next_step == translation.gettext(
            "Nothing reached your account. Ask the sender to send it again; the failed "
            "transaction's network fee is not refunded."
        )


def test_the_bot_hook_resolves_the_signed_in_customer(eth, token):
    from kefu.conftest import make_user

    alice = make_user("alice@example.com")
    mine = eth.accounts[3]
    add_address(uid_of(alice.email), mine)
    tx_hash = deposit_to(eth, token, mine)

    result = diagnose_for_bot(customer=alice, coin="USDT", network="ERC-20", tx_hash=tx_hash, language="en")
    assert result.verdict == Verdict.CONFIRMING

    guest = diagnose_for_bot(customer=None, coin="USDT", network="ERC-20", tx_hash=tx_hash, language="en")
    assert guest.verdict == Verdict.CONFIRMING and not any("your USDT deposit" in e for e in guest.evidence)


def test_as_dict_has_the_contract_fields(eth):
    tx_hash = eth.chain.send_eth(eth.accounts[0], eth.accounts[1], 10**18)
    data = diagnose(tx_hash=tx_hash, chain="ethereum").as_dict()
    assert data["found"] is True and data["status"] == "success" and data["confirmations"] == 1
    assert data["verdict"] == "confirming" and isinstance(data["evidence"], list)
    assert data["tx"]["value"] == "1"
    import json

    json.dumps(data)
