"""Fixtures for the wallet tests: eth-tester chains (in-process and over HTTP), customers with
wallet records, and no real node ever configured."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kefu.wallet.tests.evm_support import new_chain
from kefu.wallet.tests.support import Eth, install_chain

ENV_VARS = (
    "KEFU_ETH_RPC_URL",
    "KEFU_BSC_RPC_URL",
    "KEFU_POLYGON_RPC_URL",
    "KEFU_ARBITRUM_RPC_URL",
    "KEFU_OPTIMISM_RPC_URL",
    "KEFU_BTC_ESPLORA_URL",
    "KEFU_WALLET_API_URL",
    "KEFU_WALLET_API_TOKEN",
)


@pytest.fixture(autouse=True)
def _no_real_nodes(settings, monkeypatch, tmp_path):
    """Only the nodes a test installs answer; the demo wallet keeps its accounts in tmp_path."""
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
        setattr(settings, name, "")  # what settings.py read from a developer's environment
    # Users are made in most tests; Argon2 is slow by design and proves nothing here.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.KEFU_CHAIN_URLS = {}
    settings.KEFU_CHAIN_CONFIRMATIONS = {}
    settings.KEFU_CHAIN_BACKOFF = 0
    settings.KEFU_CHAIN_TIMEOUT = 2
    settings.KEFU_WALLET_BACKEND = "kefu.wallet.demo.DemoWalletBackend"
    settings.KEFU_WALLET_RECORDS = None
    settings.KEFU_WALLET_DEMO_FILE = str(tmp_path / "wallet-demo.json")
    from kefu.wallet.chain import evm

    evm._decimals_memo.clear()
    yield
    evm._decimals_memo.clear()


@pytest.fixture(scope="session")
def _web3_loaded() -> None:
    """Import web3 and eth-tester once (a few seconds) before the first chain is made."""
    new_chain()


@pytest.fixture(params=["inprocess", "http"])
def eth(request, _web3_loaded) -> Iterator[Eth]:
    """Ethereum on eth-tester: once through ``EthereumTesterProvider``, once over JSON-RPC HTTP."""
    yield from install_chain("ethereum", request.param)


@pytest.fixture
def eth_http(_web3_loaded) -> Iterator[Eth]:
    """Ethereum on eth-tester over JSON-RPC HTTP only (failure modes need the transport)."""
    yield from install_chain("ethereum", "http")
