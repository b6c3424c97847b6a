"""Settle what an ambiguous 64-hex string is: a transaction hash, or a leaked private key.

The secret guard (:mod:`kefu.trust.guard`) decides most 64-hex strings from the words around
them; a bare one with no context is ambiguous. Two facts settle it:

* the customer's own deposit address derives from it (secp256k1 → Ethereum address): it is
  their **private key**, leaked — hide it and start the emergency flow;
* a chain (or the wallet's records) knows it as a transaction: it is a **tx hash** — keep it.

The key test comes first: it is local, certain, and must not be skipped because some chain
happens to have a transaction with that hash.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from kefu.trust import guard
from kefu.trust.guard import Finding, ScanResult
from kefu.wallet.chain import (
    ChainUnavailable,
    InvalidTxHash,
    RetryPolicy,
    chain_for_network,
    configured_chains,
    lookup_transaction,
)
from kefu.wallet.chain.specs import retry_policy
from kefu.wallet.records import WalletRecords, get_wallet_records

if TYPE_CHECKING:
    from kefu.accounts.models import User

logger = logging.getLogger("kefu.wallet.settle")

Settlement = Literal["tx_hash", "private_key", "unknown"]
_HEX64 = re.compile(r"(?:0[xX])?[0-9a-fA-F]{64}")
# secp256k1's group order: a valid private key is 1 <= k < n.
_SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def evm_address_of_key(value: str) -> str | None:
    """The Ethereum address whose private key is ``value`` (64 hex), or None if it cannot be a key."""
    if not _HEX64.fullmatch(value.strip()):
        return None
    number = int(value.strip().lower().removeprefix("0x"), 16)
    if not 0 < number < _SECP256K1_N:
        return None
    # eth_keys, not eth_account: importing eth_account (through py_ecc) raises the interpreter's
    # recursion limit to 100,000, which turns deeply nested input into a process crash
    # (kefu.wallet.chain.evm.import_web3 explains).
    from eth_keys import keys

    return keys.PrivateKey(number.to_bytes(32, "big")).public_key.to_checksum_address()


def settle_hex(value: str, *, customer_uid: str | None, records: WalletRecords | None = None) -> Settlement:
    """``"private_key"`` if it derives one of the customer's addresses, ``"tx_hash"`` if a chain or
    their records know it as a transaction, else ``"unknown"`` (also for anything not 64 hex).
    """
    if not _HEX64.fullmatch((value or "").strip()):
        return "unknown"
    bare = value.strip().lower().removeprefix("0x")
    if customer_uid:
        from kefu.wallet.backend import WalletBackendError

        try:
            source = records or get_wallet_records()
            addresses = source.deposit_addresses(customer_uid)
            derived = evm_address_of_key(bare)
            if derived and any(a.address.lower() == derived.lower() for a in addresses):
                return "private_key"
            known = source.deposits(customer_uid, tx_hash=bare) or source.withdrawals(
                customer_uid, tx_hash=bare
            )
            if known:
                return "tx_hash"
        except WalletBackendError:
            logger.warning("wallet records unavailable while settling a hex string", exc_info=True)
    for chain in configured_chains():
        try:
            if lookup_transaction(chain, bare).found:
                return "tx_hash"
        except (InvalidTxHash, ChainUnavailable):
            continue
    return "unknown"


# A bare 64-hex in a tx-hash field waits on this lookup before the customer's submission is
# stored: one try, briefly. Unanswered, the value stays unsettled and is hidden (safe side).
GUARD_LOOKUP_TIMEOUT = 3.0


def hex_facts(
    *, tx_hash: str = "", texts: Iterable[str] = (), customer: User | str | None = None, network: str | None = ""
) -> guard.HexFacts:
    """What settles the 64-hex strings of one submission, for :func:`kefu.trust.guard.scan_field`.

    ``tx_hash`` is the value of the tx-hash field (a ticket's, or the answer to the bot's
    question); ``texts`` every other field. In order, as in :func:`settle_hex`:

    1. a value (any field, any form) deriving one of ``customer``'s deposit addresses is their
       leaked private key (local and certain, so no chain is asked about it);
    2. a bare value of the tx-hash field in the customer's records is a transaction;
    3. a bare value of the tx-hash field is looked up on the chain of ``network`` (every
       configured chain when no network is named) with a short timeout: found or not found.

    Slow (wallet records, a node): call it before any database transaction — on SQLite a write
    transaction holds the one write lock. Whatever cannot be settled is left out, and the guard
    hides it.
    """
    field_candidates = guard.hex_candidates(tx_hash or "")
    other = [c for text in texts for c in guard.hex_candidates(text or "")]
    if not field_candidates and not other:
        return guard.HexFacts()
    keys: set[str] = set()
    found: set[str] = set()
    missing: set[str] = set()
    bare = {
        c.value
        for c in field_candidates
        if not c.prefixed and c.verdict != "private_key" and not guard._in_explorer_url(tx_hash, c.start)
    }
    uid = _uid_of(customer)
    if uid:
        from kefu.wallet.backend import WalletBackendError

        try:
            source = get_wallet_records()
            own = {a.address.lower() for a in source.deposit_addresses(uid)}
            for value in {c.value for c in [*field_candidates, *other]}:
                derived = evm_address_of_key(value) if own else None
                if derived and derived.lower() in own:
                    keys.add(value)
            for value in bare - keys:
                if source.deposits(uid, tx_hash=value) or source.withdrawals(uid, tx_hash=value):
                    found.add(value)
        except WalletBackendError:
            logger.warning("wallet records unavailable while settling a hex string", exc_info=True)
    pending = bare - keys - found
    if pending:
        chain = chain_for_network(network) if network else None
        configured = configured_chains()
        chains = ([chain] if chain in configured else []) if network else configured
        policy = RetryPolicy(attempts=1, backoff=0, timeout=min(retry_policy().timeout, GUARD_LOOKUP_TIMEOUT))
        for value in pending:
            answers = []
            for name in chains:
                try:
                    answers.append(lookup_transaction(name, value, policy=policy).found)
                except (InvalidTxHash, ChainUnavailable):
                    continue
            if any(answers):
                found.add(value)
            elif answers and len(answers) == len(chains):
                missing.add(value)  # every chain asked answered "no such transaction"
    return guard.HexFacts(tx_hashes=frozenset(found), not_tx_hashes=frozenset(missing), keys=frozenset(keys))


def _uid_of(customer: User | str | None) -> str | None:
    if customer is None:
        return None
    if isinstance(customer, str):
        return customer or None
    from kefu.wallet.diagnosis import uid_for

    return uid_for(customer)


@dataclass(frozen=True)
class SettledScan:
    """The guard's scan after chain facts, and whether a key of the customer's own leaked."""

    result: ScanResult
    leaked_private_key: bool
    tx_hashes: tuple[str, ...] = ()


def scan_settled(text: str, *, customer_uid: str | None, language: str = "zh-hans") -> SettledScan:
    """:func:`kefu.trust.guard.scan` with every 64-hex string settled by :func:`settle_hex`.

    A candidate settled as a tx hash is kept; one that derives the customer's address is hidden
    and reported as ``leaked_private_key`` (the caller starts the emergency flow). Candidates
    the guard already calls keys are checked too: a leak must be reported, not only hidden.
    """
    tx_hashes: list[str] = []
    keys: list[str] = []
    forced: list[Finding] = []
    for candidate in guard.hex_candidates(text):
        settled = settle_hex(candidate.value, customer_uid=customer_uid)
        if settled == "private_key":
            keys.append(candidate.value)
            if candidate.verdict == "tx_hash":
                # Words like "tx" next to it made the guard keep it, but it derives the
                # customer's address: it is a key whatever the words say.
                forced.append(Finding(kind="private_key_hex", start=candidate.start, end=candidate.end))
        elif settled == "tx_hash" and candidate.verdict != "private_key":
            tx_hashes.append(candidate.value)
    result = guard.scan_with_chain_facts(text, language=language, tx_hashes=tx_hashes, not_tx_hashes=keys)
    if forced:
        result = _with_forced(text, result, forced, language=language)
    return SettledScan(result=result, leaked_private_key=bool(keys), tx_hashes=tuple(tx_hashes))


def _with_forced(text: str, result: ScanResult, forced: list[Finding], *, language: str) -> ScanResult:
    """``result`` with the ``forced`` spans hidden as well (they never overlap other findings:
    each is a whole 64-hex token the guard kept)."""
    findings = sorted([*result.findings, *forced], key=lambda f: f.start)
    parts: list[str] = []
    last = 0
    for finding in findings:
        parts.append(text[last : finding.start])
        parts.append(guard._placeholder(finding.kind, language))
        last = finding.end
    parts.append(text[last:])
    return ScanResult(secret=True, redacted="".join(parts), findings=findings)
