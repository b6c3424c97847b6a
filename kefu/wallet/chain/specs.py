"""The chains Kefu knows, the networks customers name them by, and their settings.

Settings (all optional, read at call time; see ``docs/wallet.md``):

``KEFU_CHAIN_URLS``
    ``{"ethereum": "https://rpc.example/...", "bitcoin": "https://esplora.example/api"}``.
    A chain missing there falls back to its own setting (``KEFU_ETH_RPC_URL``,
    ``KEFU_BSC_RPC_URL``, ``KEFU_POLYGON_RPC_URL``, ``KEFU_ARBITRUM_RPC_URL``,
    ``KEFU_OPTIMISM_RPC_URL``, ``KEFU_BTC_ESPLORA_URL``); a chain with neither is not checked.
``KEFU_CHAIN_CONFIRMATIONS``
    Required confirmations per chain, overriding :data:`CHAINS`' defaults.
``KEFU_CHAIN_TIMEOUT`` / ``KEFU_CHAIN_RETRIES`` / ``KEFU_CHAIN_BACKOFF``
    Seconds per request (5), attempts in all (3), first back-off in seconds (0.5, doubling).
``KEFU_CHAIN_CACHE_PENDING`` / ``KEFU_CHAIN_CACHE_FINAL``
    Seconds a lookup is cached while it can still change (15) and once final (300).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from django.conf import settings

from kefu.wallet.chain.base import RetryPolicy


@dataclass(frozen=True)
class ChainSpec:
    """A chain as Kefu sees it: how to reach it and how long confirmation takes."""

    name: str
    family: Literal["evm", "esplora"]
    network: str  # the label customers and the wallet use ("ERC-20"), as the bot's slots do
    label: str  # the chain's name in messages ("Ethereum")
    native_coin: str
    required_confirmations: int
    block_seconds: float
    env_var: str


CHAINS: dict[str, ChainSpec] = {
    spec.name: spec
    for spec in (
        ChainSpec("ethereum", "evm", "ERC-20", "Ethereum", "ETH", 64, 12, "KEFU_ETH_RPC_URL"),
        ChainSpec("bsc", "evm", "BEP-20", "BSC", "BNB", 15, 3, "KEFU_BSC_RPC_URL"),
        ChainSpec("polygon", "evm", "Polygon", "Polygon", "POL", 128, 2, "KEFU_POLYGON_RPC_URL"),
        ChainSpec("arbitrum", "evm", "Arbitrum", "Arbitrum", "ETH", 20, 0.25, "KEFU_ARBITRUM_RPC_URL"),
        ChainSpec("optimism", "evm", "Optimism", "Optimism", "ETH", 20, 2, "KEFU_OPTIMISM_RPC_URL"),
        ChainSpec("bitcoin", "esplora", "Bitcoin", "Bitcoin", "BTC", 2, 600, "KEFU_BTC_ESPLORA_URL"),
    )
}

# How customers, tickets and the wallet spell networks → chain. Keys are compared after
# lower-casing and dropping spaces, dashes and underscores. Networks Kefu cannot check on
# chain (TRC-20, Solana, TON, ...) are simply absent.
_NETWORK_ALIASES = {
    "ethereum": ("erc20", "eth", "ethereum", "ethereummainnet", "以太坊", "以太坊网络"),
    "bsc": ("bep20", "bsc", "bnbsmartchain", "bnbchain", "binancesmartchain", "币安智能链"),
    "polygon": ("polygon", "matic", "pol", "polygonpos"),
    "arbitrum": ("arbitrum", "arbitrumone", "arb"),
    "optimism": ("optimism", "op", "opmainnet"),
    "bitcoin": ("bitcoin", "btc", "比特币", "比特币网络"),
}
_ALIAS_TO_CHAIN = {alias: chain for chain, aliases in _NETWORK_ALIASES.items() for alias in aliases}
_SQUASH = re.compile(r"[\s\-_]+")


def _squash(text: str) -> str:
    return _SQUASH.sub("", (text or "").strip().lower())


def chain_for_network(network: str | None) -> str | None:
    """The chain behind a network label ("ERC-20" → "ethereum"), or None if Kefu cannot check it."""
    if not network:
        return None
    key = _squash(network)
    if key in CHAINS:
        return key
    return _ALIAS_TO_CHAIN.get(key)


def chain_for_coin(coin: str | None) -> str | None:
    """The chain a coin lives on natively (BTC → bitcoin), for questions that name no network."""
    return {"btc": "bitcoin", "eth": "ethereum", "bnb": "bsc", "pol": "polygon", "matic": "polygon"}.get(
        (coin or "").strip().lower()
    )


def same_network(a: str | None, b: str | None) -> bool:
    """Whether two network labels name the same chain ("ERC-20" and "Ethereum" do)."""
    if not a or not b:
        return False
    chain_a, chain_b = chain_for_network(a), chain_for_network(b)
    if chain_a and chain_b:
        return chain_a == chain_b
    return _squash(a) == _squash(b)


def get_spec(chain: str) -> ChainSpec:
    """The spec of a known chain; raises KeyError naming the known ones otherwise."""
    try:
        return CHAINS[chain]
    except KeyError:
        raise KeyError(f"unknown chain {chain!r}; known: {', '.join(CHAINS)}") from None


def chain_url(chain: str) -> str | None:
    """The node URL configured for ``chain`` (``KEFU_CHAIN_URLS``, then its own setting), or None."""
    urls = settings.KEFU_CHAIN_URLS or {}
    url = urls.get(chain) or getattr(settings, get_spec(chain).env_var) or ""
    return url.strip() or None


def configured_chains() -> list[str]:
    """Known chains that have a node URL (or a client installed with ``use_client``)."""
    from kefu.wallet.chain.registry import has_override

    return [name for name in CHAINS if has_override(name) or chain_url(name)]


def required_confirmations(chain: str) -> int:
    """Confirmations after which a deposit on ``chain`` counts as final."""
    overrides = settings.KEFU_CHAIN_CONFIRMATIONS or {}
    return int(overrides.get(chain, get_spec(chain).required_confirmations))


def retry_policy() -> RetryPolicy:
    """Timeouts and retries from settings."""
    return RetryPolicy(
        attempts=int(settings.KEFU_CHAIN_RETRIES),
        backoff=float(settings.KEFU_CHAIN_BACKOFF),
        timeout=float(settings.KEFU_CHAIN_TIMEOUT),
    )


def cache_seconds(*, final: bool) -> int:
    """How long a lookup is cached: briefly while it can change, longer once final."""
    if final:
        return int(settings.KEFU_CHAIN_CACHE_FINAL)
    return int(settings.KEFU_CHAIN_CACHE_PENDING)
