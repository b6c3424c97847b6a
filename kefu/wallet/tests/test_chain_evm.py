"""The EVM chain client against eth-tester, in-process and over a real JSON-RPC HTTP server."""

from __future__ import annotations

from decimal import Decimal

import pytest

from kefu.wallet.chain import ChainUnavailable, InvalidTxHash, lookup_transaction
from kefu.wallet.chain.evm import EvmChainClient
from kefu.wallet.tests.evm_support import TOKEN_DECIMALS, closed_port_url, policy


def test_a_native_transfer_is_found_with_status_value_and_confirmations(eth):
    sender, receiver = eth.accounts[:2]
    tx_hash = eth.chain.send_eth(sender, receiver, 2 * 10**18)
    eth.chain.mine(4)

    info = lookup_transaction("ethereum", tx_hash)

    assert info.found and not info.pending
    assert info.status == "success" and info.state == "success"
    assert info.confirmations == 5
    assert info.from_address == sender and info.to_address == receiver
    assert info.value == Decimal(2)
    assert info.token_transfers == ()
    assert info.block_number == 1 and info.block_time is not None
    assert info.tx_hash == tx_hash.lower()


def test_an_erc20_transfer_reports_the_transfer_log_with_decimals(eth):
    sender, receiver = eth.accounts[:2]
    token = eth.chain.deploy_token()
    tx_hash = eth.chain.send_token(token, sender, receiver, 12_345_678)

    info = lookup_transaction("ethereum", tx_hash)

    assert info.status == "success" and info.value == 0
    (transfer,) = info.token_transfers
    assert transfer.contract == token
    assert (transfer.from_address, transfer.to_address) == (sender, receiver)
    assert transfer.raw_amount == 12_345_678 and transfer.decimals == TOKEN_DECIMALS
    assert transfer.amount == Decimal("12.345678")
    assert info.recipients() == [(receiver, Decimal("12.345678"), token)]


def test_a_reverted_token_transfer_is_failed_and_moves_nothing(eth):
    sender, receiver = eth.accounts[:2]
    token = eth.chain.deploy_token()
    tx_hash = eth.chain.send_token(token, sender, receiver, 2**130)  # the token reverts this

    info = lookup_transaction("ethereum", tx_hash)

    assert info.found and info.status == "failed" and info.state == "failed"
    assert info.token_transfers == ()


def test_a_pending_transaction_is_found_unmined_then_confirms_as_blocks_are_mined(eth):
    sender, receiver = eth.accounts[:2]
    token = eth.chain.deploy_token()
    eth.chain.auto_mine(False)
    tx_hash = eth.chain.send_token(token, sender, receiver, 7_000_000)

    pending = lookup_transaction("ethereum", tx_hash)
    assert pending.found and pending.pending and pending.state == "pending"
    assert pending.confirmations == 0 and pending.status is None and pending.block_number is None
    # No logs yet: the transfer is read from the call data.
    assert [(t.to_address, t.amount) for t in pending.token_transfers] == [(receiver, Decimal(7))]

    eth.chain.mine(1)
    assert lookup_transaction("ethereum", tx_hash, refresh=True).confirmations == 1
    eth.chain.mine(11)
    assert lookup_transaction("ethereum", tx_hash, refresh=True).confirmations == 12


def test_lookups_are_cached_until_refreshed(eth):
    sender, receiver = eth.accounts[:2]
    tx_hash = eth.chain.send_eth(sender, receiver, 1)
    assert lookup_transaction("ethereum", tx_hash).confirmations == 1
    eth.chain.mine(3)
    assert lookup_transaction("ethereum", tx_hash).confirmations == 1  # cached
    assert lookup_transaction("ethereum", tx_hash, refresh=True).confirmations == 4
    assert lookup_transaction("ethereum", tx_hash).confirmations == 4


def test_an_unknown_hash_is_not_found(eth):
    info = lookup_transaction("ethereum", "0x" + "ab" * 32)
    assert not info.found and info.state is None and info.confirmations is None


