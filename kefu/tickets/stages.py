"""A case's bot stage: opened with the customer's first words to the assistant, opened to humans
at the hand-off — the same case, so nothing is copied.

A conversation with the bot is a case from its first message (``Status.BOT``): its turns are the
case's thread (``kefu.tickets.thread``), it is outside every agents' queue, list, count and
search (``VISIBLE_Q``), its number is not shown to the customer, and it may have no known
customer (a signed-out visitor). The hand-off moves it to ``new`` with the category, team and
priority of the one routing function and announces it as a created case (``TicketCreated``):
SLA clocks, the acknowledgement mail and the search index start from the hand-off, as for a
case filed in the portal.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from kefu import events, inputs
from kefu.accounts.models import User
from kefu.audit.actions import do_record
from kefu.events import TicketCreated
from kefu.tickets import routing, search, thread
from kefu.tickets.models import Category, Channel, MessageKind, Sender, Status, Ticket

TITLE_LIMIT = 200


def do_open_bot_case(*, customer: User | None, channel: str = Channel.BOT, language: str) -> Ticket:
    """A case in the bot's stage, for a conversation's first message. ``customer`` may be None."""
    category = routing.fallback_category()  # neutral until the hand-off knows the topic
    if category is None:
        category = Category.objects.order_by("id").first()
    if category is None:
        raise RuntimeError("no ticket category exists: run the migrations' seed")
    with override(language):
        title = _("Conversation with the assistant")
    from kefu.tickets.actions import create_case

    with transaction.atomic():
        return create_case(
            customer=customer,
            category=category,
            title=str(title),
            description="",
            status=Status.BOT,
            channel=channel,
            language=language or "zh-hans",
        )


def note_first_words(ticket: Ticket, text: str) -> None:
    """The case's title from the customer's first message (guarded by the caller)."""
    text = " ".join((text or "").split())
    if not text or ticket.status != Status.BOT or ticket.last_seq > 1:
        return
    ticket.title = text[:80]
    Ticket.objects.filter(pk=ticket.pk).update(title=ticket.title)


def do_adopt_case(*, ticket: Ticket, customer: User) -> Ticket:
    """A visitor signed in during the conversation: the case becomes theirs (never someone else's)."""
    updated = Ticket.objects.filter(pk=ticket.pk, customer__isnull=True).update(customer=customer)
    if updated:
        ticket.customer = customer
        # Their own messages so far were written by "nobody": they are theirs now.
        ticket.messages.filter(sender=Sender.CUSTOMER, author__isnull=True).update(author=customer)
    return ticket


@dataclass(frozen=True)
class Facts:
    """What the hand-off knows about the problem: the case's structured fields."""

    coin: str = ""
    network: str = ""
    amount: Decimal | None = None
    tx_hash: str = ""


def do_open_to_humans(
    *,
    ticket: Ticket,
    title: str,
    description: str,
    channel: str,
    category: Category | None = None,
    intent: str | None = None,
    priority: int | None = None,
    security: bool = False,
    urgent: bool = False,
    facts: Facts | None = None,
    note: str = "",
    actor: User | None = None,
    ip_address: str | None = None,
) -> Ticket:
    """Hand a bot-stage case to humans: route it and announce it as created. Idempotent: a case
    humans have already is returned as it is, reopened if it was resolved or closed (the
    customer came back to the assistant and asked for a person again).

    ``description``: a short summary of what was collected (the thread holds the conversation);
    its parts passed the secret guard where they came in. ``note``: why it was handed over, for
    agents (a system event in the thread). Routing is :func:`kefu.tickets.routing.route`'s.
    """
    facts = facts or Facts()
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
        if ticket.status in (Status.RESOLVED, Status.CLOSED) and ticket.merged_into_id is None:
            from kefu.tickets.actions import do_reopen

            return do_reopen(ticket=ticket, actor=actor, ip_address=ip_address)  # type: ignore[arg-type]
        if ticket.status != Status.BOT:
            return ticket
        routed = routing.route(
            category=category, intent=intent, security=security, urgent=urgent, priority=priority
        )
        if routed.category is not None:
            ticket.category = routed.category
        ticket.team = routed.team
        ticket.priority = routed.priority
        ticket.security_flag = ticket.security_flag or routed.security
        ticket.status = Status.NEW
        ticket.title = inputs.strip_nul(title).strip()[:TITLE_LIMIT] or ticket.title
        ticket.description = inputs.strip_nul(description)
        ticket.coin = facts.coin[:20].upper()
        ticket.network = facts.network[:40]
        ticket.amount = facts.amount
        ticket.tx_hash = facts.tx_hash[:130]
        # Queues, ages, reports and SLA clocks count from when humans were asked, as for a case
        # filed in the portal; the thread keeps when the conversation itself began.
        ticket.created_at = timezone.now()
        ticket.save()
        with override(ticket.language):
            body = note or _("The assistant handed this conversation to the support team.")
        message = thread.append(
            ticket, kind=MessageKind.SYSTEM, sender=Sender.SYSTEM, body=body, channel=channel,
            extra={"event": "handed_off"},
        )  # fmt: skip
        do_record(
            actor=actor,
            action="ticket.created",
            target_type="ticket",
            target_id=ticket.case_number,
            data={
                "category": ticket.category.slug,
                "channel": channel,
                "team": ticket.team.slug if ticket.team else None,
                "handed_off": True,
            },
            ip_address=ip_address,
        )
        events.publish(TicketCreated(ticket=ticket, message=message))
        # The search subscriber indexed the event's message; the whole thread is the case's text.
        search.index_ticket(ticket)
    return ticket
