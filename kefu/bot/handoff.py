"""Hand-off: the conversation becomes a ticket carrying the transcript and the collected facts."""

from __future__ import annotations

from django.utils.translation import gettext as _

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
    from decimal import Decimal, InvalidOperation

    try:
        amount = Decimal(slots["amount"]) if slots.get("amount") else None
    except InvalidOperation:
        amount = None
    submission = check_create_ticket(
        customer=customer,
        category=category,
        title=title[:200],
        description=description,
        channel=Channel.BOT,
        language=conversation.language,
        priority=priority,
        coin=slots.get("coin", ""),
        network=slots.get("network", ""),
        amount=amount,
        tx_hash=slots.get("tx_hash", ""),
        force_security=security or intent in URGENT_INTENTS,
        already_guarded=True,  # each customer turn passed the guard when it came in
    )
    return submission.ticket
