"""Hand-off to a human, done once: a live chat when one can take it, else the case opens to the team.

The conversation is already a case (in the bot's stage, ``kefu.tickets.stages``) whose thread
holds every turn: the hand-off opens that same case to humans with the facts the bot collected,
so the customer never repeats themselves and nothing is copied. Urgent topics open it at once
(the security team must have a case even if nobody answers the chat) and, when live chat is
open, queue a chat too, on that case.
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
from kefu.bot.models import BotConversation, ConversationStatus
from kefu.tickets import stages
from kefu.tickets.models import ACTIVE_STATUSES, Priority, Status, Ticket


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


def case_summary(*, intent: str | None, slots: dict[str, str], reason: str) -> str:
    """The case's description at the hand-off: why, and the facts collected — not the
    conversation, which is the case's thread already."""
    facts = "\n".join(f"{slot_label(k)}: {v}" for k, v in slots.items())
    reasons = {
        "requested": _("The customer asked for a human."),
        "urgent": _("Urgent topic: handed over at once."),
        "unsolved": _("The suggested answer did not solve the problem."),
        "bot_failed": _("The assistant could not understand the customer twice."),
        "complaint": _("The customer complained or asked for escalation."),
    }
    topic = INTENT_LABELS.get(intent or "")
    return "\n\n".join(
        part
        for part in (
            reasons.get(reason, reason),
            (_("Topic: {topic}").format(topic=topic)) if topic else "",
            (_("Collected details:") + "\n" + facts) if facts else "",
        )
        if part
    )


def open_handoff_case(
    *,
    conversation: BotConversation,
    intent: str | None,
    slots: dict[str, str],
    reason: str,
    security: bool = False,
    actor: User | None = None,
) -> Ticket:
    """Open the conversation's own case to the team (routed by the intent); idempotent."""
    from kefu.bot.actions import case_of

    case = case_of(conversation)
    topic = str(INTENT_LABELS.get(intent or "", _("Conversation with the assistant")))
    first = case.title if case.status == Status.BOT and case.last_seq else ""
    # The case's title was the customer's first words; the topic goes first for the queue.
    title = f"{topic}: {first}" if first and first != topic else topic
    fields = ticket_fields(slots)
    urgent = intent in URGENT_INTENTS
    return stages.do_open_to_humans(
        ticket=case,
        title=title,
        description=case_summary(intent=intent, slots=slots, reason=reason),
        channel=case.channel,
        intent=intent,
        security=security,
        urgent=urgent,
        # A complaint or a request to escalate is handled before routine questions.
        priority=Priority.HIGH if reason == "complaint" else None,
        facts=stages.Facts(**fields),
        actor=actor,
    )


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


def live_available(*, intent: str | None, language: str, security: bool) -> bool:
    """Whether live chat would take a hand-off now (installed, open, an agent online)."""
    return _live_handoff is not None and _live_handoff.available(
        intent=intent, language=language, security=security
    )


def do_handoff(
    *,
    conversation: BotConversation,
    customer: User | None,
    intent: str | None,
    slots: dict[str, str],
    reason: str,
    security: bool = False,
    live: bool = True,
) -> Handoff:
    """Hand the conversation to a human, once; call inside the bot's transaction.

    ``live`` False: the customer's channel cannot continue in a live chat (a messaging app,
    where the agent's replies come back through the outbox): the case opens to the team.

    Live chat takes it when it is open and an agent is online for its team
    (``live_chat_available``) and the customer is known: the chat panel's own conversation is
    queued, or a chat is opened with the conversation (the HTTP API); the case stays out of the
    ticket queues while the chat serves it and opens to the team when the chat ends. Otherwise the
    case opens to the team now, a signed-out visitor's too (customer unknown until they sign
    in). Urgent topics always open it now, and queue a chat too when live chat can take it.
    """
    urgent = intent in URGENT_INTENTS
    target = _live_handoff
    live = (
        live
        and customer is not None
        and target is not None
        and target.available(intent=intent, language=conversation.language, security=security)
    )
    ticket = None
    if urgent or not live:
        ticket = open_handoff_case(
            conversation=conversation,
            intent=intent,
            slots=slots,
            reason=reason,
            security=security,
            actor=customer,
        )
    conversation.status = ConversationStatus.HANDED_OFF
    if not live or target is None or customer is None:
        return Handoff(ticket=ticket)
    chat = target.enqueue(
        bot_conversation=conversation,
        customer=customer,
        intent=intent,
        slots=slots,
        language=conversation.language,
        security=security,
        # The case once opened (urgent topics): the chat shows its number. Otherwise the case
        # stays with the bot's stage while the chat serves it; the chat opens it when it ends.
        ticket=ticket,
    )
    return Handoff(ticket=ticket, chat=chat)


def _opened(case: Ticket | None) -> Ticket | None:
    """The case while humans work on it. Before the hand-off the bot has it (its number is not
    the customer's yet); once resolved or closed the bot takes the conversation back, and a new
    request for a person reopens it."""
    return case if case is not None and case.status in ACTIVE_STATUSES else None


def current_handoff(conversation: BotConversation) -> Handoff | None:
    """Where a handed-off conversation is now: its live chat while open, else its case once
    opened to the team, else nowhere (the bot has it)."""
    chat = _live_handoff.current(conversation) if _live_handoff is not None else None
    case = (
        _opened(Ticket.objects.filter(pk=conversation.ticket_id).first()) if conversation.ticket_id else None
    )
    if chat is not None:
        return Handoff(ticket=case, chat=chat)
    if case is not None:
        return Handoff(ticket=case)
    return None
