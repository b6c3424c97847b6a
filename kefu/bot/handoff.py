"""Hand-off to a human, done once: a live chat when one can take it, else a ticket.

Either carries the transcript and the facts the bot collected, so the customer never repeats
themselves. Urgent topics get a ticket at once (the security team must have a case even if
nobody answers the chat) and, when live chat is open, a chat too, with that ticket attached.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext as _

from kefu import inputs
from kefu.accounts.models import User
from kefu.bot.flows import slot_label
from kefu.bot.intents import INTENT_LABELS, URGENT_INTENTS
from kefu.bot.models import BotConversation, Sender
from kefu.tickets.actions import check_create_ticket
from kefu.tickets.models import Category, Channel, Priority, Ticket
from kefu.tickets.seed import category_for_intent

FALLBACK_CATEGORY = "service-info"


def transcript_text(conversation: BotConversation) -> str:
    lines = []
    for turn in conversation.turns.all():
        who = _("Customer") if turn.sender == Sender.CUSTOMER else _("Bot")
        lines.append(f"[{turn.created_at:%H:%M}] {who}: {turn.text}")
    return "\n".join(lines)


def ticket_fields(slots: dict[str, str]) -> dict[str, Any]:
    """The ticket's structured fields (coin, network, amount, tx hash) from the bot's slots;
    a value that does not fit its field is left out (it is in the transcript)."""

    def text(name: str) -> str:
        value = str(slots.get(name, "")).strip()
        field = Ticket._meta.get_field(name)
        limit = field.max_length if isinstance(field, models.CharField) else None
        return value if limit is None or len(value) <= limit else ""

    try:
        # The one rule for amounts (kefu.inputs), which the ticket action applies again.
        amount = inputs.decimal_for(
            str(slots["amount"]).replace(",", "") if slots.get("amount") else None,
            Ticket._meta.get_field("amount"),
        )
    except ValidationError:
        amount = None
    return {"coin": text("coin"), "network": text("network"), "amount": amount, "tx_hash": text("tx_hash")}


def create_handoff_ticket(
    *,
    conversation: BotConversation,
    customer: User,
    intent: str | None,
    slots: dict[str, str],
    reason: str,
    security: bool = False,
) -> Ticket:
    """File the conversation as a ticket so the customer never repeats themselves."""
    category = (category_for_intent(intent) if intent else None) or Category.objects.get(
        slug=FALLBACK_CATEGORY
    )
    first = conversation.turns.filter(sender=Sender.CUSTOMER).exclude(text="").first()
    topic = str(INTENT_LABELS.get(intent or "", _("Conversation with the assistant")))
    title = f"{topic}: {first.text[:80]}" if first else topic
    facts = "\n".join(f"{slot_label(k)}: {v}" for k, v in slots.items())
    reasons = {
        "requested": _("The customer asked for a human."),
        "urgent": _("Urgent topic: handed over at once."),
        "unsolved": _("The suggested answer did not solve the problem."),
        "bot_failed": _("The assistant could not understand the customer twice."),
    }
    description = "\n\n".join(
        part
        for part in (
            reasons.get(reason, reason),
            (_("Collected details:") + "\n" + facts) if facts else "",
            _("Conversation with the assistant:") + "\n" + transcript_text(conversation),
        )
        if part
    )
    priority = Priority.URGENT if intent in URGENT_INTENTS else None
    submission = check_create_ticket(
        customer=customer,
        category=category,
        title=title[:200],
        description=description,
        channel=Channel.BOT,
        language=conversation.language,
        priority=priority,
        **ticket_fields(slots),
        force_security=security or intent in URGENT_INTENTS,
        already_guarded=True,  # each customer turn passed the guard when it came in
    )
    return submission.ticket


@dataclass
class Handoff:
    """What a hand-off did: filed a ticket, queued a live chat, or (urgent topics) both."""

    ticket: Ticket | None = None
    chat: Any = None  # kefu.chat.models.ChatConversation
    wait: Any = None  # kefu.chat.selectors.HandoffWait, right after queueing
    in_chat: bool = False  # the customer is talking in that chat already (the chat panel)

    def payload(self) -> dict[str, Any]:
        """The ``handoff`` of the bot's reply: where the customer continues."""
        ticket = self.ticket
        if self.chat is None:
            assert ticket is not None
            return {"kind": "ticket", "case_number": ticket.case_number, "url": _ticket_url(ticket)}
        from kefu.chat.selectors import chat_url

        payload: dict[str, Any] = {
            "kind": "chat",
            "chat_id": self.chat.public_id.hex,
            "url": chat_url(self.chat),
        }
        if self.wait is not None:
            payload["position"] = self.wait.position
            payload["eta_seconds"] = self.wait.eta_seconds
        if ticket is not None:
            payload["case_number"] = ticket.case_number
            payload["ticket_url"] = _ticket_url(ticket)
        return payload


def _ticket_url(ticket: Ticket) -> str:
    return reverse("tickets:portal_ticket", args=[ticket.case_number])


def _live_chat() -> bool:
    return apps.is_installed("kefu.chat")


def do_handoff(
    *,
    conversation: BotConversation,
    customer: User,
    intent: str | None,
    slots: dict[str, str],
    reason: str,
    security: bool = False,
) -> Handoff:
    """Hand the conversation to a human, once; call inside the bot's transaction.

    Live chat takes it when it is open and an agent is online for its team
    (``live_chat_available``): the chat panel's own conversation is queued, or a new chat is
    opened with the transcript (the HTTP API); no ticket now — the chat files one when it ends.
    Otherwise a ticket is filed. Urgent topics always get a ticket, and a chat too when live
    chat can take it.
    """
    urgent = intent in URGENT_INTENTS
    live = False
    if _live_chat():
        from kefu.chat.selectors import live_chat_available

        live = live_chat_available(intent=intent, language=conversation.language, security=security)
    ticket = None
    if urgent or not live:
        ticket = create_handoff_ticket(
            conversation=conversation,
            customer=customer,
            intent=intent,
            slots=slots,
            reason=reason,
            security=security,
        )
    if not live:
        return Handoff(ticket=ticket)
    from kefu.chat.actions import enqueue_from_bot
    from kefu.chat.models import ChatConversation, ChatStatus
    from kefu.chat.selectors import handoff_wait

    # An open chat linked before the hand-off is the chat panel's: the customer is in it.
    in_chat = (
        ChatConversation.objects.filter(bot_conversation=conversation)
        .exclude(status=ChatStatus.CLOSED)
        .exists()
    )
    chat = enqueue_from_bot(
        bot_conversation=conversation,
        customer=customer,
        intent=intent,
        slots=slots,
        language=conversation.language,
        security=security,
        ticket=ticket,
    )
    return Handoff(ticket=ticket, chat=chat, wait=handoff_wait(chat), in_chat=in_chat)


def current_handoff(conversation: BotConversation) -> Handoff | None:
    """Where a handed-off conversation is now: its live chat while open, else its ticket, else nowhere."""
    chat = None
    if _live_chat():
        from kefu.chat.selectors import handed_off_chat

        chat = handed_off_chat(conversation)
    if chat is not None:
        return Handoff(ticket=conversation.ticket, chat=chat)
    if conversation.ticket is not None:
        return Handoff(ticket=conversation.ticket)
    return None
