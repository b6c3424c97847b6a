"""The outbox's reaction to a case's events: an agent's public reply is delivered on the channel
the case came from, when that channel pushes (the portal and the API show it instead; email's
own outbox sends it and records its delivery, see kefu.inbox.adapters.email)."""

from __future__ import annotations

from kefu import events
from kefu.events import MessageAdded
from kefu.inbox.actions import do_queue_delivery
from kefu.inbox.adapters.base import adapter_for
from kefu.tickets.models import MessageKind


def on_message_added(event: MessageAdded) -> None:
    message = event.message
    if message.kind != MessageKind.PUBLIC or message.author is None or not message.author.is_agent:
        return
    from kefu.inbox.pipeline import origin_inbox

    inbox = origin_inbox(event.ticket)
    if inbox is None:
        return
    try:
        adapter = adapter_for(inbox.kind)
    except LookupError:
        return
    if adapter.pushes and not getattr(adapter, "keeps_own_outbox", False):
        do_queue_delivery(message, inbox)


def register() -> None:
    events.subscribe(MessageAdded, on_message_added, when=events.IN_TRANSACTION)
