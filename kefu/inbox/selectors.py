"""Reads of the inbox app: each message's delivery status, for the agent's view of a case."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from kefu.inbox.models import OutboundDelivery
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
