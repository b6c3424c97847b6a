"""Outgoing webhooks' state changes: endpoints (create, rotate, delete), the outbox rows that
events write, and the sending of one delivery.

Sending never happens inside the transaction of the change it announces: the event's
subscriber writes :class:`~kefu.webhooks.models.Delivery` rows in that transaction and a job,
enqueued after commit, sends each. The claim (``kefu.inbox.durable``, shared with mail and the
inbox) schedules the next attempt before the request goes out, so a worker that dies mid-way
leaves the row to the sweep, and a second job for the same row does nothing.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from standardwebhooks.webhooks import Webhook

from kefu.accounts.models import User
from kefu.audit.actions import do_record
from kefu.identity.sealed import seal, unseal
from kefu.inbox import durable
from kefu.jobs.engine import enqueue_on_commit
from kefu.webhooks import payloads, targets
from kefu.webhooks.models import Delivery, DeliveryStatus, Endpoint
from kefu.webhooks.selectors import active_endpoints, forget_endpoints

logger = logging.getLogger(__name__)

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32  # Standard Webhooks: 24 to 64 bytes of randomness


def new_secret() -> str:
    """``whsec_`` and 32 random bytes in base64, the form Standard Webhooks libraries read."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def retry_delay(attempt: int) -> timedelta:
    """Webhooks' back-off: ``KEFU_WEBHOOKS_RETRY_SECONDS`` doubling per attempt, at most 6 h."""
    return durable.backoff(attempt, base_seconds=float(settings.KEFU_WEBHOOKS_RETRY_SECONDS))


def clean_events(events: list[str]) -> list[str]:
    names = [str(name).strip() for name in events if str(name).strip()]
    if not names:
        raise ValidationError({"events": [_("Choose at least one event.")]})
    unknown = [name for name in names if name != "*" and name not in payloads.EVENT_TYPES]
    if unknown:
        raise ValidationError({"events": [_("Unknown event “{name}”.").format(name=unknown[0][:60])]})
    return sorted(set(names))


URL_MAX_LENGTH = 500  # Endpoint.url's column


def clean_url(url: str) -> str:
    if len(url.strip()) > URL_MAX_LENGTH:
        raise ValidationError({"url": [_("This value is too long.")]})
    try:
        targets.check(url)
    except targets.TargetRefused as exc:
        raise ValidationError({"url": [str(exc)]}) from None
    return url.strip()


def do_create_endpoint(
    *,
    url: str,
    events: list[str],
    actor: User | None,
    description: str = "",
    include_sensitive: bool = False,
) -> tuple[Endpoint, str]:
    """Register an endpoint; returns it and its secret (shown to the admin, sealed at rest)."""
    url, events = clean_url(url), clean_events(events)
    secret = new_secret()
    with transaction.atomic():
        endpoint = Endpoint.objects.create(
            url=url,
            events=events,
            description=description[:200],
            include_sensitive=include_sensitive,
            secret=seal(secret),
        )
        do_record(
            actor=actor,
            action="webhook.created",
            target_type="webhook",
            target_id=str(endpoint.public_id),
            data={"url": url, "events": events, "include_sensitive": include_sensitive},
        )
    return endpoint, secret


def do_rotate_secret(*, endpoint: Endpoint, actor: User | None) -> tuple[Endpoint, str]:
    """A new secret; the old one keeps signing (a second signature) for
    ``KEFU_WEBHOOKS_ROTATION_HOURS``, so receivers can switch without missing a delivery."""
    secret = new_secret()
    with transaction.atomic():
        endpoint = Endpoint.objects.select_for_update().get(pk=endpoint.pk)
        endpoint.previous_secret = endpoint.secret
        endpoint.previous_secret_expires_at = timezone.now() + timedelta(
            hours=int(settings.KEFU_WEBHOOKS_ROTATION_HOURS)
        )
        endpoint.secret = seal(secret)
        endpoint.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at", "updated_at"])
        do_record(
            actor=actor,
            action="webhook.secret_rotated",
            target_type="webhook",
            target_id=str(endpoint.public_id),
        )
    return endpoint, secret


def do_delete_endpoint(*, endpoint: Endpoint, actor: User | None) -> None:
    with transaction.atomic():
        do_record(
            actor=actor,
            action="webhook.deleted",
            target_type="webhook",
            target_id=str(endpoint.public_id),
            data={"url": endpoint.url},
        )
        endpoint.delete()


