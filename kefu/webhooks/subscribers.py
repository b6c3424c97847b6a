"""Webhooks' reactions to domain events (registered in :class:`kefu.webhooks.apps.WebhooksConfig.ready`).

Inside the publishing transaction (``IN_TRANSACTION``): the delivery rows commit or roll back
with the change, so an announced change is never lost and a rolled-back one never announced;
the HTTP requests leave later, from jobs. A case in the bot's stage is not a ticket yet: its
events are not announced (its hand-off publishes ``TicketCreated``).
"""

from __future__ import annotations

from typing import Any

from kefu import events
from kefu.events import MessageAdded, SlaBreached, TicketAssigned, TicketCreated, TicketStatusChanged
from kefu.tickets.models import Status, Ticket
from kefu.webhooks.actions import queue_event
from kefu.webhooks.payloads import message_data, ticket_data


def _visible(ticket: Ticket) -> bool:
    return ticket.status != Status.BOT


def _queue_with_message(name: str, ticket: Ticket, message: Any) -> None:
    """A case event that carries one message (created, a message added)."""
    if not _visible(ticket):
        return

    def build(sensitive: bool) -> dict[str, Any]:
        return {
            "ticket": ticket_data(ticket, sensitive=sensitive),
            "message": message_data(message, sensitive=sensitive),
        }

    queue_event(name, build)


def on_ticket_created(event: TicketCreated) -> None:
    _queue_with_message("ticket.created", event.ticket, event.message)


def on_message_added(event: MessageAdded) -> None:
    _queue_with_message("message.created", event.ticket, event.message)


def on_status_changed(event: TicketStatusChanged) -> None:
    if not _visible(event.ticket):
        return

    def build(sensitive: bool) -> dict[str, Any]:
        return {
            "ticket": ticket_data(event.ticket, sensitive=sensitive),
            "previous_status": event.previous,
            "status": event.status,
            "reason": event.reason,
        }

    queue_event("ticket.status_changed", build)
    if event.status == Status.RESOLVED:
        queue_event("ticket.resolved", build)


def on_assigned(event: TicketAssigned) -> None:
    if not _visible(event.ticket):
        return

    def build(sensitive: bool) -> dict[str, Any]:
        assignee = event.assignee
        return {
            "ticket": ticket_data(event.ticket, sensitive=sensitive),
            # Staff are named by their public id; their email only with sensitive fields.
            "assignee": (
                None
                if assignee is None
                else {"id": str(assignee.public_id), **({"email": assignee.email} if sensitive else {})}
            ),
        }

    queue_event("ticket.assigned", build)


def on_sla_breached(event: SlaBreached) -> None:
    if not _visible(event.ticket):
        return

    def build(sensitive: bool) -> dict[str, Any]:
        timer = event.timer
        return {
            "ticket": ticket_data(event.ticket, sensitive=sensitive),
            "target": timer.kind,
            "due_at": timer.due_at.isoformat() if timer.due_at else None,
            "breached_at": timer.breached_at.isoformat() if timer.breached_at else None,
        }

    queue_event("sla.breached", build)


def register() -> None:
    events.subscribe(TicketCreated, on_ticket_created, when=events.IN_TRANSACTION)
    events.subscribe(MessageAdded, on_message_added, when=events.IN_TRANSACTION)
    events.subscribe(TicketStatusChanged, on_status_changed, when=events.IN_TRANSACTION)
    events.subscribe(TicketAssigned, on_assigned, when=events.IN_TRANSACTION)
    events.subscribe(SlaBreached, on_sla_breached, when=events.IN_TRANSACTION)
