"""Reads of the mail channel: the original of an emailed message, a ticket's mail history."""

from __future__ import annotations

from django.db.models import QuerySet

from kefu.mail.models import EmailMessageLink, OutboundMail
from kefu.tickets.models import Message, Ticket


def original_email_text(message: Message) -> str | None:
    """The full decoded mail (quoted history included, secrets redacted) behind a ticket message.

    For agents: the ticket shows what the customer wrote this time; this is everything the mail
    contained. None if the message did not arrive by mail. Only show it to staff.
    """
    link = EmailMessageLink.objects.select_related("inbound").filter(message=message).first()
    return link.inbound.full_text if link is not None else None


def originals_for(messages: list[Message]) -> dict[int, str]:
    """Message pk → full mail text, for a whole thread in one query."""
    links = EmailMessageLink.objects.filter(message__in=messages).values_list(
        "message_id", "inbound__full_text"
    )
    return dict(links)


def outbound_for_ticket(ticket: Ticket) -> QuerySet[OutboundMail]:
    """Mail sent (or queued) about a ticket, newest first: what the customer was told and when."""
    return OutboundMail.objects.filter(ticket=ticket).order_by("-id")
