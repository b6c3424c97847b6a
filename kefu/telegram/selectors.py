"""Reads for the Telegram channel."""

from __future__ import annotations

from kefu.inbox.models import InboundEvent, Inbox
from kefu.tickets.models import Ticket


def chat_of(ticket: Ticket, inbox: Inbox | None) -> str | None:
    """The Telegram chat a case talks to: the contact of its latest event on the inbox."""
    events = InboundEvent.objects.filter(ticket=ticket, contact__isnull=False)
    if inbox is not None:
        events = events.filter(inbox=inbox)
    address = events.order_by("-id").values_list("contact__address", flat=True).first()
    return address or None
