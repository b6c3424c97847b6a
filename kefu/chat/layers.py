"""An in-process channel layer for one server process, fit for a thousand connections.

Channels' ``InMemoryChannelLayer`` walks every channel and every group membership to expire
old entries on *each* ``receive`` and ``group_send``: O(connections) work per message. At a
thousand chat connections that sweep cost more than the message itself. This subclass runs
the same sweep at most once a second; expiry stays a cleanup (messages and memberships
expire up to a second late), nothing else changes.

Use it instead of the stock class where ``KEFU_REDIS_URL`` is unset::

    CHANNEL_LAYERS = {"default": {"BACKEND": "kefu.chat.layers.InMemoryChannelLayer",
                                  "CONFIG": {"capacity": 1000}}}
"""

from __future__ import annotations

import time
from typing import Any

from channels.layers import InMemoryChannelLayer as _StockInMemoryChannelLayer


class InMemoryChannelLayer(_StockInMemoryChannelLayer):
    def __init__(self, *args: Any, cleanup_interval: float = 1.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cleanup_interval = cleanup_interval
        self._next_cleanup = 0.0

    def _clean_expired(self) -> None:
        now = time.monotonic()
        if now < self._next_cleanup:
            return
        self._next_cleanup = now + self.cleanup_interval
        super()._clean_expired()
