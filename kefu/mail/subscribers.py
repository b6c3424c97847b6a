"""Mail's reactions to ticket events: the customer's acknowledgement, reply and resolution mails.

Registered in :class:`kefu.mail.apps.MailConfig.ready`; all run inside the publishing
transaction, so an outbox row exists exactly when the change it announces commits (the
row's job is enqueued after commit by :func:`kefu.mail.outbound.queue_outbound`).
"""

from __future__ import annotations

from kefu import events
from kefu.events import MessageAdded, TicketCreated, TicketStatusChanged
from kefu.mail.outbound import notify_agent_reply, notify_resolved, notify_ticket_created
from kefu.tickets.models import Status


def on_ticket_created(event: TicketCreated) -> None:
    notify_ticket_created(event.ticket, secret_warning=event.secret_warning)


def on_message_added(event: MessageAdded) -> None:
    # The reply's mail carries a resolution the reply made (one mail, not two).
    notify_agent_reply(event.message, requested_status=event.requested_status)


def on_status_changed(event: TicketStatusChanged) -> None:
    # A change that came with a message is announced by that message's mail (or, for an
    # internal note, not at all): only a bare status change mails the resolution here.
    if event.status == Status.RESOLVED and event.message is None:
        notify_resolved(event.ticket)


def register() -> None:
    events.subscribe(TicketCreated, on_ticket_created, when=events.IN_TRANSACTION)
    events.subscribe(MessageAdded, on_message_added, when=events.IN_TRANSACTION)
    events.subscribe(TicketStatusChanged, on_status_changed, when=events.IN_TRANSACTION)
