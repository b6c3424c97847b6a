"""The customer's own records in the wallet: deposit addresses, deposits and withdrawals.

A chain says what happened to a transaction; only the wallet knows whether the address was
the customer's, whether the deposit was credited, and where a withdrawal stands before it
reaches the chain. :class:`WalletRecords` is that read-only interface. Implementations:

* :class:`DatabaseWalletRecords` — the demo tables in :mod:`kefu.wallet.models` (default);
* :class:`kefu.wallet.http_backend.HttpWalletBackend` — the operator's REST API as described by
  ``kefu/wallet/openapi/wallet-backend.yaml`` (it also implements ``WalletBackend``).

:func:`get_wallet_records` returns the configured one: ``KEFU_WALLET_RECORDS`` (a dotted path),
else the wallet backend itself when it implements this interface too, else the demo tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Protocol, runtime_checkable

from django.conf import settings
from django.utils.module_loading import import_string

DEFAULT_RECORDS = "kefu.wallet.records.DatabaseWalletRecords"


class DepositState(StrEnum):
    CONFIRMING = "confirming"  # seen on chain, not yet enough confirmations
    CREDITED = "credited"  # in the customer's balance
    HELD = "held"  # held for a compliance or security review
    FAILED = "failed"  # rejected (e.g. unsupported token); support handles it by hand


class WithdrawalState(StrEnum):
    SUBMITTED = "submitted"  # queued, not yet processed
    REVIEWING = "reviewing"  # held for a security or risk review
    PROCESSING = "processing"  # being signed and sent
    BROADCAST = "broadcast"  # sent; the chain decides from here
    COMPLETED = "completed"  # confirmed on chain
    FAILED = "failed"  # did not go through; funds back in the balance
    CANCELLED = "cancelled"  # cancelled by the customer or support; funds back in the balance


@dataclass(frozen=True)
class DepositAddress:
    """Where the customer deposits ``coin`` on ``network``; ``memo`` is the tag some chains need."""

    coin: str
    network: str
    address: str
    memo: str = ""


@dataclass(frozen=True)
class DepositRecord:
    id: str
    coin: str
    network: str
    amount: Decimal
    address: str
    tx_hash: str
    status: DepositState
    created_at: datetime
    memo: str = ""
    credited_at: datetime | None = None


@dataclass(frozen=True)
class WithdrawalRecord:
    id: str
    coin: str
    network: str
    amount: Decimal
    address: str
    tx_hash: str
    status: WithdrawalState
    created_at: datetime
    memo: str = ""
    fee: Decimal | None = None
    updated_at: datetime | None = None


@runtime_checkable
class WalletRecords(Protocol):
    """Read-only access to a customer's addresses and transfers, by wallet uid.

    ``tx_hash`` filters to records with that hash (any case, with or without ``0x``); without
    it, recent records come newest first (an implementation may cap how many). An unknown uid
    has no records. Failures raise :class:`kefu.wallet.backend.WalletBackendError`.
    """

    def deposit_addresses(self, uid: str) -> list[DepositAddress]: ...

    def deposits(self, uid: str, *, tx_hash: str | None = None) -> list[DepositRecord]: ...

    def withdrawals(self, uid: str, *, tx_hash: str | None = None) -> list[WithdrawalRecord]: ...


def hash_variants(tx_hash: str) -> list[str]:
    """The spellings a stored hash may have: as given, lower-case, with and without ``0x``."""
    value = tx_hash.strip()
    bare = value.lower().removeprefix("0x")
    return sorted({value, value.lower(), bare, "0x" + bare})


def same_hash(a: str, b: str) -> bool:
    """Whether two hashes are the same, ignoring case and ``0x``."""
    return bool(a and b) and a.strip().lower().removeprefix("0x") == b.strip().lower().removeprefix("0x")


RECENT_LIMIT = 50


class DatabaseWalletRecords:
    """:class:`WalletRecords` over the demo tables in :mod:`kefu.wallet.models`."""

    def deposit_addresses(self, uid: str) -> list[DepositAddress]:
        from kefu.wallet.models import DemoDepositAddress

        return [
            DepositAddress(coin=a.coin, network=a.network, address=a.address, memo=a.memo)
            for a in DemoDepositAddress.objects.filter(uid=uid)
        ]

    def deposits(self, uid: str, *, tx_hash: str | None = None) -> list[DepositRecord]:
        from kefu.wallet.models import DemoDeposit

        qs = DemoDeposit.objects.filter(uid=uid)
        if tx_hash:
            qs = qs.filter(tx_hash__in=hash_variants(tx_hash))
        return [
            DepositRecord(
                id=str(d.public_id),
                coin=d.coin,
                network=d.network,
                amount=d.amount,
                address=d.address,
                memo=d.memo,
                tx_hash=d.tx_hash,
                status=DepositState(d.status),
                created_at=d.created_at,
                credited_at=d.credited_at,
            )
            for d in qs[:RECENT_LIMIT]
        ]

    def withdrawals(self, uid: str, *, tx_hash: str | None = None) -> list[WithdrawalRecord]:
        from kefu.wallet.models import DemoWithdrawal

        qs = DemoWithdrawal.objects.filter(uid=uid)
        if tx_hash:
            qs = qs.filter(tx_hash__in=hash_variants(tx_hash))
        return [
            WithdrawalRecord(
                id=str(w.public_id),
                coin=w.coin,
                network=w.network,
                amount=w.amount,
                fee=w.fee,
                address=w.address,
                memo=w.memo,
                tx_hash=w.tx_hash,
                status=WithdrawalState(w.status),
                created_at=w.created_at,
                updated_at=w.updated_at,
            )
            for w in qs[:RECENT_LIMIT]
        ]


def get_wallet_records() -> WalletRecords:
    """The configured records: ``KEFU_WALLET_RECORDS``, else the backend if it has records, else demo."""
    path = settings.KEFU_WALLET_RECORDS
    if not path:
        from kefu.wallet.backend import get_wallet_backend

        backend = get_wallet_backend()
        if isinstance(backend, WalletRecords):
            return backend
        path = DEFAULT_RECORDS
    records = import_string(path)()
    if not isinstance(records, WalletRecords):
        raise TypeError(f"{path} does not implement WalletRecords")
    return records
