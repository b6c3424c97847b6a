"""``kefu wallet diagnose``: JSON on stdout; 2 for bad input, 3 when the node cannot be reached."""

from __future__ import annotations

import argparse
import json

import pytest

from kefu.wallet import cli
from kefu.wallet.tests.evm_support import closed_port_url
from kefu.wallet.tests.support import add_address, uid_of


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="kefu")
    cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["wallet", *argv])
    return args.func(args)


@pytest.fixture
def rpc_env(eth_http, settings):
    """The node reachable only through ``KEFU_ETH_RPC_URL``, as the contract says."""
    from kefu.wallet.chain.registry import _overrides

    settings.KEFU_ETH_RPC_URL = eth_http.server.url
    installed = _overrides.pop("ethereum")
    yield eth_http
    _overrides["ethereum"] = installed


@pytest.mark.django_db
def test_diagnose_prints_the_contract_json(rpc_env, capsys):
    tx_hash = rpc_env.chain.send_eth(rpc_env.accounts[0], rpc_env.accounts[1], 10**18)
    rpc_env.chain.mine(2)

    assert run("diagnose", "--chain", "ethereum", "--tx", tx_hash) == 0

    data = json.loads(capsys.readouterr().out)
    assert data["found"] is True and data["status"] == "success" and data["confirmations"] == 3
    assert data["verdict"] == "confirming" and data["evidence"]
    assert rpc_env.server.requests  # it went over HTTP to KEFU_ETH_RPC_URL


@pytest.mark.django_db
def test_diagnose_with_a_customer_uses_their_records(rpc_env, capsys):
    mine = rpc_env.accounts[3]
    add_address(uid_of("alice@example.com"), mine, coin="ETH")
    tx_hash = rpc_env.chain.send_eth(rpc_env.accounts[0], rpc_env.accounts[4], 10**18)

    assert run("diagnose", "--chain", "eth", "--tx", tx_hash, "--customer", "alice@example.com") == 0

    data = json.loads(capsys.readouterr().out)
    assert data["verdict"] == "not_yours"


@pytest.mark.django_db
def test_an_unknown_hash_is_not_found(rpc_env, capsys):
    assert run("diagnose", "--chain", "ethereum", "--tx", "0x" + "42" * 32) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["found"], data["status"], data["confirmations"], data["verdict"]) == (
        False, None, None, "not_found"
    )  # fmt: skip


@pytest.mark.parametrize("bad", ["0x1234", "0x" + "q" * 64, "not-a-hash"])
def test_a_malformed_hash_exits_2_with_a_clear_error(bad, capsys):
    assert run("diagnose", "--chain", "ethereum", "--tx", bad) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "is not a valid ethereum transaction hash: expected 64 hexadecimal characters" in captured.err


def test_a_chain_without_a_node_exits_2(capsys):
    assert run("diagnose", "--chain", "bsc", "--tx", "0x" + "42" * 32) == 2
    assert "set KEFU_BSC_RPC_URL" in capsys.readouterr().err


def test_an_unknown_chain_exits_2(capsys):
    assert run("diagnose", "--chain", "dogechain", "--tx", "0x" + "42" * 32) == 2
    assert "unknown chain" in capsys.readouterr().err


@pytest.mark.django_db
def test_an_unreachable_node_prints_chain_unavailable_and_exits_3(settings, capsys):
    settings.KEFU_ETH_RPC_URL = closed_port_url()
    assert run("diagnose", "--chain", "ethereum", "--tx", "0x" + "42" * 32) == 3
    data = json.loads(capsys.readouterr().out)
    assert data["verdict"] == "chain_unavailable" and data["found"] is False


@pytest.mark.django_db
def test_demo_records_load_once(capsys, monkeypatch):
    from kefu.wallet.models import DemoDeposit, DemoDepositAddress, DemoWithdrawal

    # The test database is migrated already; the command's own migrate step is not under test.
    monkeypatch.setattr("django.core.management.call_command", lambda *args, **kwargs: None)
    assert run("demo") == 0
    assert "Demo wallet records" in capsys.readouterr().out
    assert run("demo") == 0
    assert capsys.readouterr().out == ""
    assert (DemoDepositAddress.objects.count(), DemoDeposit.objects.count(), DemoWithdrawal.objects.count()) == (
        9, 4, 4
    )  # fmt: skip
