"""Long polling (``getUpdates``) for installs without a public URL: each update goes through the
same pipeline as the webhook's (``update_id`` deduplicates an overlap or a restart)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from kefu.inbox import pipeline

logger = logging.getLogger(__name__)
POLL_TIMEOUT = 25  # seconds Telegram holds a getUpdates call open when nothing is new


def poll_once(offset: int | None, *, timeout: int = POLL_TIMEOUT) -> tuple[int | None, int]:
    """One getUpdates round: store every update durably, then confirm them (the next offset).
    Returns (next offset, updates received)."""
    from kefu.telegram.client import Client
    from kefu.telegram.setup import ensure_inbox

    inbox = ensure_inbox()
    if inbox is None:
        raise RuntimeError("KEFU_TELEGRAM_BOT_TOKEN is not set")
    params: dict[str, Any] = {"timeout": timeout, "allowed_updates": ["message", "callback_query"]}
    if offset is not None:
        params["offset"] = offset
    updates = Client(timeout=timeout + 10).call("getUpdates", **params) or []
    for update in updates:
        # Stored before the offset moves past it: a crash here means Telegram sends it again.
        pipeline.receive(inbox, {"polled": True, "update": update})
        if isinstance(update, dict) and isinstance(update.get("update_id"), int):
            offset = max(offset or 0, update["update_id"] + 1)
    return offset, len(updates)


def run(*, stop: Callable[[], bool] = lambda: False, timeout: int = POLL_TIMEOUT) -> None:
    """Poll until ``stop()``; a provider error waits (429: its retry_after) and goes on."""
    from kefu.telegram.client import Client, TelegramError

    try:
        Client().call("deleteWebhook")  # getUpdates is refused (409) while a webhook is set
    except TelegramError as exc:
        logger.warning("deleteWebhook failed: %s", exc)
    offset: int | None = None
    while not stop():
        try:
            offset, _count = poll_once(offset, timeout=timeout)
        except TelegramError as exc:
            wait = exc.retry_after if exc.retry_after is not None else 5.0
            logger.warning("getUpdates failed (%s); next try in %.0f s", exc.code, wait)
            time.sleep(wait)
