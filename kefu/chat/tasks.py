"""The periodic sweep of live chat, run by every server process.

``kefu serve`` calls :func:`start_background_tasks` once per process. Several processes
sweeping at once is safe: every step takes row locks (see ``actions``), so the work is
shared, not repeated. Without a server (cron), ``kefu chat sweep`` runs one pass.
"""

from __future__ import annotations

import logging
import random
import threading
import time

from django.db import close_old_connections

from kefu.chat.conf import chat_seconds

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_thread: threading.Thread | None = None


def start_background_tasks(*, interval: float | None = None) -> threading.Thread | None:
    """Start the sweep (idle reminders and closes, abandoned queues, departed agents, backlog
    dispatch) in a daemon thread; once per process. Returns None when disabled (interval 0)."""
    global _thread
    seconds = chat_seconds("KEFU_CHAT_SWEEP_SECONDS") if interval is None else interval
    if seconds <= 0:
        return None
    with _lock:
        if _thread is not None and _thread.is_alive():
            return _thread
        _thread = threading.Thread(target=_run, args=(seconds,), name="kefu-chat-sweep", daemon=True)
        _thread.start()
        return _thread


def _run(seconds: float) -> None:
    from kefu.chat.actions import do_sweep

    while True:
        # Jitter keeps several processes from sweeping in lockstep.
        time.sleep(seconds * random.uniform(0.8, 1.2))
        try:
            report = do_sweep()
            if any(vars(report).values()):
                logger.info("chat sweep: %s", report)
        except Exception:  # the next pass retries; the thread must survive a database hiccup
            logger.exception("chat sweep failed")
        finally:
            close_old_connections()
