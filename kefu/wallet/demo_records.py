"""Demo wallet records for the demo customers (alice@ and bob@example.com): idempotent.

Each case the diagnosis knows has an example: a credited deposit, one confirming, one held
for review, a shared-address coin with a memo, a completed withdrawal, one in security review
(Bob's demo ticket "withdrawal stuck in processing") and one not yet sent. Addresses and
hashes are derived from fixed labels, so they look real, are stable across runs, and belong
to nobody.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from kefu.wallet.demo import demo_uid
from kefu.wallet.models import (
    DemoDeposit,
    DemoDepositAddress,
    DemoWithdrawal,
    DepositStatus,
    WithdrawalStatus,
)

_BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def _digest(label: str) -> bytes:
    return hashlib.sha256(f"kefu-demo:{label}".encode()).digest()


def demo_hash(label: str, *, evm: bool = True) -> str:
    """A stable 64-hex transaction hash for ``label`` (``0x``-prefixed on EVM chains)."""
    value = _digest(label).hex()
    return "0x" + value if evm else value


def demo_evm_address(label: str) -> str:
    from eth_utils import to_checksum_address

    return to_checksum_address("0x" + _digest(label)[:20].hex())


def demo_tron_address(label: str) -> str:
    import base58

    return base58.b58encode_check(b"\x41" + _digest(label)[:20]).decode()


def demo_xrp_address(label: str) -> str:
    import base58

    return base58.b58encode_check(b"\x00" + _digest(label)[:20], alphabet=base58.XRP_ALPHABET).decode()


def _bech32_polymod(values: list[int]) -> int:
    generator = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
    checksum = 1
    for value in values:
        top = checksum >> 25
        checksum = (checksum & 0x1FFFFFF) << 5 ^ value
        for i in range(5):
            checksum ^= generator[i] if (top >> i) & 1 else 0
    return checksum


def demo_btc_address(label: str) -> str:
    """A valid-checksum native SegWit (P2WPKH, BIP-173) address for ``label``."""
    program = _digest(label)[:20]
    bits, acc, data = 0, 0, [0]  # witness version 0
    for byte in program:
        acc = (acc << 8) | byte
        bits += 8
        while bits >= 5:
            bits -= 5
            data.append((acc >> bits) & 31)
    if bits:
        data.append((acc << (5 - bits)) & 31)
    hrp = "bc"
    expanded = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    polymod = _bech32_polymod(expanded + data + [0] * 6) ^ 1
    checksum = [(polymod >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(_BECH32[d] for d in data + checksum)


def load() -> list[str]:
    """Create the demo records once; returns lines to print (none if they already exist)."""
    now = timezone.now()
    alice, bob = demo_uid("alice@example.com"), demo_uid("bob@example.com")
    if DemoDepositAddress.objects.filter(uid__in=(alice, bob)).exists():
        return []
    alice_evm, bob_evm = demo_evm_address("alice"), demo_evm_address("bob")
    with transaction.atomic():
        DemoDepositAddress.objects.bulk_create(
            [
                DemoDepositAddress(uid=alice, coin="ETH", network="ERC-20", address=alice_evm),
                DemoDepositAddress(uid=alice, coin="USDT", network="ERC-20", address=alice_evm),
                DemoDepositAddress(
                    uid=alice, coin="USDT", network="TRC-20", address=demo_tron_address("alice")
                ),
                DemoDepositAddress(
                    uid=alice, coin="BTC", network="Bitcoin", address=demo_btc_address("alice")
                ),
                # XRP deposits go to one shared address; the tag tells whose they are.
                DemoDepositAddress(
                    uid=alice, coin="XRP", network="XRP", address=demo_xrp_address("shared"), memo="384721"
                ),
                DemoDepositAddress(uid=bob, coin="USDT", network="ERC-20", address=bob_evm),
                DemoDepositAddress(uid=bob, coin="USDT", network="BEP-20", address=bob_evm),
                DemoDepositAddress(uid=bob, coin="ETH", network="ERC-20", address=bob_evm),
                DemoDepositAddress(uid=bob, coin="BTC", network="Bitcoin", address=demo_btc_address("bob")),
            ]
        )
        DemoDeposit.objects.bulk_create(
            [
                DemoDeposit(
                    uid=alice, coin="ETH", network="ERC-20", amount=Decimal("0.5"), address=alice_evm,
                    tx_hash=demo_hash("alice-eth-1"), status=DepositStatus.CREDITED,
                    created_at=now - timedelta(days=2, minutes=14), credited_at=now - timedelta(days=2),
                ),
                DemoDeposit(
                    uid=alice, coin="USDT", network="ERC-20", amount=Decimal("1200"), address=alice_evm,
                    tx_hash=demo_hash("alice-usdt-1"), status=DepositStatus.CONFIRMING,
                    created_at=now - timedelta(minutes=6),
                ),
                DemoDeposit(
                    uid=alice, coin="BTC", network="Bitcoin", amount=Decimal("0.015"),
                    address=demo_btc_address("alice"), tx_hash=demo_hash("alice-btc-1", evm=False),
                    status=DepositStatus.HELD, created_at=now - timedelta(hours=3),
                ),
                DemoDeposit(
                    uid=bob, coin="USDT", network="BEP-20", amount=Decimal("80"), address=bob_evm,
                    tx_hash=demo_hash("bob-usdt-1"), status=DepositStatus.CREDITED,
                    created_at=now - timedelta(days=5), credited_at=now - timedelta(days=5) + timedelta(minutes=2),
                ),
            ]
        )  # fmt: skip
        DemoWithdrawal.objects.bulk_create(
            [
                DemoWithdrawal(
                    uid=alice, coin="USDT", network="ERC-20", amount=Decimal("300"), fee=Decimal("4.5"),
                    address=demo_evm_address("alice-other-platform"), tx_hash=demo_hash("alice-wd-1"),
                    status=WithdrawalStatus.COMPLETED, created_at=now - timedelta(days=1, hours=2),
                    updated_at=now - timedelta(days=1, hours=1, minutes=40),
                ),
                DemoWithdrawal(
                    uid=alice, coin="USDT", network="TRC-20", amount=Decimal("150"), fee=Decimal("1"),
                    address=demo_tron_address("alice-friend"), status=WithdrawalStatus.PROCESSING,
                    created_at=now - timedelta(minutes=25), updated_at=now - timedelta(minutes=20),
                ),
                # Bob's demo ticket: "My ETH withdrawal has been 'processing' for 6 hours" — it is
                # in fact held for a security review (new address, large amount).
                DemoWithdrawal(
                    uid=bob, coin="ETH", network="ERC-20", amount=Decimal("1.2"), fee=Decimal("0.0008"),
                    address=demo_evm_address("bob-hardware-wallet"), status=WithdrawalStatus.REVIEWING,
                    created_at=now - timedelta(hours=6), updated_at=now - timedelta(hours=6),
                ),
                DemoWithdrawal(
                    uid=bob, coin="BTC", network="Bitcoin", amount=Decimal("0.05"), fee=Decimal("0.0001"),
                    address=demo_btc_address("bob-cold"), tx_hash=demo_hash("bob-btc-wd-1", evm=False),
                    status=WithdrawalStatus.BROADCAST, created_at=now - timedelta(minutes=40),
                    updated_at=now - timedelta(minutes=30),
                ),
            ]
        )  # fmt: skip
    return [
        "Demo wallet records: 9 deposit addresses, 4 deposits, 4 withdrawals (alice@, bob@example.com)",
    ]
