"""Fixed-window rate limits in the cache (Redis when configured, so all processes share them).

Secrets (passwords, TOTP codes) use the back-off limiter in :mod:`kefu.accounts.throttle`;
this module counts plain actions, e.g. what customers create (:func:`check_creation`).
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from kefu.accounts.models import User


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


def parse_rate(rate: str) -> tuple[int, int]:
    """``"10/300"`` → (10 attempts, 300 seconds)."""
    count, _, seconds = rate.partition("/")
    return int(count), int(seconds or 60)


# What customers create, the setting holding its "count/seconds" per customer, and the refusal.
# Per client IP the limit is KEFU_CREATE_IP_FACTOR times higher (a NAT shares one address).
CREATION_LIMITS: dict[str, tuple[str, Any]] = {
    "ticket": (
        "KEFU_TICKET_CREATE_RATE",
        _("You have submitted many tickets in a short time. Please wait a few minutes and try again."),
    ),
    "reply": (
        "KEFU_TICKET_REPLY_RATE",
        _("You have sent many replies in a short time. Please wait a few minutes and try again."),
    ),
    "chat": (
        "KEFU_CHAT_START_RATE",
        _("You have started many chats in a short time. Please wait a few minutes and try again."),
    ),
    "chat-message": (
        "KEFU_CHAT_MESSAGE_RATE",
        _("You are sending messages too quickly. Please wait a moment."),
    ),
}


class RateLimited(Exception):
    """Refused by a creation limit; ``message`` is translated, ``retry_after`` in seconds."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


def check_creation(kind: str, *, user: User | AnonymousUser | None, ip: str | None) -> None:
    """Count one ``kind`` created by ``user`` (the signed-in account, never a typed address,
    so nobody can spend another customer's allowance) and from ``ip``; raise
    :class:`RateLimited` past the limit. Staff are not limited."""
    from kefu.accounts.models import User

    if isinstance(user, User) and user.is_agent:
        return
    setting, message = CREATION_LIMITS[kind]
    limit, window = parse_rate(getattr(settings, setting))
    keys: list[tuple[str, str, int]] = []
    if isinstance(user, User):  # signed in (an AnonymousUser has no allowance of its own)
        keys.append((f"create-{kind}-user", str(user.pk), limit))
    if ip:
        keys.append((f"create-{kind}-ip", ip, limit * int(settings.KEFU_CREATE_IP_FACTOR)))
    for scope, ident, allowed in keys:
        if not hit(scope, ident, limit=allowed, window=window):
            raise RateLimited(str(message), window)
