"""Fixed-window rate limits in the cache (Redis when configured, so all processes share them)."""

from __future__ import annotations

import hashlib

from django.core.cache import cache


def _key(scope: str, ident: str) -> str:
    return "rl:" + scope + ":" + hashlib.sha256(ident.encode()).hexdigest()[:32]


def hit(scope: str, ident: str, *, limit: int, window: int) -> bool:
    """Count one attempt; True while the caller stays within ``limit`` per ``window`` seconds."""
    key = _key(scope, ident)
    if cache.add(key, 1, timeout=window):
        return True
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=window)
        return True
    return count <= limit


def is_limited(scope: str, ident: str, *, limit: int) -> bool:
    return (cache.get(_key(scope, ident)) or 0) >= limit


def reset(scope: str, ident: str) -> None:
    cache.delete(_key(scope, ident))


def parse_rate(rate: str) -> tuple[int, int]:
    """``"10/300"`` → (10 attempts, 300 seconds)."""
    count, _, seconds = rate.partition("/")
    return int(count), int(seconds or 60)
