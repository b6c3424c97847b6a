"""Live-chat settings with their defaults.

Read at call time (never at import) so that tests can override them with ``settings``;
none needs to be set: every default works out of the box.
"""

from __future__ import annotations

from django.conf import settings

DEFAULTS: dict[str, int | float] = {
    # Offer a ticket or a call-back when the estimated wait exceeds this many seconds.
    "KEFU_CHAT_OFFER_AFTER_SECONDS": 600,
    # An active chat whose customer has not answered the agent for this long gets a reminder...
    "KEFU_CHAT_IDLE_REMIND_SECONDS": 300,
    # ... and closes this long after the reminder if the customer still says nothing.
    "KEFU_CHAT_IDLE_CLOSE_SECONDS": 300,
    # A queued customer with no open connection for this long has left the queue.
    "KEFU_CHAT_ABANDON_SECONDS": 180,
    # An agent whose connections stopped sending heartbeats this long ago goes offline...
    "KEFU_CHAT_AGENT_STALE_SECONDS": 90,
    # ... and their chats return to the queue after this long offline.
    "KEFU_CHAT_REQUEUE_AFTER_SECONDS": 180,
    # Concurrent chats of an agent who never set a capacity.
    "KEFU_CHAT_DEFAULT_CAPACITY": 3,
    # Handling time assumed until enough chats have been handled to measure it.
    "KEFU_CHAT_DEFAULT_HANDLE_SECONDS": 420,
    # Recent handling times: chats closed within this window, at most this many.
    "KEFU_CHAT_HANDLE_WINDOW_SECONDS": 4 * 3600,
    "KEFU_CHAT_HANDLE_SAMPLE": 100,
    # Period of the background sweep (idle reminders, abandoned queues, backlog dispatch).
    "KEFU_CHAT_SWEEP_SECONDS": 15,
    # A CSAT link stays valid this long.
    "KEFU_CHAT_CSAT_DAYS": 14,
}


def chat_setting(name: str) -> int | float:
    """The project's value for ``name`` or the default above."""
    return getattr(settings, name, DEFAULTS[name])


def chat_seconds(name: str) -> float:
    return float(chat_setting(name))
