"""The events a webhook endpoint can subscribe to, and their versioned payloads.

Payloads are minimal by design (``"version": 1``): the case number and ids, status, channel,
category, priority and times — enough for a receiver to react or to fetch the rest through the
API with its own token. Titles, message texts, the customer's id and email, coins, networks,
amounts and hashes are added only for an endpoint with ``include_sensitive``; everything in them
already passed the guard (secrets hidden) when it was stored. Shape (Standard Webhooks)::

    {"type": "ticket.created", "timestamp": "...", "version": 1, "data": {...}}

A new field may be added within a version; renaming or removing one makes version 2.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kefu.tickets.models import Message, Ticket

VERSION = 1

EVENT_TYPES: dict[str, Any] = {
    "ticket.created": _("A case was opened (after the bot's hand-off for a conversation with the bot)"),
    "message.created": _("A reply or an internal note was added to a case"),
    "ticket.status_changed": _("A case's status changed"),
    "ticket.resolved": _("A case was resolved"),
    "ticket.assigned": _("A case's assignee changed"),
    "sla.breached": _("A service-level target was missed"),
}
# Sent only by the admin's test button, whatever the endpoint subscribed to.
TEST_EVENT = "webhook.test"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def ticket_data(ticket: Ticket, *, sensitive: bool) -> dict[str, Any]:
    data: dict[str, Any] = {
        "case_number": ticket.case_number,
        "status": ticket.status,
        "channel": ticket.channel,
        "category": ticket.category.slug,
        "priority": ticket.priority,
        "tier": ticket.tier,
        "team": ticket.team.slug if ticket.team_id and ticket.team else None,
        "created_at": _iso(ticket.created_at),
    }
    if sensitive:
        customer = ticket.customer
        data.update(
            title=ticket.title,
            customer=(
                {"id": str(customer.public_id), "email": customer.email} if customer is not None else None
            ),
            coin=ticket.coin,
            network=ticket.network,
            amount=ticket.amount_text or None,
            tx_hash=ticket.tx_hash,
            order_number=ticket.order_number,
        )
    return data


def message_data(message: Message, *, sensitive: bool) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": str(message.public_id),
        "seq": message.seq,
        "kind": message.kind,
        "sender": message.sender,
        "channel": message.channel,
        "created_at": _iso(message.created_at),
    }
    if sensitive:
        data["body"] = message.body
    return data


def envelope(event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": event_type,
        "timestamp": timezone.now().isoformat(),
        "version": VERSION,
        "data": data,
    }
