"""What the inbound and outbound queues share: ids, back-off, claiming a row, waking the worker."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from django.db import models
from django.utils import timezone

from kefu.mail import conf
from kefu.trust import guard


def digest(message_id: str) -> str:
    return hashlib.sha256(message_id.encode("utf-8", "surrogateescape")).hexdigest()


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, … capped at six hours."""
    return timedelta(seconds=min(conf.retry_base_seconds() * 2 ** max(attempts - 1, 0), 6 * 3600))


def error_text(exc: BaseException) -> str:
    # Exception texts can quote what they choked on; they pass the guard like everything else.
    return guard.redact(f"{type(exc).__name__}: {exc}", language="en")[:2000]


def wake_worker() -> None:
    from kefu.mail.worker import wake_mail_worker

    wake_mail_worker()


def claim(model: type[models.Model], pk: int, attempts: int, status: str) -> bool:
    """Take a due row for this worker: one conditional UPDATE, safe across threads and nodes.

    The next attempt is scheduled up front, so a worker that dies mid-way leaves the row to be
    picked up again after the back-off rather than lost or locked.
    """
    now = timezone.now()
    updated = (
        model._default_manager.filter(pk=pk, status=status, attempts=attempts)
        .filter(models.Q(next_attempt_at__isnull=True) | models.Q(next_attempt_at__lte=now))
        .update(attempts=attempts + 1, next_attempt_at=now + backoff(attempts + 1))
    )
    return updated == 1
