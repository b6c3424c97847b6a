"""Live chat's reaction to a case's events: a message added to the case through another way in
(the agent's ticket view, the API, mail) while the customer has a chat open on it appears in
that chat at once — the thread is one, so the chat must not wait for its next message to
notice the gap (the consumers fill gaps by number, which stays the safety net)."""

from __future__ import annotations

from kefu import events
from kefu.chat.models import ChatConversation, ChatStatus
from kefu.events import MessageAdded
from kefu.tickets.models import Channel


def on_message_added(event: MessageAdded) -> None:
    message = event.message
    if message.channel == Channel.CHAT:
        return  # chat's own writers publish their messages
    conversation = (
        ChatConversation.objects.filter(ticket_id=event.ticket.pk)
        .exclude(status=ChatStatus.CLOSED)
        .order_by("-id")
        .first()
    )
    if conversation is None:
        return
    from kefu.chat.actions import publish_message

    # Published after the commit; internal notes reach staff only (the consumers' rule).
    publish_message(conversation, message)


def register() -> None:
    events.subscribe(MessageAdded, on_message_added, when=events.IN_TRANSACTION)
