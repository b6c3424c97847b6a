"""Real-time events of live chat: group names and an ordered, non-blocking publisher.

Actions run in worker threads (``database_sync_to_async``) and publish after commit. Sending
to the channel layer from there with ``async_to_sync`` would block the single database
thread on an event-loop round trip per event; instead each server process binds its event
loop once (the first consumer to connect does it) and events are handed to one task on that
loop, which sends them in the order they were published. Clients still number messages, so
a lost or reordered event is noticed and fetched again (see docs/chat-protocol.md).

Outside a server (a management command, a test without one) events go out synchronously.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)

Event = dict[str, Any]


def conversation_group(public_id: Any) -> str:
    """The customer's connections and the staff following one conversation."""
    return f"chat.c.{public_id.hex if hasattr(public_id, 'hex') else public_id}"


def agent_group(user_id: int) -> str:
    """Every connection of one agent (several tabs)."""
    return f"chat.a.{user_id}"


def queue_group(team_id: int | None) -> str:
    """Customers waiting in one team's queue: told when their position may have changed."""
    return f"chat.q.{team_id or 0}"


STAFF_GROUP = "chat.staff"  # every agent and supervisor connection: queue and presence changes


class _Publisher:
    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self.queue: asyncio.Queue[tuple[str, Event]] | None = None
        self.lock = threading.Lock()
        self.coalescing: set[str] = set()

    def bind(self) -> None:
        """Called from the server's event loop: send this process's events from it."""
        loop = asyncio.get_running_loop()
        with self.lock:
            if self.loop is loop:
                return
            self.loop = loop
            self.queue = asyncio.Queue()
            self.coalescing = set()  # what was pending on an old loop will never be released
            loop.create_task(self._drain(self.queue))

    async def _drain(self, queue: asyncio.Queue[tuple[str, Event]]) -> None:
        layer = get_channel_layer()
        while True:
            group, event = await queue.get()
            try:
                await layer.group_send(group, event)
            except Exception:  # one failed send must not stop every later event
                logger.exception("chat event to %s failed", group)

    def publish(self, group: str, event: Event) -> None:
        loop, queue = self.loop, self.queue
        if loop is not None and queue is not None and loop.is_running() and not loop.is_closed():
            try:
                running = asyncio.get_running_loop()
            except RuntimeError:
                running = None
            if running is loop:
                queue.put_nowait((group, event))
            else:
                loop.call_soon_threadsafe(queue.put_nowait, (group, event))
            return
        layer = get_channel_layer()
        if layer is None:
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            async_to_sync(layer.group_send)(group, event)
            return
        # Some other event loop runs in this thread (a sync API driving one, e.g. a browser
        # automation library): AsyncToSync refuses to nest, so send from a helper thread.
        sender = threading.Thread(target=lambda: asyncio.run(layer.group_send(group, event)), daemon=True)
        sender.start()
        sender.join()

    def publish_coalesced(self, group: str, event: Event, delay: float) -> None:
        loop = self.loop
        if loop is None or not loop.is_running() or loop.is_closed():
            self.publish(group, event)
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._coalesce(group, event, delay)
        else:
            loop.call_soon_threadsafe(self._coalesce, group, event, delay)

    def _coalesce(self, group: str, event: Event, delay: float) -> None:
        key = f"{group}|{event.get('type')}"
        if key in self.coalescing or self.loop is None or self.queue is None:
            return
        self.coalescing.add(key)
        self.loop.call_later(delay, self._release, key, group, event, self.queue)

    def _release(self, key: str, group: str, event: Event, queue: asyncio.Queue[tuple[str, Event]]) -> None:
        self.coalescing.discard(key)
        queue.put_nowait((group, event))


_publisher = _Publisher()


def bind_event_loop() -> None:
    _publisher.bind()


def publish(group: str, event: Event) -> None:
    """Send ``event`` to ``group`` now (use :func:`publish_on_commit` inside a transaction)."""
    _publisher.publish(group, event)


def publish_on_commit(group: str, event: Event) -> None:
    """Send ``event`` once the current transaction commits; never for a rolled-back change."""
    transaction.on_commit(lambda: publish(group, event))


def notify_on_commit(group: str, event: Event, *, delay: float = 0.5) -> None:
    """A "something changed, look again" event: at most one per ``delay`` seconds per group.

    Queue and presence changes reach every waiting customer or every agent. A burst of them
    (a hundred hand-offs in a second) must become one refresh, not a hundred events in each
    of their channels — a channel that fills up drops events, including the ones that matter.
    """
    transaction.on_commit(lambda: _publisher.publish_coalesced(group, event, delay))
