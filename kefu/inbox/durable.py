"""Durable rows with retries: back-off and the claim every inbound event and delivery goes through.

The same rule as mail's queues (``kefu.mail.jobs``), whose settings they share: the row is the
truth, the queue carries its id, a job claims the row with one conditional UPDATE that also
schedules the next attempt, so a second run is a no-op and a dead worker's row comes back.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from kefu.trust import guard


def retry_base_seconds() -> int:
    return int(settings.KEFU_MAIL_RETRY_SECONDS)


def max_attempts() -> int:
    return int(settings.KEFU_MAIL_MAX_ATTEMPTS)


def worker_interval() -> float:
    return float(settings.KEFU_MAIL_WORKER_INTERVAL)


def digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogateescape")).hexdigest()


def backoff(attempts: int, *, base_seconds: float | None = None) -> timedelta:
    """The base delay (mail's setting unless given), doubling per attempt, capped at six hours."""
    base = retry_base_seconds() if base_seconds is None else base_seconds
    return timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), 6 * 3600))


def error_text(exc: BaseException) -> str:
    # Exception texts can quote what they choked on; they pass the guard like everything else.
    return guard.redact(f"{type(exc).__name__}: {exc}", language="en")[:2000]


def due(model: type[models.Model], status: str, *, limit: int, **filters: object) -> list[int]:
    """Ids of rows in ``status`` (and ``filters``) whose next attempt is due, oldest first."""
    now = timezone.now()
    return list(
        model._default_manager.filter(status=status, **filters)
        .filter(models.Q(next_attempt_at__isnull=True) | models.Q(next_attempt_at__lte=now))
        .order_by("id")
        .values_list("pk", flat=True)[:limit]
    )


def claim(
    model: type[models.Model], pk: int, status: str, *, delay: Callable[[int], timedelta] | None = None
) -> int | None:
    """Take a due row for this worker; returns its attempt number, or None if another has it.
    ``delay(attempt)`` is the back-off of the queue's own settings (webhooks); default mail's."""
    now = timezone.now()
    attempts = (
        model._default_manager.filter(pk=pk, status=status)
        .filter(models.Q(next_attempt_at__isnull=True) | models.Q(next_attempt_at__lte=now))
        .values_list("attempts", flat=True)
        .first()
    )
    if attempts is None:
        return None
    return attempts + 1 if take(model, pk, attempts, status, delay=delay) else None


def take(
    model: type[models.Model],
    pk: int,
    attempts: int,
    status: str,
    *,
    delay: Callable[[int], timedelta] | None = None,
) -> bool:
    """The claim's one conditional UPDATE: the row is this worker's if it is still in ``status``
    at ``attempts`` and due; the next attempt is scheduled up front, so a worker that dies
    mid-way leaves the row to be picked up again after the back-off rather than lost or locked.
    (Mail's queues use it too: kefu.mail.jobs.claim.)"""
    now = timezone.now()
    updated = (
        model._default_manager.filter(pk=pk, status=status, attempts=attempts)
        .filter(models.Q(next_attempt_at__isnull=True) | models.Q(next_attempt_at__lte=now))
        .update(attempts=attempts + 1, next_attempt_at=now + (delay or backoff)(attempts + 1))
    )
    return updated == 1
