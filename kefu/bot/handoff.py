"""Hand-off to a human, done once: a live chat when one can take it, else a ticket.

Either carries the transcript and the facts the bot collected, so the customer never repeats
themselves. Urgent topics get a ticket at once (the security team must have a case even if
nobody answers the chat) and, when live chat is open, a chat too, with that ticket attached.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

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


@dataclass(frozen=True)
class QueueWait:
    """Where a chat stands right after the hand-off queued it, for the bot's reply."""

    position: int
    eta_seconds: int | None
    agent_free: bool  # an eligible agent has a free slot: it is taken as soon as the hand-off commits


@dataclass(frozen=True)
class LiveChat:
    """A live chat a conversation was handed to, as the bot reports it to the customer."""

    chat_id: str  # the chat's public id, hex
    url: str  # where the customer continues it
    wait: QueueWait | None = None  # right after queueing
    in_chat: bool = False  # the customer is talking in that chat already (the chat panel)


class LiveHandoff(Protocol):
    """What the bot needs from live chat, implemented by the live-chat app.

    The bot never imports live chat (an import-linter contract): kefu.chat registers its
    implementation in ``ChatConfig.ready()`` with :func:`register_live_handoff`; without one
    (live chat not installed) every hand-off files a ticket.
    """

    def available(self, *, intent: str | None, language: str, security: bool) -> bool:
        """Whether a hand-off should queue for live chat now (open, an agent online)."""
        ...

    def enqueue(
        self,
        *,
        bot_conversation: BotConversation,
        customer: User,
        intent: str | None,
        slots: dict[str, str],
        language: str,
        security: bool,
        ticket: Ticket | None,
    ) -> LiveChat:
        """Queue the conversation for a human, inside the bot's transaction; idempotent."""
        ...

    def current(self, bot_conversation: BotConversation) -> LiveChat | None:
        """The chat the conversation was handed to while it waits for or is with an agent."""
        ...


_live_handoff: LiveHandoff | None = None


def register_live_handoff(target: LiveHandoff | None) -> None:
    """Live chat offers itself for hand-offs (from its ``AppConfig.ready()``); None withdraws it."""
    global _live_handoff
    _live_handoff = target


@dataclass
class Handoff:
    """What a hand-off did: filed a ticket, queued a live chat, or (urgent topics) both."""

    ticket: Ticket | None = None
    chat: LiveChat | None = None

    @property
    def wait(self) -> QueueWait | None:
        return self.chat.wait if self.chat is not None else None

    @property
    def in_chat(self) -> bool:
        return self.chat is not None and self.chat.in_chat

    def payload(self) -> dict[str, Any]:
        """The ``handoff`` of the bot's reply: where the customer continues."""
        ticket = self.ticket
        if self.chat is None:
            assert ticket is not None
            return {"kind": "ticket", "case_number": ticket.case_number, "url": _ticket_url(ticket)}
        payload: dict[str, Any] = {"kind": "chat", "chat_id": self.chat.chat_id, "url": self.chat.url}
        if self.wait is not None:
            payload["position"] = self.wait.position
            payload["eta_seconds"] = self.wait.eta_seconds
        if ticket is not None:
            payload["case_number"] = ticket.case_number
            payload["ticket_url"] = _ticket_url(ticket)
        return payload


def _ticket_url(ticket: Ticket) -> str:
    return reverse("tickets:portal_ticket", args=[ticket.case_number])


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
    target = _live_handoff
    live = target is not None and target.available(
        intent=intent, language=conversation.language, security=security
    )
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
    if not live or target is None:
        return Handoff(ticket=ticket)
    chat = target.enqueue(
        bot_conversation=conversation,
        customer=customer,
        intent=intent,
        slots=slots,
        language=conversation.language,
        security=security,
        ticket=ticket,
    )
    return Handoff(ticket=ticket, chat=chat)


def current_handoff(conversation: BotConversation) -> Handoff | None:
    """Where a handed-off conversation is now: its live chat while open, else its ticket, else nowhere."""
    chat = _live_handoff.current(conversation) if _live_handoff is not None else None
    if chat is not None:
        return Handoff(ticket=conversation.ticket, chat=chat)
    if conversation.ticket is not None:
        return Handoff(ticket=conversation.ticket)
    return None
