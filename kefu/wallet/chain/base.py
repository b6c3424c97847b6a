"""What every chain client returns and raises, and the retry loop they share.

A client answers one question — what does the chain say about this transaction hash — in one
shape, :class:`TxInfo`, whatever the chain. Errors are of two kinds only: the input cannot be a
hash on that chain (:class:`InvalidTxHash`, the customer's mistake, shown to them), or the node
could not answer (:class:`ChainUnavailable`, ours, shown as "cannot check right now").
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal, Protocol, TypeVar, runtime_checkable

logger = logging.getLogger("kefu.wallet.chain")

TxStatus = Literal["success", "failed"]


class ChainError(Exception):
    """Base of the errors a chain client raises."""


class ChainUnavailable(ChainError):
    """The node did not answer usefully: timeouts, refused connections, 5xx after retries.

    The message names the chain and the last error, for logs and agents; customers see a
    translated "cannot check right now" instead.
    """

    def __init__(self, chain: str, reason: str) -> None:
        super().__init__(f"{chain} node unavailable: {reason}")
        self.chain = chain
        self.reason = reason


class InvalidTxHash(ChainError, ValueError):
    """The text cannot be a transaction hash on this chain (wrong length, not hex, ...)."""


@dataclass(frozen=True)
class TokenTransfer:
    """One ERC-20 ``Transfer(from, to, value)`` event emitted by the transaction."""

    contract: str
    from_address: str
    to_address: str
    raw_amount: int
    decimals: int | None = None

    @property
    def amount(self) -> Decimal | None:
        """The amount in whole tokens, when the token's decimals are known."""
        if self.decimals is None:
            return None
        return Decimal(self.raw_amount).scaleb(-self.decimals)


@dataclass(frozen=True)
class TxOutput:
    """One output of a UTXO transaction (Bitcoin): who received how much, in whole coins."""

    address: str | None
    value: Decimal


@dataclass(frozen=True)
class TxInfo:
    """What a chain says about one transaction hash.

    ``found`` False means the node does not know the hash (never broadcast, dropped, or on
    another chain); every other field is then empty. A found transaction is ``pending`` until
    it is in a block (``confirmations`` 0, ``status`` None); once mined ``status`` says whether
    it succeeded (``"failed"``: reverted on an EVM chain — no value moved). ``value`` is the
    native amount in whole coins (ETH, BNB, BTC); token movements are in ``token_transfers``
    and, on Bitcoin, each output is in ``outputs``.
    """

    chain: str
    tx_hash: str
    found: bool
    pending: bool = False
    confirmations: int | None = None
    status: TxStatus | None = None
    from_address: str | None = None
    to_address: str | None = None
    value: Decimal | None = None
    token_transfers: tuple[TokenTransfer, ...] = ()
    outputs: tuple[TxOutput, ...] = ()
    block_number: int | None = None
    block_time: datetime | None = None
    checked_at: datetime | None = field(default=None, compare=False)

    @property
    def state(self) -> Literal["pending", "success", "failed"] | None:
        """``pending`` while unmined, then the status; None when not found."""
        if not self.found:
            return None
        if self.pending:
            return "pending"
        return self.status

    def recipients(self) -> list[tuple[str, Decimal | None, str | None]]:
        """Every (address, amount, token contract or None for the native coin) that received value."""
        out: list[tuple[str, Decimal | None, str | None]] = []
        if self.outputs:
            out.extend((o.address, o.value, None) for o in self.outputs if o.address)
        elif self.to_address and self.value:
            out.append((self.to_address, self.value, None))
        out.extend((t.to_address, t.amount, t.contract) for t in self.token_transfers)
        return out

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (Decimals and datetimes as strings)."""

        def convert(value: Any) -> Any:
            if isinstance(value, Decimal):
                return format(value.normalize(), "f") if value else "0"
            if isinstance(value, datetime):
                return value.isoformat()
            if isinstance(value, dict):
                return {k: convert(v) for k, v in value.items()}
            if isinstance(value, list | tuple):
                return [convert(v) for v in value]
            return value

        data = convert(asdict(self))
        for transfer, original in zip(data["token_transfers"], self.token_transfers, strict=True):
            transfer["amount"] = convert(original.amount)
        data["state"] = self.state
        return data


@runtime_checkable
class ChainClient(Protocol):
    """Looks transactions up on one chain. Implementations: EVM JSON-RPC, Esplora (Bitcoin)."""

    chain: str

    def normalize_hash(self, tx_hash: str) -> str:
        """The hash in the chain's canonical spelling; raises :class:`InvalidTxHash`."""
        ...

    def get_transaction(self, tx_hash: str) -> TxInfo:
        """What the chain says about ``tx_hash``; raises InvalidTxHash or ChainUnavailable."""
        ...


_HEX64 = re.compile(r"(?:0x)?[0-9a-f]{64}")


def check_hex64(tx_hash: str, *, chain: str) -> str:
    """``tx_hash`` lower-cased without ``0x`` if it is 64 hex digits; else :class:`InvalidTxHash`."""
    value = (tx_hash or "").strip().lower()
    if not _HEX64.fullmatch(value):
        shown = value if len(value) <= 80 else value[:77] + "..."
        raise InvalidTxHash(
            f"{shown!r} is not a valid {chain} transaction hash: expected 64 hexadecimal characters"
            + (" (optionally after 0x)" if chain != "bitcoin" else "")
            + f", got {len(value.removeprefix('0x'))} characters"
        )
    return value.removeprefix("0x")


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to ask a node again: ``attempts`` tries in all, waiting
    ``backoff``, ``2 x backoff``, ``4 x backoff`` ... seconds (capped at ``max_backoff``)."""

    attempts: int = 3
    backoff: float = 0.5
    max_backoff: float = 8.0
    timeout: float = 5.0
    sleep: Callable[[float], None] = time.sleep

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (0-based)."""
        return min(self.max_backoff, self.backoff * (2**attempt))


T = TypeVar("T")


def with_retries(
    call: Callable[[], T], *, chain: str, policy: RetryPolicy, retryable: Callable[[Exception], bool]
) -> T:
    """``call()``, retried with exponential back-off while ``retryable(error)``.

    Raises :class:`ChainUnavailable` once the attempts are spent or the error is not worth
    retrying (the node answered, but with something unusable).
    """
    last: Exception | None = None
    for attempt in range(max(1, policy.attempts)):
        try:
            return call()
        except (InvalidTxHash, ChainUnavailable):
            raise
        except Exception as exc:  # every transport error ends in ChainUnavailable
            last = exc
            if not retryable(exc):
                break
            if attempt + 1 < policy.attempts:
                wait = policy.delay(attempt)
                logger.info("%s: %s; retrying in %.2fs", chain, _describe(exc), wait)
                policy.sleep(wait)
    assert last is not None
    logger.warning("%s: giving up: %s", chain, _describe(last))
    raise ChainUnavailable(chain, _describe(last)) from last


def _describe(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}"[:300] if text else type(exc).__name__
