"""The configured client of each chain, and cached lookups through it.

Callers use :func:`lookup_transaction`; it picks the client, normalises the hash, and keeps
the answer in Django's cache briefly (a pending or confirming transaction, or one not found,
for ``KEFU_CHAIN_CACHE_PENDING`` seconds; a final one for ``KEFU_CHAIN_CACHE_FINAL``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.cache import cache

from kefu.wallet.chain.base import ChainClient, ChainUnavailable, RetryPolicy, TxInfo, check_hex64
from kefu.wallet.chain.specs import (
    cache_seconds,
    chain_url,
    get_spec,
    required_confirmations,
    retry_policy,
)

CACHE_VERSION = 1
_overrides: dict[str, ChainClient] = {}
_lock = threading.Lock()


class ChainNotConfigured(ChainUnavailable):
    """No node URL is configured for the chain: Kefu cannot check it at all."""

    def __init__(self, chain: str) -> None:
        super().__init__(chain, f"no node configured (set {get_spec(chain).env_var})")


@contextmanager
def use_client(chain: str, client: ChainClient) -> Iterator[ChainClient]:
    """Answer ``chain`` lookups with ``client`` inside the block (tests, embedded nodes)."""
    get_spec(chain)
    with _lock:
        previous = _overrides.get(chain)
        _overrides[chain] = client
    try:
        yield client
    finally:
        with _lock:
            if previous is None:
                _overrides.pop(chain, None)
            else:
                _overrides[chain] = previous


def has_override(chain: str) -> bool:
    return chain in _overrides


def client_for(chain: str, *, policy: RetryPolicy | None = None) -> ChainClient:
    """The client for ``chain``; raises :class:`ChainNotConfigured` if it has no node.

    ``policy`` overrides the configured timeouts and retries (an installed client keeps its own).
    """
    spec = get_spec(chain)
    if chain in _overrides:
        return _overrides[chain]
    url = chain_url(chain)
    if not url:
        raise ChainNotConfigured(chain)
    policy = policy or retry_policy()
    if spec.family == "evm":
        from kefu.wallet.chain.evm import EvmChainClient

        return EvmChainClient.from_url(chain, url, policy=policy)
    from kefu.wallet.chain.esplora import EsploraChainClient

    return EsploraChainClient(url, chain=chain, policy=policy)


def normalize_hash(chain: str, tx_hash: str) -> str:
    """``tx_hash`` in ``chain``'s spelling; raises InvalidTxHash. Needs no node."""
    if get_spec(chain).family == "evm":
        return "0x" + check_hex64(tx_hash, chain=chain)
    from kefu.wallet.chain.esplora import bitcoin_txid

    return bitcoin_txid(tx_hash, chain=chain)


def _cache_key(chain: str, tx_hash: str) -> str:
    return f"kefu:wallet:tx:v{CACHE_VERSION}:{chain}:{tx_hash}"


def lookup_transaction(
    chain: str, tx_hash: str, *, refresh: bool = False, policy: RetryPolicy | None = None
) -> TxInfo:
    """What ``chain`` says about ``tx_hash``, cached briefly; ``refresh`` skips the cache.

    ``policy``: timeouts and retries for this lookup (the secret guard's is short).
    Raises InvalidTxHash (before any network call) or ChainUnavailable.
    """
    canonical = normalize_hash(chain, tx_hash)
    key = _cache_key(chain, canonical)
    if not refresh:
        cached = cache.get(key)
        if isinstance(cached, TxInfo):
            return cached
    info = client_for(chain, policy=policy).get_transaction(canonical)
    final = (
        info.found
        and not info.pending
        and (info.status == "failed" or (info.confirmations or 0) >= required_confirmations(chain))
    )
    cache.set(key, info, cache_seconds(final=final))
    return info
