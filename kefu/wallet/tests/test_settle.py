"""Settling an ambiguous 64-hex string: a transaction the chain knows, or the customer's leaked key."""

from __future__ import annotations

import pytest

from kefu.wallet.records import DepositState
from kefu.wallet.settle import evm_address_of_key, scan_settled, settle_hex
from kefu.wallet.tests.support import add_address, add_deposit, uid_of

pytestmark = pytest.mark.django_db

# eth-tester's first account has private key 1.
KEY_ONE = "00" * 31 + "01"


@pytest.fixture
def alice_uid(db) -> str:
    return uid_of("alice@example.com")


def test_a_key_derives_its_ethereum_address():
    assert evm_address_of_key(KEY_ONE) == "0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf"
    assert evm_address_of_key("0x" + KEY_ONE.upper()) == "0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf"
    assert evm_address_of_key("00" * 32) is None  # zero is no key
    assert evm_address_of_key("ff" * 32) is None  # beyond the curve order
    assert evm_address_of_key("not hex") is None


def test_a_value_deriving_the_customers_address_is_a_private_key(eth, alice_uid):
    add_address(alice_uid, eth.accounts[0].lower())  # stored in any case
    assert settle_hex(KEY_ONE, customer_uid=alice_uid) == "private_key"
    assert settle_hex("0x" + KEY_ONE, customer_uid=alice_uid) == "private_key"


def test_a_key_is_a_key_even_when_some_chain_has_a_transaction_with_that_hash(eth, alice_uid, monkeypatch):
    add_address(alice_uid, eth.accounts[0])
    monkeypatch.setattr(
        "kefu.wallet.settle.lookup_transaction", lambda *a, **k: pytest.fail("no lookup needed")
    )
    assert settle_hex(KEY_ONE, customer_uid=alice_uid) == "private_key"


def test_a_transaction_found_on_chain_is_a_tx_hash(eth, alice_uid):
    add_address(alice_uid, eth.accounts[3])
    tx_hash = eth.chain.send_eth(eth.accounts[0], eth.accounts[1], 1)
    assert settle_hex(tx_hash.removeprefix("0x"), customer_uid=alice_uid) == "tx_hash"
    assert settle_hex(tx_hash, customer_uid=None) == "tx_hash"


def test_a_hash_in_the_customers_records_is_a_tx_hash_without_any_chain(alice_uid):
    tx_hash = "9a" * 32
    add_deposit(alice_uid, tx_hash, status=DepositState.CREDITED)
    assert settle_hex(tx_hash.upper(), customer_uid=alice_uid) == "tx_hash"


def test_anything_else_is_unknown(eth, alice_uid):
    add_address(alice_uid, eth.accounts[3])
    assert settle_hex("3c" * 32, customer_uid=alice_uid) == "unknown"
    assert settle_hex("3c" * 31, customer_uid=alice_uid) == "unknown"
    # Someone else's key (not one of Alice's addresses) is not settled as hers.
    assert settle_hex(KEY_ONE, customer_uid=alice_uid) == "unknown"


def test_an_unreachable_chain_leaves_it_unknown(alice_uid, settings):
    from kefu.wallet.tests.evm_support import closed_port_url

    settings.KEFU_CHAIN_URLS = {"ethereum": closed_port_url()}
    assert settle_hex("3c" * 32, customer_uid=alice_uid) == "unknown"


def test_scanning_hides_a_leaked_key_and_keeps_a_found_transaction(eth, alice_uid):
    add_address(alice_uid, eth.accounts[0])
    tx_hash = eth.chain.send_eth(eth.accounts[0], eth.accounts[1], 1).removeprefix("0x")

    leaked = scan_settled(f"my tx hash is {KEY_ONE}", customer_uid=alice_uid, language="en")
    assert leaked.leaked_private_key
    assert (
        KEY_ONE not in leaked.result.redacted and "[hidden: possible private key]" in leaked.result.redacted
    )

    kept = scan_settled(f"here: {tx_hash}", customer_uid=alice_uid, language="en")
    assert not kept.leaked_private_key and kept.tx_hashes == (tx_hash,)
    assert tx_hash in kept.result.redacted and not kept.result.secret


def test_key_and_chain_checks_leave_the_recursion_limit_alone(tmp_path):
    """Importing web3 or eth_account raises the process's recursion limit to 100,000 (py_ecc),
    which turns deeply nested input into a crash; Kefu's key check and chain client must not.
    A fresh interpreter, since the test process has eth-tester loaded already."""
    import os
    import subprocess
    import sys

    code = (
        "import os, sys\n"
        "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'kefu.settings')\n"
        "import django; django.setup()\n"
        "before = sys.getrecursionlimit()\n"
        "from kefu.wallet.settle import evm_address_of_key\n"
        "assert evm_address_of_key('00' * 31 + '01') == '0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf'\n"
        "from kefu.wallet.chain.evm import EvmChainClient\n"
        "EvmChainClient.from_url('ethereum', 'http://127.0.0.1:9')\n"
        "print(before, sys.getrecursionlimit())\n"
    )
    env = {**os.environ, "KEFU_DATA_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    before, after = done.stdout.split()
    assert before == after
