"""Webhook jobs: send one delivery, and the sweep that enqueues due ones (retries whose
back-off has passed, a lost enqueue, endpoints turned back on). Both may run twice."""

from __future__ import annotations

from django.conf import settings

from kefu.jobs.engine import enqueue, huey, job, periodic_job

SWEEP_BATCH = 500


def _sweep_seconds() -> float:
    return float(settings.KEFU_WEBHOOKS_SWEEP_SECONDS)


# No broker retries: the row's own next_attempt_at is the retry, seen by the sweep.
@job(retries=0)
def send_webhook(pk: int) -> None:
    from kefu.webhooks.actions import send_delivery

    send_delivery(pk)


@periodic_job(lambda: 3600.0)
def purge_webhook_log() -> None:
    """The delivery log's old rows (``KEFU_WEBHOOKS_KEEP_DAYS``), once an hour."""
    from kefu.webhooks.actions import purge_old_deliveries

    purge_old_deliveries()


@periodic_job(_sweep_seconds)
def sweep_webhooks() -> None:
    from kefu.inbox import durable
    from kefu.webhooks.models import Delivery, DeliveryStatus

    if huey.pending_count() >= SWEEP_BATCH:
        return
    for pk in durable.due(Delivery, DeliveryStatus.PENDING, limit=SWEEP_BATCH, endpoint__is_active=True):
        enqueue(send_webhook, pk)
