"""The email channel's jobs: process one inbound mail, send one outbox row, the reconcile that
enqueues due rows, and the IMAP poll. Every job takes an id or nothing and may run twice."""

from __future__ import annotations

import logging

from kefu.jobs.engine import enqueue, huey, job, periodic_job
from kefu.mail import conf

logger = logging.getLogger(__name__)

# Rows enqueued per kind and reconcile pass; while the queue already holds this many jobs the
# pass waits (those jobs are draining the same rows).
RECONCILE_BATCH = 500


@job()
def process_inbound(pk: int) -> None:
    from kefu.mail.actions import process_inbound_mail

    process_inbound_mail(pk)


@job()
def send_outbound(pk: int) -> None:
    from kefu.mail.outbound import send_outbound_mail

    send_outbound_mail(pk)


@periodic_job(conf.worker_interval)
def reconcile() -> None:
    """Enqueue every due pending inbound row and queued outbox row.

    Repairs an enqueue lost between commit and queue (a crash, Redis away for a moment) and
    runs retries whose back-off has passed: the deadline is the row's ``next_attempt_at``,
    never a delay held in the broker. A row enqueued twice is handled once (the claim).
    """
    from kefu.mail.actions import due_inbound_ids
    from kefu.mail.outbound import due_outbound_ids

    if huey.pending_count() >= RECONCILE_BATCH:
        return
    for pk in due_inbound_ids(limit=RECONCILE_BATCH):
        enqueue(process_inbound, pk)
    for pk in due_outbound_ids(limit=RECONCILE_BATCH):
        enqueue(send_outbound, pk)


def _imap_seconds() -> float:
    return conf.imap_interval() if conf.imap_url() else 0


@periodic_job(_imap_seconds)
def poll_imap() -> None:
    """Fetch unseen mail from ``KEFU_IMAP_URL`` (each stored mail enqueues its own job)."""
    from kefu.mail.imap import poll_imap_once

    url = conf.imap_url()
    if url:
        poll_imap_once(url)