def test_a_hash_without_0x_or_in_capitals_is_accepted(eth):
    sender, receiver = eth.accounts[:2]
    tx_hash = eth.chain.send_eth(sender, receiver, 1)
    info = lookup_transaction("ethereum", tx_hash.removeprefix("0x").upper())
    assert info.found and info.tx_hash == tx_hash.lower()


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "0x1234",
        "0x" + "g" * 64,
        "0x" + "a" * 63,
        "0x" + "a" * 65,
        "hello world",
        "0x" + "a" * 64 + " extra",
    ],
)
def test_a_malformed_hash_is_refused_before_any_request(eth_http, bad):
    with pytest.raises(InvalidTxHash) as excinfo:
        lookup_transaction("ethereum", bad)
    assert "64 hexadecimal characters" in str(excinfo.value)
    assert eth_http.server is not None and eth_http.server.requests == []


def test_a_node_that_refuses_connections_is_unavailable_after_backing_off():
    waits: list[float] = []
    client = EvmChainClient.from_url(
        "ethereum", closed_port_url(), policy=policy(attempts=4, backoff=0.5, sleep=waits.append)
    )
    with pytest.raises(ChainUnavailable) as excinfo:
        client.get_transaction("0x" + "ab" * 32)
    assert excinfo.value.chain == "ethereum"
    assert "ConnectionError" in excinfo.value.reason
    assert waits == [0.5, 1.0, 2.0]  # exponential back-off between the four attempts


def test_server_errors_are_retried_and_a_later_answer_is_used(eth_http):
    server = eth_http.server
    sender, receiver = eth_http.accounts[:2]
    tx_hash = eth_http.chain.send_eth(sender, receiver, 1)
    server.fail_next = 2

    info = lookup_transaction("ethereum", tx_hash)

    assert info.found and info.status == "success"
    assert server.fail_next == 0  # both 500s were consumed by retries


def test_persistent_server_errors_make_the_chain_unavailable(eth_http):
    eth_http.server.fail_next = 100
    with pytest.raises(ChainUnavailable) as excinfo:
        lookup_transaction("ethereum", "0x" + "cd" * 32)
    assert "500" in excinfo.value.reason
    assert len(eth_http.server.requests) == 3  # KEFU_CHAIN_RETRIES default: three attempts


def test_a_client_error_is_not_retried(eth_http):
    eth_http.server.fail_next, eth_http.server.fail_status = 5, 403
    with pytest.raises(ChainUnavailable):
        lookup_transaction("ethereum", "0x" + "cd" * 32)
    assert len(eth_http.server.requests) == 1


def test_a_node_that_does_not_answer_in_time_is_unavailable(eth_http):
    import threading

    eth_http.server.hang = threading.Event()
    eth_http.server.hang.set()
    client = EvmChainClient.from_url("ethereum", eth_http.server.url, policy=policy(attempts=2, timeout=0.2))
    with pytest.raises(ChainUnavailable) as excinfo:
        client.get_transaction("0x" + "ef" * 32)
    assert "Timeout" in excinfo.value.reason


def test_a_json_rpc_error_makes_the_chain_unavailable(eth_http):
    class Broken:
        def handle(self, payload):
            return 200, {
                "jsonrpc": "2.0",
                "id": payload.get("id"),
                "error": {"code": -32005, "message": "limit"},
            }

    eth_http.server.handle = Broken().handle
    with pytest.raises(ChainUnavailable):
        lookup_transaction("ethereum", "0x" + "ef" * 32)


def test_the_chain_is_not_configured_without_a_url():
    from kefu.wallet.chain import ChainNotConfigured

    with pytest.raises(ChainNotConfigured) as excinfo:
        lookup_transaction("bsc", "0x" + "ab" * 32)
    assert "KEFU_BSC_RPC_URL" in str(excinfo.value)


def test_the_url_comes_from_the_environment_when_settings_have_none(eth_http, settings):
    """``KEFU_ETH_RPC_URL`` alone is enough (what the CLI contract promises)."""
    from kefu.wallet.chain import client_for
    from kefu.wallet.chain.registry import _overrides

    settings.KEFU_ETH_RPC_URL = eth_http.server.url  # as settings.py reads it from the environment
    installed = _overrides.pop("ethereum")
    try:
        client = client_for("ethereum")
        assert isinstance(client, EvmChainClient)
        sender, receiver = eth_http.accounts[:2]
        assert client.get_transaction(eth_http.chain.send_eth(sender, receiver, 1)).found
    finally:
        _overrides["ethereum"] = installed
