"""Outbound deliveries: a message on its way to the customer on the channel its case came from.

A pushing channel's adapter sends each row (``send``), retried with back-off by the job
``kefu.inbox.tasks.deliver``, failed for good after the maximum attempts (admins see it in the
admin's outbound deliveries and can retry it). Email keeps its own outbox
(``kefu.mail.models.OutboundMail``: rendered mails, acknowledgements and resolutions that are not
messages, Message-ID threading) and feeds each message's state here with
:func:`do_record_delivery`, so the agent view reads one model for every channel.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Count, Max
from django.utils import timezone

from kefu.inbox import durable
from kefu.inbox.adapters.base import SendRejected, adapter_for
from kefu.inbox.models import DeliveryStatus, Inbox, OutboundDelivery
from kefu.tickets.models import Message

logger = logging.getLogger(__name__)
# A later reply is tried this long after the earlier one it waits for.
ORDER_GAP = timedelta(seconds=1)


def enqueue_delivery(pk: int) -> None:
    from kefu.inbox.tasks import deliver
    from kefu.jobs.engine import enqueue_on_commit

    enqueue_on_commit(deliver, pk)


def do_queue_delivery(message: Message, inbox: Inbox) -> OutboundDelivery:
    """Queue a message for a pushing channel, in the caller's transaction (once per channel)."""
    delivery, created = OutboundDelivery.objects.get_or_create(
        message=message,
        channel=inbox.kind,
        defaults={"inbox": inbox, "next_attempt_at": timezone.now()},
    )
    if created:
        enqueue_delivery(delivery.pk)
    return delivery


def _waits_for_an_earlier(pk: int) -> bool:
    """A reply must not overtake an earlier one of the same case on the same channel (the
    earlier one refused with a 429, retried later): this one is moved behind it."""
    row = (
        OutboundDelivery.objects.filter(pk=pk, status=DeliveryStatus.QUEUED)
        .values("channel", "message__ticket_id", "message__seq")
        .first()
    )
    if row is None:
        return False
    earlier = OutboundDelivery.objects.filter(
        channel=row["channel"],
        status=DeliveryStatus.QUEUED,
        message__ticket_id=row["message__ticket_id"],
        message__seq__lt=row["message__seq"],
    ).aggregate(latest=Max("next_attempt_at"), count=Count("id"))
    if not earlier["count"]:
        return False
    after = max(earlier["latest"] or timezone.now(), timezone.now()) + ORDER_GAP
    OutboundDelivery.objects.filter(pk=pk, status=DeliveryStatus.QUEUED).update(next_attempt_at=after)
    return True


def send_delivery(pk: int) -> bool:
    """The job: send one queued delivery if due and this caller wins the claim; True if sent.
    Replies of one case go out in their order (an earlier one being retried holds the later)."""
    if _waits_for_an_earlier(pk):
        return False
    attempt = durable.claim(OutboundDelivery, pk, DeliveryStatus.QUEUED)
    if attempt is None:
        return False
    delivery = OutboundDelivery.objects.select_related("inbox", "message", "message__ticket").get(pk=pk)
    try:
        sent = adapter_for(delivery.channel).send(delivery)
    except Exception as exc:
        logger.warning("delivery %s failed (attempt %s): %s", pk, attempt, type(exc).__name__)
        # A refusal for good (SendRejected) fails at once: retrying cannot change the answer.
        failed = attempt >= durable.max_attempts() or isinstance(exc, SendRejected)
        # Only while the row is still this attempt's (one that outlived its claim must not
        # queue again what another attempt sent).
        values: dict[str, object] = {
            "status": DeliveryStatus.FAILED if failed else DeliveryStatus.QUEUED,
            "last_error": durable.error_text(exc),
        }
        # The provider said when to come back (Telegram's 429 ``retry_after``): then, not the
        # back-off's guess — sooner is refused again, later delays the customer for nothing.
        retry_after = getattr(exc, "retry_after", None)
        if not failed and isinstance(retry_after, int | float) and retry_after >= 0:
            values["next_attempt_at"] = timezone.now() + timedelta(seconds=float(retry_after))
        OutboundDelivery.objects.filter(pk=pk, status=DeliveryStatus.QUEUED, attempts=attempt).update(**values)
        return False
    OutboundDelivery.objects.filter(pk=pk).update(
        status=DeliveryStatus.SENT, sent_at=timezone.now(), provider_id=sent.provider_id[:998], last_error=""
    )
    return True


def do_record_delivery(
    *,
    message_id: int,
    channel: str,
    status: str,
    attempts: int,
    next_attempt_at: datetime | None,
    provider_id: str = "",
    last_error: str = "",
    sent_at: datetime | None = None,
) -> None:
    """A channel with its own outbox (email) records where a message's delivery stands."""
    OutboundDelivery.objects.update_or_create(
        message_id=message_id,
        channel=channel,
        defaults={
            "status": status,
            "attempts": attempts,
            "next_attempt_at": next_attempt_at,
            "provider_id": provider_id[:998],
            "last_error": last_error,
            "sent_at": sent_at,
        },
    )


def do_retry_deliveries(ids: Iterable[int]) -> int:
    """An admin sends failed deliveries back to the outbox now (not email's: its outbox retries)."""
    ids = list(ids)
    own = [kind for kind, adapter in _pushing().items() if not getattr(adapter, "keeps_own_outbox", False)]
    with transaction.atomic():
        rows = list(
            OutboundDelivery.objects.filter(
                pk__in=ids, channel__in=own, status__in=(DeliveryStatus.FAILED, DeliveryStatus.QUEUED)
            ).values_list("pk", flat=True)
        )
        OutboundDelivery.objects.filter(pk__in=rows).update(
            status=DeliveryStatus.QUEUED, attempts=0, next_attempt_at=timezone.now()
        )
        for pk in rows:
            enqueue_delivery(pk)
    return len(rows)


def _pushing() -> dict[str, object]:
    from kefu.inbox.adapters.base import registered

    return {kind: adapter for kind, adapter in registered().items() if adapter.pushes}
