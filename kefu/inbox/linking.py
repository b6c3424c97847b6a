"""Linking a messaging contact to a customer: only through a signed link from the signed-in web.

A customer signed in on the web asks for a link (``/channels/telegram/link``); it carries a short
token naming them, signed with the site's secret and valid for a while; the messaging app sends it
back (Telegram: ``/start <token>``), and the contact that sent it becomes theirs. A typed email
address or phone number is never enough: anyone can type anyone's address.

The token fits Telegram's deep-link parameter (at most 64 characters of ``A-Za-z0-9_-``) and
reads as nothing the secret guard hides (no 64-hex, no base58 key), so it survives screening.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

from django.conf import settings
from django.core.cache import cache

from kefu.accounts.models import User
from kefu.inbox.models import Inbox

LINK_TTL_SECONDS = 3600


def _signature(payload: str, kind: str) -> str:
    key = hashlib.sha256(f"kefu.inbox.link:{settings.SECRET_KEY}".encode()).digest()
    mac = hmac.new(key, f"{kind}:{payload}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:15]).decode().rstrip("=")


def token_for(customer: User, *, kind: str, now: float | None = None) -> str:
    """A link token for ``customer`` on inboxes of ``kind`` (valid LINK_TTL_SECONDS)."""
    payload = f"{customer.pk:x}_{int(now if now is not None else time.time()):x}"
    return f"{payload}_{_signature(payload, kind)}"


def customer_for_token(
    token: str, *, inbox: Inbox, address: str = "", now: float | None = None
) -> User | None:
    """The customer a valid, fresh token names; None for anything else (a typo, a forgery, a
    stale link, a greeting's ``/start`` without a token). With ``address`` (the contact that
    sent it), a link is that one chat's: the same token from another chat (a forwarded or leaked
    link) links nobody; the same chat again (a retried job) still does."""
    parts = (token or "").split("_", 2)  # the signature's base64url may hold "_" itself
    if len(parts) != 3:
        return None
    payload = f"{parts[0]}_{parts[1]}"
    if not hmac.compare_digest(_signature(payload, inbox.kind), parts[2]):
        return None
    try:
        pk, issued = int(parts[0], 16), int(parts[1], 16)
    except ValueError:
        return None
    current = now if now is not None else time.time()
    if not (0 <= current - issued <= LINK_TTL_SECONDS):
        return None
    customer = User.objects.filter(pk=pk, is_active=True).first()
    if customer is None or not address:
        return customer
    key = "inbox-link:" + hashlib.sha256(token.encode()).hexdigest()
    holder = f"{inbox.pk}:{address}"
    cache.add(key, holder, LINK_TTL_SECONDS + 60)  # the first chat to use it keeps it
    return customer if cache.get(key) == holder else None
