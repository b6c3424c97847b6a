"""What the inbound and outbound queues share: ids, back-off, claiming a row, enqueueing its job."""

from __future__ import annotations

from datetime import timedelta

from django.db import models

from kefu.inbox import durable


def digest(message_id: str) -> str:
    return durable.digest(message_id)


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, … capped at six hours (the inboxes' rule: kefu.inbox.durable)."""
    return durable.backoff(attempts)


def error_text(exc: BaseException) -> str:
    return durable.error_text(exc)


def enqueue_inbound(pk: int) -> None:
    """Queue the job that processes this inbound row once the current transaction commits.

    A lost enqueue (a crash right after commit, the queue unreachable) is repaired by the
    periodic reconcile (:func:`kefu.mail.tasks.reconcile`): the row is the truth.
    """
    from kefu.jobs.engine import enqueue_on_commit
    from kefu.mail.tasks import process_inbound

    enqueue_on_commit(process_inbound, pk)


def enqueue_outbound(pk: int) -> None:
    """Queue the job that sends this outbox row once the current transaction commits."""
    from kefu.jobs.engine import enqueue_on_commit
    from kefu.mail.tasks import send_outbound

    enqueue_on_commit(send_outbound, pk)


def claim(model: type[models.Model], pk: int, attempts: int, status: str) -> bool:
    """Take a due row for this worker: one conditional UPDATE, safe across threads and nodes.

    The next attempt is scheduled up front, so a worker that dies mid-way leaves the row to be
    picked up again after the back-off rather than lost or locked. One mechanism for every
    durable queue: :func:`kefu.inbox.durable.take`.
    """
    return durable.take(model, pk, attempts, status)
