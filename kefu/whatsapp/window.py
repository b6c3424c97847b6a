"""The 24-hour customer-service window: WhatsApp lets a business send free text only within 24
hours of the customer's last message; after that only an approved template (which reopens the
conversation when the customer answers).

The window belongs to the customer's number, not to one case: any message they sent to this
inbox opens it. Kefu counts from when it received the message (a few seconds after the customer
sent it), so it never believes the window open when WhatsApp already closed it... except by
those seconds, which the provider's own refusal (131047) covers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Max, Q
from django.utils import timezone

from kefu.inbox.models import InboundEvent, InboxKind
from kefu.tickets.models import Channel, Ticket

WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class WindowState:
    applies: bool  # the case's replies go out on WhatsApp
    open: bool  # free text may be sent now
    closes_at: datetime | None  # when the window closes (closed at); None: never opened

    def seconds_left(self, now: datetime | None = None) -> int:
        if not self.open or self.closes_at is None:
            return 0
        return max(0, int((self.closes_at - (now or timezone.now())).total_seconds()))


def applies(ticket: Ticket) -> bool:
    """Whether the case's agent replies go out on WhatsApp: a case opened there carries the
    channel (``pipeline.origin_inbox`` would say the same with a query; every agent page asks)."""
    return ticket.channel == Channel.WHATSAPP


def last_customer_message_at(ticket: Ticket) -> datetime | None:
    """When the customer last wrote on WhatsApp: on this case, or on anything else from the
    numbers that wrote on it (the window is the number's)."""
    events = InboundEvent.objects.filter(inbox__kind=InboxKind.WHATSAPP)
    contacts = events.filter(ticket=ticket, contact__isnull=False).values("contact_id")
    found: datetime | None = events.filter(Q(ticket=ticket) | Q(contact_id__in=contacts)).aggregate(
        last=Max("received_at")
    )["last"]
    return found


def state(ticket: Ticket, *, now: datetime | None = None) -> WindowState:
    if not applies(ticket):
        return WindowState(applies=False, open=True, closes_at=None)
    last = last_customer_message_at(ticket)
    if last is None:
        return WindowState(applies=True, open=False, closes_at=None)
    closes_at = last + WINDOW
    return WindowState(applies=True, open=(now or timezone.now()) < closes_at, closes_at=closes_at)
