"""The Bitcoin client against a local Esplora server answering recorded, real-format responses."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from kefu.wallet.chain import ChainUnavailable, InvalidTxHash, lookup_transaction
from kefu.wallet.chain.esplora import EsploraChainClient
from kefu.wallet.records import DepositState
from kefu.wallet.tests.esplora_support import (
    BLOCK_HEIGHT,
    CONFIRMED_TXID,
    CUSTOMER_ADDRESS,
    MEMPOOL_TXID,
    SENDER_ADDRESS,
    STRANGER_ADDRESS,
    serve_esplora,
)
from kefu.wallet.tests.evm_support import closed_port_url, policy
from kefu.wallet.tests.support import add_address, add_deposit, uid_of


@pytest.fixture
def esplora(settings):
    with serve_esplora() as server:
        settings.KEFU_CHAIN_URLS = {"bitcoin": server.url}
        yield server


def test_a_confirmed_transaction_has_outputs_payment_and_confirmations(esplora):
    esplora.tip = BLOCK_HEIGHT + 5

    info = lookup_transaction("bitcoin", CONFIRMED_TXID)

    assert info.found and not info.pending and info.status == "success"
    assert info.confirmations == 6
    assert info.block_number == BLOCK_HEIGHT
    assert info.block_time == datetime(2024, 5, 8, 9, 10, 21, tzinfo=UTC)
    assert info.from_address == SENDER_ADDRESS
    # The output back to the sender (change) is not the payment.
    assert info.to_address == CUSTOMER_ADDRESS and info.value == Decimal("0.015")
    assert [(o.address, o.value) for o in info.outputs] == [
        (CUSTOMER_ADDRESS, Decimal("0.01500000")),
        (SENDER_ADDRESS, Decimal("0.00997180")),
    ]
    assert esplora.requests == [f"/tx/{CONFIRMED_TXID}", "/blocks/tip/height"]


def test_a_mempool_transaction_is_pending_without_asking_for_the_tip(esplora):
    info = lookup_transaction("bitcoin", MEMPOOL_TXID)
    assert info.found and info.pending and info.state == "pending" and info.confirmations == 0
    assert info.to_address == STRANGER_ADDRESS
    assert esplora.requests == [f"/tx/{MEMPOOL_TXID}"]


def test_an_unknown_txid_is_not_found(esplora):
    assert not lookup_transaction("bitcoin", "ab" * 32).found


@pytest.mark.parametrize("bad", ["ab" * 31, "zz" * 32, "0x" + "ab" * 32, ""])
def test_a_malformed_or_evm_style_txid_is_refused_before_any_request(esplora, bad):
    with pytest.raises(InvalidTxHash):
        lookup_transaction("bitcoin", bad)
    assert esplora.requests == []


def test_gateway_errors_are_retried(esplora):
    esplora.fail_next = 2
    assert lookup_transaction("bitcoin", CONFIRMED_TXID).found
    assert esplora.requests[:2] == [f"/tx/{CONFIRMED_TXID}"] * 2


def test_persistent_gateway_errors_make_bitcoin_unavailable(esplora):
    esplora.fail_next = 100
    with pytest.raises(ChainUnavailable) as excinfo:
        lookup_transaction("bitcoin", CONFIRMED_TXID)
    assert "502" in excinfo.value.reason


def test_an_unreachable_esplora_is_unavailable():
    waits: list[float] = []
    client = EsploraChainClient(closed_port_url(), policy=policy(backoff=1.0, sleep=waits.append))
    with pytest.raises(ChainUnavailable):
        client.get_transaction(CONFIRMED_TXID)
    assert waits == [1.0, 2.0]


@pytest.mark.django_db
def test_a_bitcoin_deposit_to_the_customer_is_confirming_then_awaiting_credit(esplora):
    from kefu.wallet.diagnosis import Verdict, diagnose

    uid = uid_of("alice@example.com")
    add_address(uid, CUSTOMER_ADDRESS, coin="BTC", network="Bitcoin")
    esplora.tip = BLOCK_HEIGHT  # 1 of 2 confirmations

    result = diagnose(tx_hash=CONFIRMED_TXID, uid=uid, coin="BTC", network="BTC", language="en")
    assert result.verdict == Verdict.CONFIRMING
    assert (result.confirmations, result.required_confirmations) == (1, 2)
    assert result.eta_minutes == 10
    assert "1/2 confirmations, expected in about 10 minutes" in result.message

    esplora.tip = BLOCK_HEIGHT + 1
    result = diagnose(tx_hash=CONFIRMED_TXID, uid=uid, coin="BTC", network="Bitcoin", refresh=True)
    assert result.verdict == Verdict.AWAITING_CREDIT


@pytest.mark.django_db
def test_a_bitcoin_deposit_held_by_the_wallet_is_held_for_review(esplora):
    from kefu.wallet.diagnosis import Verdict, diagnose

    uid = uid_of("alice@example.com")
    add_address(uid, CUSTOMER_ADDRESS, coin="BTC", network="Bitcoin")
    add_deposit(uid, CONFIRMED_TXID, status=DepositState.HELD, coin="BTC", network="Bitcoin")
    assert diagnose(tx_hash=CONFIRMED_TXID, uid=uid, coin="BTC").verdict == Verdict.HELD_FOR_REVIEW


@pytest.mark.django_db
def test_a_bitcoin_payment_to_someone_else_is_not_yours(esplora):
    from kefu.wallet.diagnosis import Verdict, diagnose

    uid = uid_of("alice@example.com")
    add_address(uid, CUSTOMER_ADDRESS, coin="BTC", network="Bitcoin")
    result = diagnose(tx_hash=MEMPOOL_TXID, uid=uid, coin="BTC", language="en")
    assert result.verdict == Verdict.NOT_YOURS
    assert any(STRANGER_ADDRESS in line for line in result.evidence)
