"""CSAT's reactions to other apps' events (registered in :class:`kefu.csat.apps.CsatConfig.ready`)."""

from __future__ import annotations

from kefu import events
from kefu.csat.actions import do_create_chat_survey, do_create_ticket_survey
from kefu.events import ChatClosed, TicketStatusChanged
from kefu.tickets.models import Channel, Status


def on_chat_closed(event: ChatClosed) -> None:
    # Only a chat an agent served, with a known customer, is rated (inside the closing
    # transaction, so the chat's "closed" push can carry the survey's token).
    conversation = event.conversation
    if event.agent_id is None or conversation.customer_id is None:
        return
    do_create_chat_survey(
        conversation_id=conversation.pk,
        customer_id=conversation.customer_id,
        ticket_id=conversation.ticket_id,
        agent_id=event.agent_id,
        team_id=conversation.team_id,
    )


def on_ticket_status_changed(event: TicketStatusChanged) -> None:
    # Every resolution is rated, whether or not a mail announces it (the customer's page offers
    # the same survey). Get-or-create: the resolution mail, if its subscriber runs first, has
    # already asked for this survey.
    # A resolution filed by a live chat's close is rated by that chat's own survey (ChatClosed).
    if event.status != Status.RESOLVED or event.previous == Status.RESOLVED:
        return
    if event.message is not None and event.message.channel == Channel.CHAT:
        return
    if event.ticket.customer_id is None:  # nobody known to ask (the case's channel may, later)
        return
    do_create_ticket_survey(ticket=event.ticket)


def register() -> None:
    events.subscribe(ChatClosed, on_chat_closed, when=events.IN_TRANSACTION)
    events.subscribe(TicketStatusChanged, on_ticket_status_changed, when=events.IN_TRANSACTION)
