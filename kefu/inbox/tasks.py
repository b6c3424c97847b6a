"""The inbox's jobs: process one inbound event, send one delivery, and the reconcile that
enqueues due rows (a lost enqueue, a retry whose back-off has passed). Every job may run twice."""

from __future__ import annotations

from kefu.inbox import durable
from kefu.jobs.engine import enqueue, huey, job, periodic_job

RECONCILE_BATCH = 500


@job()
def process_event(pk: int) -> None:
    from kefu.inbox.pipeline import process

    process(pk)


@job()
def deliver(pk: int) -> None:
    from kefu.inbox.actions import send_delivery

    send_delivery(pk)


@periodic_job(durable.worker_interval)
def reconcile() -> None:
    from kefu.inbox.adapters.base import registered
    from kefu.inbox.models import DeliveryStatus, EventStatus, InboundEvent, OutboundDelivery

    if huey.pending_count() >= RECONCILE_BATCH:
        return
    for pk in durable.due(InboundEvent, EventStatus.PENDING, limit=RECONCILE_BATCH):
        enqueue(process_event, pk)
    # Email's deliveries mirror its own outbox, which retries them itself.
    own = [kind for kind, adapter in registered().items() if not getattr(adapter, "keeps_own_outbox", False)]
    for pk in durable.due(OutboundDelivery, DeliveryStatus.QUEUED, limit=RECONCILE_BATCH, channel__in=own):
        enqueue(deliver, pk)