def do_enable_endpoint(*, endpoint: Endpoint, actor: User | None) -> None:
    """Turn an endpoint back on (after an automatic disabling); its pending deliveries resume."""
    with transaction.atomic():
        Endpoint.objects.filter(pk=endpoint.pk).update(
            is_active=True,
            consecutive_failures=0,
            disabled_at=None,
            disabled_reason="",
            updated_at=timezone.now(),
        )
        do_record(
            actor=actor, action="webhook.enabled", target_type="webhook", target_id=str(endpoint.public_id)
        )
        transaction.on_commit(forget_endpoints)
    _enqueue_due(endpoint.pk)


# --------------------------------------------------------------------------- the outbox


def queue_event(event_type: str, build: Any) -> list[Delivery]:
    """Write a delivery for every active endpoint that wants ``event_type`` (inside the caller's
    transaction); ``build(sensitive)`` returns the event's ``data``. The jobs that send them
    are enqueued after commit."""
    wanting = [endpoint for endpoint in active_endpoints() if endpoint.wants(event_type)]
    if not wanting:
        return []
    bodies: dict[bool, str] = {}
    rows = []
    for endpoint in wanting:
        sensitive = endpoint.include_sensitive
        if sensitive not in bodies:
            bodies[sensitive] = json.dumps(
                payloads.envelope(event_type, build(sensitive)), ensure_ascii=False, separators=(",", ":")
            )
        rows.append(
            Delivery(
                endpoint_id=endpoint.pk,
                message_id=f"msg_{uuid.uuid4().hex}",
                event_type=event_type,
                body=bodies[sensitive],
            )
        )
    created = Delivery.objects.bulk_create(rows)  # PostgreSQL and SQLite return the new ids
    from kefu.webhooks.tasks import send_webhook

    for delivery in created:
        enqueue_on_commit(send_webhook, delivery.pk)
    return created


def do_send_test(*, endpoint: Endpoint, actor: User | None) -> Delivery:
    """The admin's test button: a ``webhook.test`` delivery, sent like any other."""
    body = json.dumps(
        payloads.envelope(payloads.TEST_EVENT, {"endpoint": str(endpoint.public_id)}),
        separators=(",", ":"),
    )
    from kefu.webhooks.tasks import send_webhook

    with transaction.atomic():
        delivery = Delivery.objects.create(
            endpoint=endpoint, message_id=f"msg_{uuid.uuid4().hex}", event_type=payloads.TEST_EVENT, body=body
        )
        do_record(
            actor=actor, action="webhook.tested", target_type="webhook", target_id=str(endpoint.public_id)
        )
        enqueue_on_commit(send_webhook, delivery.pk)
    return delivery


def do_replay(*, delivery_ids: list[int], actor: User | None) -> int:
    """Send deliveries again (a failed one, or a delivered one a receiver lost), under the same
    ``webhook-id`` and body; the attempts count starts again. Returns how many."""
    from kefu.webhooks.tasks import send_webhook

    with transaction.atomic():
        ids = list(Delivery.objects.filter(pk__in=delivery_ids).values_list("pk", flat=True))
        Delivery.objects.filter(pk__in=ids).update(
            status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=None, last_error=""
        )
        for pk in ids:
            do_record(
                actor=actor, action="webhook.replayed", target_type="webhook_delivery", target_id=str(pk)
            )
            enqueue_on_commit(send_webhook, pk)
    return len(ids)


# --------------------------------------------------------------------------- sending


def signature_header(endpoint: Endpoint, message_id: str, timestamp: datetime, body: bytes) -> str:
    """``v1,<sig>`` with the current secret, and a second one with the previous secret while
    a rotation's overlap lasts (space-separated, as Standard Webhooks verifiers expect)."""
    secrets_now = [unseal(endpoint.secret)]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret and expires is not None and expires > timezone.now():
        secrets_now.append(unseal(endpoint.previous_secret))
    return " ".join(Webhook(secret).sign(message_id, timestamp, body) for secret in secrets_now)


