"""Reads of the inbox app: each message's delivery status, for the agent's view of a case."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from kefu.inbox.models import Inbox, OutboundDelivery
from kefu.tickets.models import Message


@dataclass(frozen=True)
class DeliveryView:
    channel: str
    status: str  # inbox.DeliveryStatus
    attempts: int
    last_error: str
    sent_at: datetime | None
    next_attempt_at: datetime | None


def deliveries_for(messages: Iterable[Message]) -> dict[int, list[DeliveryView]]:
    """Message id → its deliveries (one query); messages never pushed anywhere are absent."""
    ids = [message.pk for message in messages]
    out: dict[int, list[DeliveryView]] = {}
    if not ids:
        return out
    rows = OutboundDelivery.objects.filter(message_id__in=ids).order_by("id")
    for row in rows:
        out.setdefault(row.message_id, []).append(
            DeliveryView(
                channel=row.channel,
                status=row.status,
                attempts=row.attempts,
                last_error=row.last_error,
                sent_at=row.sent_at,
                next_attempt_at=row.next_attempt_at,
            )
        )
    return out


@dataclass(frozen=True)
class Activity:
    """What an inbox received and sent lately, for its health on the admin's inbox page and in
    ``kefu check`` (the adapter's own ``health()`` says whether the provider answers)."""

    last_received_at: datetime | None
    last_error: str
    last_error_at: datetime | None
    pending_events: int  # received, not processed yet (ours, not the provider's)
    failed_events: int
    queued_deliveries: int
    failed_deliveries: int


def inbox_activity(inbox: Inbox) -> Activity:
    from django.db.models import Count, Max, Q

    from kefu.inbox.models import DeliveryStatus, EventStatus, InboundEvent

    events = InboundEvent.objects.filter(inbox=inbox).aggregate(
        last=Max("received_at"),
        pending=Count("id", filter=Q(status=EventStatus.PENDING)),
        failed=Count("id", filter=Q(status=EventStatus.FAILED)),
    )
    deliveries = OutboundDelivery.objects.filter(inbox=inbox).aggregate(
        queued=Count("id", filter=Q(status=DeliveryStatus.QUEUED)),
        failed=Count("id", filter=Q(status=DeliveryStatus.FAILED)),
    )
    # The latest error of either direction (an event's processing, a delivery's send).
    errors = [
        row
        for row in (
            InboundEvent.objects.filter(inbox=inbox)
            .exclude(last_error="")
            .order_by("-id")
            .values_list("received_at", "last_error")
            .first(),
            OutboundDelivery.objects.filter(inbox=inbox)
            .exclude(last_error="")
            .order_by("-id")
            .values_list("created_at", "last_error")
            .first(),
        )
        if row is not None
    ]
    latest = max(errors, key=lambda row: row[0]) if errors else None
    return Activity(
        last_received_at=events["last"],
        last_error=latest[1][:300] if latest else "",
        last_error_at=latest[0] if latest else None,
        pending_events=events["pending"],
        failed_events=events["failed"],
        queued_deliveries=deliveries["queued"],
        failed_deliveries=deliveries["failed"],
    )
