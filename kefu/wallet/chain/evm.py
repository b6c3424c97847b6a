"""EVM chains (Ethereum, BSC, Polygon, ...) over standard JSON-RPC with web3.py.

Only standard ``eth_*`` methods are used, so any node or provider works: the hash is looked up
with ``eth_getTransactionByHash``; once mined, ``eth_getTransactionReceipt`` gives the status
and the logs (ERC-20 ``Transfer`` events), ``eth_blockNumber`` the tip for confirmations and
``eth_getBlockByNumber`` the block time. A token's decimals come from ``decimals()`` through
``eth_call`` and are remembered (they never change).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from eth_typing import HexStr

from kefu.wallet.chain.base import (
    RetryPolicy,
    TokenTransfer,
    TxInfo,
    check_hex64,
    with_retries,
)

if TYPE_CHECKING:
    from web3 import Web3

# keccak256("Transfer(address,address,uint256)")
TRANSFER_TOPIC = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
TRANSFER_SELECTOR = "a9059cbb"  # transfer(address,uint256)
DECIMALS_SELECTOR = "0x313ce567"  # decimals()
WEI = Decimal(10) ** 18

_decimals_memo: dict[tuple[str, str], int] = {}


def _hex(value: Any) -> str:
    """A hex string from web3's HexBytes, bytes or str."""
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    text = str(value)
    return text if text.startswith("0x") else "0x" + text


def _address_from_word(word: Any) -> str:
    from eth_utils import to_checksum_address

    return to_checksum_address("0x" + _hex(word)[-40:])


def import_web3() -> None:
    """Import web3 without its side effect on the whole process.

    py_ecc, which web3 imports, raises the interpreter's recursion limit to 100,000 at import.
    In a server that turns deeply nested input (a JSON body, a token header) from a clean
    RecursionError into a C stack overflow that kills the process: a 100,000-deep JSON body
    crashed ``kefu serve`` once a chain lookup had imported web3. Kefu never runs the EVM, so the
    limit is put back. Every web3 import in Kefu comes after this call.
    """
    if "web3" in sys.modules:
        return
    with _import_lock:
        limit = sys.getrecursionlimit()
        import web3  # noqa: F401

        sys.setrecursionlimit(limit)


_import_lock = threading.Lock()


def _retryable(exc: Exception) -> bool:
    """Transport trouble and server errors are worth another try; a 4xx is not."""
    import requests

    if isinstance(exc, requests.HTTPError):
        status = exc.response.status_code if exc.response is not None else 500
        return status >= 500 or status == 429
    if isinstance(exc, requests.RequestException | OSError | TimeoutError):
        return True
    import_web3()
    from web3.exceptions import Web3RPCError

    # A JSON-RPC error from the node (rate limit, "header not found" while syncing, ...).
    return isinstance(exc, Web3RPCError)


