"""Failed jobs: recorded by the engine, retried by admins."""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from typing import Any

from django.db import transaction
from django.utils import timezone

from kefu.accounts.models import User
from kefu.audit.actions import do_record
from kefu.jobs.models import FailedJob
from kefu.trust import guard


def do_record_failed_job(
    *, task_name: str, task_id: str, args: list[Any], kwargs: dict[str, Any], error: str
) -> FailedJob:
    """Keep a job that failed for good. The same job failing again while an earlier record is
    still unretried (a periodic sweep, say) updates that record instead of adding one a tick."""
    # Exception texts can quote what they choked on; they pass the guard like everything else.
    error = guard.redact(error, language="en")[:4000]
    with transaction.atomic():
        existing = (
            FailedJob.objects.select_for_update()
            .filter(task_name=task_name, args=args, retried_at__isnull=True)
            .first()
        )
        if existing is not None:
            existing.failures += 1
            existing.error = error
            existing.task_id = task_id
            existing.failed_at = timezone.now()
            existing.save(update_fields=["failures", "error", "task_id", "failed_at"])
            return existing
        return FailedJob.objects.create(
            task_name=task_name, task_id=task_id, args=args, kwargs=kwargs, error=error
        )


def do_retry_failed_jobs(ids: Iterable[int], *, actor: User | None = None) -> int:
    """Send failed jobs to the queue again (after commit); returns how many."""
    from kefu.jobs.engine import enqueue_by_name, is_registered

    # A job whose code was renamed or removed since it failed cannot run again: left as it is.
    jobs = [
        failed
        for failed in FailedJob.objects.filter(pk__in=list(ids), retried_at__isnull=True)
        if is_registered(failed.task_name)
    ]
    with transaction.atomic():
        for failed in jobs:
            failed.retried_at = timezone.now()
            failed.save(update_fields=["retried_at"])
            do_record(
                actor=actor,
                action="jobs.retried",
                target_type="failed_job",
                target_id=str(failed.pk),
                data={"task": failed.task_name},
            )
            transaction.on_commit(partial(enqueue_by_name, failed.task_name, list(failed.args), dict(failed.kwargs)))
    return len(jobs)
