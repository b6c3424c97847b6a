"""Who else has a ticket open ("林 is viewing / typing"): collision detection on the ticket view.

A light heartbeat instead of a WebSocket: the ticket page posts every ``HEARTBEAT_SECONDS``
(and when the agent starts or stops typing) and gets back the others. Each ticket's viewers are
one short-lived cache entry (Redis when ``KEFU_REDIS_URL`` is set, so every serving process sees
the same; the local memory cache of a single process otherwise), so a heartbeat touches no
database row and an agent who closes the tab simply expires. The workspace has no socket of its
own today (the chat consumers serve chat events only), and a warning that arrives a few seconds
late does its job, so polling is the smaller moving part.

Two heartbeats at the same instant may each write the entry without the other's mark (a
read-modify-write); the lost mark comes back with that agent's next heartbeat.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.core.cache import cache

from kefu.accounts.models import User

HEARTBEAT_SECONDS = 10
# An agent counts as present this long after their last heartbeat: two missed beats.
PRESENT_SECONDS = 25


@dataclass(frozen=True)
class Viewer:
    name: str
    typing: bool


def _key(ticket_id: int) -> str:
    return f"tickets:presence:{ticket_id}"


def touch(ticket_id: int, user: User, *, typing: bool = False) -> list[Viewer]:
    """Mark ``user`` as on the ticket (typing or not); returns the other agents there now."""
    now = time.time()
    entries = {uid: e for uid, e in (cache.get(_key(ticket_id)) or {}).items() if e.get("until", 0) > now}
    entries[user.pk] = {
        "name": user.display_name or user.email,
        "typing": bool(typing),
        "until": now + PRESENT_SECONDS,
    }
    cache.set(_key(ticket_id), entries, PRESENT_SECONDS)
    return [Viewer(e["name"], e["typing"]) for uid, e in sorted(entries.items()) if uid != user.pk]


def leave(ticket_id: int, user: User) -> None:
    """The agent left the page: forget them now rather than when their mark expires."""
    entries = cache.get(_key(ticket_id)) or {}
    if entries.pop(user.pk, None) is not None:
        cache.set(_key(ticket_id), entries, PRESENT_SECONDS)
