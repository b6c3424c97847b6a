"""Bitcoin over the Esplora REST API (the open-source block explorer backend).

``GET /tx/:txid`` gives inputs, outputs and ``status`` (``confirmed``, ``block_height``,
``block_time``); ``GET /blocks/tip/height`` the tip, for confirmations. A hash Esplora does not
know answers 404. Any Esplora instance works, the operator's own or a hosted one.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from typing import TYPE_CHECKING, Any

from kefu.wallet.chain.base import (
    ChainUnavailable,
    InvalidTxHash,
    RetryPolicy,
    TxInfo,
    TxOutput,
    check_hex64,
    with_retries,
)

if TYPE_CHECKING:
    import httpx


SATOSHI = Decimal("0.00000001")


def bitcoin_txid(tx_hash: str, *, chain: str = "bitcoin") -> str:
    """The txid lower-cased; raises InvalidTxHash (an EVM-style ``0x`` hash is named as such)."""
    value = (tx_hash or "").strip()
    if value.lower().startswith("0x"):
        check_hex64(value, chain="ethereum")  # malformed either way: say what is wrong with it
        raise InvalidTxHash(f"{value[:80]!r} looks like an EVM transaction hash, not a {chain} txid")
    return check_hex64(value, chain=chain)


class _ServerError(Exception):
    """A 5xx or 429 answer, retried."""


def _retryable(exc: Exception) -> bool:
    import httpx  # on first use: ~5 MB kept out of every process's start-up
    return isinstance(exc, _ServerError | httpx.TransportError)


class EsploraChainClient:
    """:class:`~kefu.wallet.chain.base.ChainClient` for Bitcoin through an Esplora server."""

    def __init__(
        self,
        base_url: str,
        *,
        chain: str = "bitcoin",
        policy: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.chain = chain
        self.base_url = base_url.rstrip("/")
        self.policy = policy or RetryPolicy()
        self._transport = transport

    def normalize_hash(self, tx_hash: str) -> str:
        return bitcoin_txid(tx_hash, chain=self.chain)

    def _get(self, client: httpx.Client, path: str) -> httpx.Response | None:
        """GET ``path``; None on 404; retried on 5xx and transport errors."""

        def once() -> httpx.Response | None:
            response = client.get(path)
            if response.status_code == 404:
                return None
            if response.status_code >= 500 or response.status_code == 429:
                raise _ServerError(f"HTTP {response.status_code} from {path}")
            if response.status_code >= 400:
                raise ChainUnavailable(
                    self.chain, f"HTTP {response.status_code} from {path}: {response.text[:200]}"
                )
            return response

        return with_retries(once, chain=self.chain, policy=self.policy, retryable=_retryable)

    def get_transaction(self, tx_hash: str) -> TxInfo:
        import httpx  # on first use: ~5 MB kept out of every process's start-up
        txid = self.normalize_hash(tx_hash)
        now = datetime.now(UTC)
        with httpx.Client(
            base_url=self.base_url, timeout=self.policy.timeout, transport=self._transport
        ) as client:
            response = self._get(client, f"/tx/{txid}")
            if response is None:
                return TxInfo(chain=self.chain, tx_hash=txid, found=False, checked_at=now)
            data = self._json(response)
            status = data.get("status") or {}
            inputs = [
                ((vin.get("prevout") or {}).get("scriptpubkey_address"))
                for vin in data.get("vin") or []
                if not vin.get("is_coinbase")
            ]
            outputs = tuple(
                TxOutput(
                    address=vout.get("scriptpubkey_address"), value=Decimal(int(vout["value"])) * SATOSHI
                )
                for vout in data.get("vout") or []
            )
            # The payment is what went to addresses that did not fund the tx (the rest is change).
            paid = [o for o in outputs if o.address and o.address not in inputs] or [
                o for o in outputs if o.address
            ]
            found = partial(
                TxInfo,
                chain=self.chain,
                tx_hash=txid,
                found=True,
                from_address=next((a for a in inputs if a), None),
                to_address=paid[0].address if paid else None,
                value=sum((o.value for o in paid), Decimal(0)),
                outputs=outputs,
                checked_at=now,
            )
            if not status.get("confirmed"):
                return found(pending=True, confirmations=0)
            tip_response = self._get(client, "/blocks/tip/height")
            if tip_response is None:
                raise ChainUnavailable(self.chain, "no tip height")
            try:
                tip = int(tip_response.text.strip())
            except ValueError as exc:
                raise ChainUnavailable(self.chain, f"bad tip height {tip_response.text[:40]!r}") from exc
            height = int(status["block_height"])
            block_time = status.get("block_time")
            return found(
                pending=False,
                confirmations=max(0, tip - height + 1),
                # A Bitcoin transaction either is in a block or is not; it cannot revert.
                status="success",
                block_number=height,
                block_time=datetime.fromtimestamp(int(block_time), tz=UTC) if block_time else None,
            )

    def _json(self, response: httpx.Response) -> dict[str, Any]:
        try:
            data = response.json()
        except ValueError as exc:
            raise ChainUnavailable(self.chain, "the server answered something other than JSON") from exc
        if not isinstance(data, dict):
            raise ChainUnavailable(self.chain, "unexpected JSON from the server")
        return data
