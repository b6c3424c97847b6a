"""The demo records tell the demo tickets' stories, with realistic identifiers."""

from __future__ import annotations

import re

import pytest

from kefu.wallet import demo_records
from kefu.wallet.diagnosis import Verdict, diagnose
from kefu.wallet.records import DatabaseWalletRecords
from kefu.wallet.tests.support import uid_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def loaded():
    assert demo_records.load()
    assert demo_records.load() == []  # idempotent


def test_bobs_stuck_eth_withdrawal_is_held_for_security_review(loaded):
    result = diagnose(
        tx_hash=None, uid=uid_of("bob@example.com"), coin="ETH", network="ERC-20", kind="withdrawal"
    )
    assert result.verdict == Verdict.HELD_FOR_REVIEW


def test_alices_credited_deposit_is_credited_even_with_no_node(loaded):
    tx_hash = demo_records.demo_hash("alice-eth-1")
    result = diagnose(tx_hash=tx_hash, uid=uid_of("alice@example.com"), network="ERC-20")
    assert result.verdict == Verdict.CREDITED


def test_identifiers_look_real(loaded):
    records = DatabaseWalletRecords()
    addresses = {a.network: a for a in records.deposit_addresses(uid_of("alice@example.com"))}
    assert re.fullmatch(r"0x[0-9a-fA-F]{40}", addresses["ERC-20"].address)
    assert re.fullmatch(r"T[1-9A-HJ-NP-Za-km-z]{33}", addresses["TRC-20"].address)
    assert re.fullmatch(r"bc1q[02-9ac-hj-np-z]{38}", addresses["Bitcoin"].address)
    assert addresses["XRP"].address.startswith("r") and addresses["XRP"].memo
    assert all(
        re.fullmatch(r"(0x)?[0-9a-f]{64}", d.tx_hash) for d in records.deposits(uid_of("alice@example.com"))
    )
