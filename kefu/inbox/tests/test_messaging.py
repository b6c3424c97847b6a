"""The messaging core: a conversational inbox (Telegram, WhatsApp) for contacts not linked to a
customer — the bot answers first (a bot-stage case without a customer, the widget's dialogue),
the hand-off opens that case to the team, and the bot's and the agents' messages are delivered on
the inbox by the outbox's job. Without the bot, a stranger's message opens a case directly.

The channel is the pipeline test's webhook-style adapter (``HookAdapter``); Telegram's own tests
(kefu/inbox/tests/test_telegram.py) run the same steps against a local Bot API server.
"""

from __future__ import annotations

import pytest
from mnemonic import Mnemonic

from kefu.inbox import pipeline
from kefu.inbox.actions import send_delivery
from kefu.inbox.models import DeliveryStatus, EventStatus, InboundEvent, Inbox, OutboundDelivery
from kefu.inbox.tests.test_pipeline import HookAdapter, _hook, hook_inbox  # noqa: F401
from kefu.mail.tests.test_safety import everything_stored
from kefu.tickets.actions import check_add_message
from kefu.tickets.models import Sender, Status

pytestmark = pytest.mark.django_db

PHRASE = Mnemonic("english").to_mnemonic(bytes(range(80, 96)))


def _say(inbox: Inbox, key: str, text: str, sender: str = "tg:1001") -> InboundEvent:
    [event] = pipeline.receive(inbox, _hook((key, sender, text))).events
    pipeline.process(event.pk)
    event.refresh_from_db()
    assert event.status == EventStatus.PROCESSED, (event.status, event.ignore_reason, event.last_error)
    return event


def _send_all() -> list[OutboundDelivery]:
    """Run the outbox's job for every queued delivery, as the worker does."""
    for pk in OutboundDelivery.objects.filter(status=DeliveryStatus.QUEUED).values_list("pk", flat=True):
        send_delivery(pk)
    return list(OutboundDelivery.objects.order_by("id"))


def test_a_stranger_talks_to_the_bot_reaches_a_human_and_gets_the_agents_reply(hook_inbox, agent):  # noqa: F811
    inbox, _adapter = hook_inbox
    Inbox.objects.filter(pk=inbox.pk).update(bot_enabled=True)
    inbox.refresh_from_db()

    first = _say(inbox, "t1", "My USDT deposit has not arrived")
    case = first.ticket
    # A case in the bot's stage, no customer (nobody linked this contact): the widget's machinery.
    assert case.status == Status.BOT and case.customer_id is None
    assert first.message.sender == Sender.CUSTOMER and first.message.external_id == "t1"
    [bot_reply] = case.messages.filter(sender=Sender.BOT)
    # The bot's reply is delivered on the inbox by the outbox's job.
    [delivery] = _send_all()
    assert (delivery.message_id, delivery.status) == (bot_reply.pk, DeliveryStatus.SENT)
    assert HookAdapter.sent == [bot_reply.pk]

    # The same conversation continues; a redelivery of a message adds nothing.
    second = _say(inbox, "t2", "talk to a human")
    assert _say(inbox, "t2", "talk to a human").pk == second.pk
    assert second.ticket_id == case.pk
    case.refresh_from_db()
    # The hand-off opened the same case to the team (no live chat, no "sign in first").
    assert case.status == Status.NEW and case.customer_id is None and case.team is not None
    handed = case.messages.filter(sender=Sender.BOT).order_by("-seq").first()
    assert case.case_number in handed.body and "sign in" not in handed.body.lower()
    _send_all()
    assert HookAdapter.sent[-1] == handed.pk

    # The agent answers from the workspace: the reply reaches the chat.
    agent.teams.add(case.team)
    reply = check_add_message(ticket=case, author=agent, body="Your deposit is confirmed now.").message
    _send_all()
    assert HookAdapter.sent[-1] == reply.pk
    assert OutboundDelivery.objects.get(message=reply).status == DeliveryStatus.SENT

    # After the hand-off the contact's messages go to the case, not to the bot.
    bot_turns = case.messages.filter(sender=Sender.BOT).count()
    third = _say(inbox, "t3", "thanks, I see it")
    case.refresh_from_db()
    assert third.ticket_id == case.pk and third.message.sender == Sender.CUSTOMER
    assert case.messages.filter(sender=Sender.BOT).count() == bot_turns
    assert case.status == Status.OPEN  # a customer's reply puts it back in front of agents


def test_a_seed_phrase_sent_to_the_bot_is_never_stored_and_the_bot_warns(hook_inbox):  # noqa: F811
    inbox, _adapter = hook_inbox
    Inbox.objects.filter(pk=inbox.pk).update(bot_enabled=True)
    inbox.refresh_from_db()
    event = _say(inbox, "s1", f"support asked for my words {PHRASE} is that ok?")
    case = event.ticket
    words = PHRASE.split()
    stored = everything_stored()
    assert " ".join(words[:4]) not in stored and " ".join(words[-4:]) not in stored
    [warning] = case.messages.filter(sender=Sender.BOT)
    assert "seed phrase" in warning.body or "助记词" in warning.body
    # Handed to humans, the case goes to the security team.
    _say(inbox, "s2", "talk to a human")
    case.refresh_from_db()
    assert case.status == Status.NEW and case.team.slug == "security"


def test_without_the_bot_a_strangers_message_opens_a_case_without_a_customer(hook_inbox, agent, alice):  # noqa: F811
    inbox, _adapter = hook_inbox
    first = _say(inbox, "n1", "Where is my withdrawal?")
    case = first.ticket
    assert case.status == Status.NEW and case.customer_id is None and case.channel == HookAdapter.channel
    assert not case.messages.filter(sender=Sender.BOT).exists()
    second = _say(inbox, "n2", "It has been two hours")
    assert second.ticket_id == case.pk and second.message.author_id is None
    agent.teams.add(case.team)
    reply = check_add_message(ticket=case, author=agent, body="Checking now.").message
    _send_all()
    assert HookAdapter.sent == [reply.pk]
    # Another contact's message is another case: a stranger never lands in someone's case.
    other = _say(inbox, "n3", "hello", sender="tg:2002")
    assert other.ticket_id != case.pk
