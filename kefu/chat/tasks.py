"""Live chat's periodic job: the sweep (idle reminders and closes, abandoned queues, departed
agents, backlog dispatch), every ``KEFU_CHAT_SWEEP_SECONDS`` (0: off).

Every job consumer enqueues it (``kefu serve`` without Redis, each ``kefu worker`` with it).
Several sweeps at once are safe: every step takes row locks (see ``actions``), so the work is
shared, not repeated. Without a consumer (cron), ``kefu chat sweep`` runs one pass.
"""

from __future__ import annotations

import logging

from kefu.chat.conf import chat_seconds
from kefu.jobs.engine import periodic_job

logger = logging.getLogger(__name__)


@periodic_job(lambda: chat_seconds("KEFU_CHAT_SWEEP_SECONDS"))
def sweep() -> None:
    from kefu.chat.actions import do_sweep

    report = do_sweep()
    if any(vars(report).values()):
        logger.info("chat sweep: %s", report)