class EvmChainClient:
    """:class:`~kefu.wallet.chain.base.ChainClient` for one EVM chain."""

    def __init__(self, chain: str, w3: Web3, *, policy: RetryPolicy | None = None) -> None:
        self.chain = chain
        self.w3 = w3
        self.policy = policy or RetryPolicy()

    @classmethod
    def from_url(cls, chain: str, url: str, *, policy: RetryPolicy | None = None) -> EvmChainClient:
        """A client talking JSON-RPC over HTTP(S) to ``url``, with our timeouts and retries.

        web3's own retry loop is switched off: :func:`with_retries` retries every call the
        same way, with back-off, and turns the final failure into ``ChainUnavailable``.
        """
        import_web3()
        from web3 import HTTPProvider, Web3

        policy = policy or RetryPolicy()
        provider = HTTPProvider(
            url, request_kwargs={"timeout": policy.timeout}, exception_retry_configuration=None
        )
        return cls(chain, Web3(provider), policy=policy)

    def normalize_hash(self, tx_hash: str) -> str:
        return "0x" + check_hex64(tx_hash, chain=self.chain)

    def _call(self, fn: Callable[[], Any]) -> Any:
        return with_retries(fn, chain=self.chain, policy=self.policy, retryable=_retryable)

    def get_transaction(self, tx_hash: str) -> TxInfo:
        import_web3()
        from web3.exceptions import TransactionNotFound

        tx_hash = self.normalize_hash(tx_hash)
        eth = self.w3.eth
        now = datetime.now(UTC)

        def fetch_tx() -> Any:
            try:
                return eth.get_transaction(HexStr(tx_hash))
            except TransactionNotFound:
                return None

        tx = self._call(fetch_tx)
        if tx is None:
            return TxInfo(chain=self.chain, tx_hash=tx_hash, found=False, checked_at=now)
        to_address = tx.get("to")
        value = Decimal(int(tx.get("value") or 0)) / WEI
        block_number = tx.get("blockNumber")
        if block_number is None:
            return TxInfo(
                chain=self.chain,
                tx_hash=tx_hash,
                found=True,
                pending=True,
                confirmations=0,
                from_address=tx.get("from"),
                to_address=to_address,
                value=value,
                token_transfers=self._transfers_from_input(tx),
                checked_at=now,
            )

        def fetch_receipt() -> Any:
            try:
                return eth.get_transaction_receipt(HexStr(tx_hash))
            except TransactionNotFound:  # mined a moment ago; the node has not indexed it yet
                return None

        receipt = self._call(fetch_receipt)
        tip = int(self._call(lambda: eth.block_number))
        block = self._call(lambda: eth.get_block(block_number))
        block_time = datetime.fromtimestamp(int(block["timestamp"]), tz=UTC) if block else None
        status: Literal["success", "failed"] | None = None
        transfers: tuple[TokenTransfer, ...] = ()
        if receipt is not None:
            status = "success" if int(receipt.get("status", 1)) == 1 else "failed"
            transfers = self._transfers_from_logs(receipt.get("logs") or [])
        return TxInfo(
            chain=self.chain,
            tx_hash=tx_hash,
            found=True,
            pending=False,
            confirmations=max(0, tip - int(block_number) + 1),
            status=status,
            from_address=tx.get("from"),
            to_address=to_address,
            value=value,
            token_transfers=transfers,
            block_number=int(block_number),
            block_time=block_time,
            checked_at=now,
        )

    def _transfers_from_logs(self, logs: list[Any]) -> tuple[TokenTransfer, ...]:
        transfers = []
        for log in logs:
            topics = [_hex(t).lower() for t in (log.get("topics") or [])]
            # ERC-20 Transfer has from and to indexed (3 topics); ERC-721's also indexes the
            # token id (4 topics) and is not a fungible amount.
            if len(topics) != 3 or topics[0] != TRANSFER_TOPIC:
                continue
            data = _hex(log.get("data") or b"")
            raw = int(data, 16) if len(data) > 2 else 0
            contract = _address_from_word(log["address"])
            transfers.append(
                TokenTransfer(
                    contract=contract,
                    from_address=_address_from_word(topics[1]),
                    to_address=_address_from_word(topics[2]),
                    raw_amount=raw,
                    decimals=self.token_decimals(contract),
                )
            )
        return tuple(transfers)

    def _transfers_from_input(self, tx: Any) -> tuple[TokenTransfer, ...]:
        """A pending tx has no logs yet; a plain ``transfer(to, amount)`` call tells the same."""
        data = _hex(tx.get("input") or b"")[2:]
        if not tx.get("to") or len(data) != 8 + 64 * 2 or not data.startswith(TRANSFER_SELECTOR):
            return ()
        contract = _address_from_word(tx["to"])
        return (
            TokenTransfer(
                contract=contract,
                from_address=tx.get("from"),
                to_address=_address_from_word(data[8:72]),
                raw_amount=int(data[72:], 16),
                decimals=self.token_decimals(contract),
            ),
        )

    def token_decimals(self, contract: str) -> int | None:
        """The token's ``decimals()``, or None if the contract does not answer it."""
        key = (self.chain, contract.lower())
        if key in _decimals_memo:
            return _decimals_memo[key]
        try:
            result = self._call(lambda: self.w3.eth.call({"to": contract, "data": HexStr(DECIMALS_SELECTOR)}))
            raw = bytes(result)
            decimals = int.from_bytes(raw[-32:], "big") if len(raw) >= 32 else None
        except Exception:  # not a token, reverted, or the node is struggling: decimals unknown
            return None
        if decimals is None or decimals > 77:  # no answer, or not a plausible ERC-20
            return None
        # Only answers are remembered: a contract may not exist yet when first asked.
        _decimals_memo[key] = decimals
        return decimals
