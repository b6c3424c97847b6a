"""Helpers for the wallet tests: chains installed as a named chain, customers' wallet records."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from kefu.wallet.tests.evm_support import Chain, RpcServer, new_chain, policy, serve_rpc


@dataclass
class Eth:
    """One eth-tester chain installed as ``name``, reached in-process or over HTTP."""

    chain: Chain
    mode: str
    name: str = "ethereum"
    server: RpcServer | None = None

    @property
    def accounts(self) -> list[str]:
        return self.chain.accounts


def install_chain(name: str, mode: str) -> Iterator[Eth]:
    """Yield an :class:`Eth` whose chain answers ``name`` lookups through the real client."""
    from kefu.wallet.chain import use_client
    from kefu.wallet.chain.evm import EvmChainClient

    chain = new_chain()
    if mode == "inprocess":
        with use_client(name, EvmChainClient(name, chain.w3, policy=policy())):
            yield Eth(chain=chain, mode=mode, name=name)
        return
    with serve_rpc(chain) as server:
        with use_client(name, EvmChainClient.from_url(name, server.url, policy=policy())):
            yield Eth(chain=chain, mode=mode, name=name, server=server)


# --- customers and their records ---------------------------------------------------------------


def uid_of(email: str) -> str:
    from kefu.wallet.diagnosis import uid_for

    uid = uid_for(email)
    assert uid
    return uid


def add_address(
    uid: str, address: str, *, coin: str = "USDT", network: str = "ERC-20", memo: str = ""
) -> Any:
    from kefu.wallet.models import DemoDepositAddress

    return DemoDepositAddress.objects.create(uid=uid, coin=coin, network=network, address=address, memo=memo)


def add_deposit(uid: str, tx_hash: str, *, status: str, coin: str = "USDT", network: str = "ERC-20",
                amount: str = "5", address: str = "") -> Any:  # fmt: skip
    from kefu.wallet.models import DemoDeposit

    return DemoDeposit.objects.create(
        uid=uid, coin=coin, network=network, amount=Decimal(amount), address=address, tx_hash=tx_hash,
        status=status,
    )  # fmt: skip


def add_withdrawal(uid: str, *, status: str, tx_hash: str = "", coin: str = "ETH", network: str = "ERC-20",
                   amount: str = "1", address: str = "0x" + "ab" * 20) -> Any:  # fmt: skip
    from kefu.wallet.models import DemoWithdrawal

    return DemoWithdrawal.objects.create(
        uid=uid, coin=coin, network=network, amount=Decimal(amount), address=address, tx_hash=tx_hash,
        status=status,
    )  # fmt: skip