def send_delivery(pk: int) -> str | None:
    """Make one attempt at a due delivery (a job); returns its status after, or None when the
    row was not this worker's to send (not due, delivered, taken by another worker, endpoint off)."""
    if not Delivery.objects.filter(pk=pk, endpoint__is_active=True).exists():
        return None
    attempt = durable.claim(Delivery, pk, DeliveryStatus.PENDING, delay=retry_delay)
    if attempt is None:
        return None
    delivery = Delivery.objects.select_related("endpoint").get(pk=pk)
    endpoint = delivery.endpoint
    body = delivery.body.encode("utf-8")
    now = timezone.now()
    headers = {
        "content-type": "application/json",
        "user-agent": "Kefu-Webhooks/1",
        "webhook-id": delivery.message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature_header(endpoint, delivery.message_id, now, body),
    }
    code: int | None = None
    elapsed: int | None = None
    try:
        response = targets.post(endpoint.url, body, headers)
        code, elapsed = response.status, response.elapsed_ms
        error = "" if 200 <= code < 300 else f"HTTP {code}: {response.body[:300]}"
    except targets.TargetRefused as exc:
        error = str(exc)
    except Exception as exc:  # network errors of every kind: the attempt failed, the row retries
        error = durable.error_text(exc)
    return _record_attempt(delivery, attempt=attempt, code=code, elapsed=elapsed, error=error)


def _record_attempt(
    delivery: Delivery, *, attempt: int, code: int | None, elapsed: int | None, error: str
) -> str:
    now = timezone.now()
    update: dict[str, Any] = {"response_code": code, "response_ms": elapsed, "last_error": error[:2000]}
    if not error:
        status = DeliveryStatus.DELIVERED
        update.update(status=status, delivered_at=now, next_attempt_at=None)
    elif attempt >= int(settings.KEFU_WEBHOOKS_MAX_ATTEMPTS):
        status = DeliveryStatus.FAILED
        update.update(status=status, next_attempt_at=None)
    else:
        status = DeliveryStatus.PENDING  # the claim already scheduled the next attempt
    with transaction.atomic():
        # Only the attempt this worker claimed: a replay meanwhile reset the row, and wins.
        Delivery.objects.filter(pk=delivery.pk, attempts=attempt).update(**update)
        if not error:
            Endpoint.objects.filter(pk=delivery.endpoint_id).exclude(consecutive_failures=0).update(
                consecutive_failures=0
            )
        else:
            _count_failure(delivery.endpoint_id, now=now)
    return status


def _count_failure(endpoint_id: int, *, now: datetime) -> None:
    Endpoint.objects.filter(pk=endpoint_id).update(consecutive_failures=F("consecutive_failures") + 1)
    limit = int(settings.KEFU_WEBHOOKS_DISABLE_AFTER)
    if limit <= 0:
        return
    disabled = Endpoint.objects.filter(
        pk=endpoint_id, is_active=True, consecutive_failures__gte=limit
    ).update(
        is_active=False,
        disabled_at=now,
        disabled_reason=_("Disabled after {count} consecutive failed attempts.").format(count=limit),
    )
    if disabled:
        transaction.on_commit(forget_endpoints)
        public_id = Endpoint.objects.filter(pk=endpoint_id).values_list("public_id", flat=True).first()
        do_record(
            actor=None,
            action="webhook.disabled",
            target_type="webhook",
            target_id=str(public_id),
            data={"consecutive_failures": limit},
        )
        logger.warning("webhook endpoint %s disabled after %d consecutive failures", public_id, limit)


PURGE_BATCH = 1000


def purge_old_deliveries(*, now: datetime | None = None) -> int:
    """Delete delivered and failed deliveries older than ``KEFU_WEBHOOKS_KEEP_DAYS`` (pending
    ones stay whatever their age), a batch per statement so no long lock is held; returns how
    many went."""
    days = int(settings.KEFU_WEBHOOKS_KEEP_DAYS)
    if days <= 0:
        return 0
    cutoff = (now or timezone.now()) - timedelta(days=days)
    removed = 0
    while True:
        ids = list(
            Delivery.objects.filter(created_at__lt=cutoff)
            .exclude(status=DeliveryStatus.PENDING)
            .order_by("id")
            .values_list("pk", flat=True)[:PURGE_BATCH]
        )
        if not ids:
            return removed
        removed += Delivery.objects.filter(pk__in=ids).delete()[0]


def _enqueue_due(endpoint_id: int) -> None:
    from kefu.webhooks.tasks import send_webhook

    for pk in durable.due(Delivery, DeliveryStatus.PENDING, limit=1000, endpoint_id=endpoint_id):
        enqueue_on_commit(send_webhook, pk)
