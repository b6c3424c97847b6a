"""Test steps shared by the WhatsApp tests and the contract fixture."""

from __future__ import annotations

from typing import Any

from django.test import Client, TestCase

from kefu.inbox import durable, pipeline
from kefu.inbox.actions import send_delivery
from kefu.inbox.models import DeliveryStatus, EventStatus, InboundEvent, Inbox, OutboundDelivery
from kefu.jobs.engine import drain
from kefu.whatsapp.tests.fake_graph import signed

WEBHOOK = "/channels/whatsapp/webhook"


def post_webhook(body: dict[str, Any], *, secret: str, signature: str | None = None) -> Any:
    """Meta's POST: the raw JSON body with its X-Hub-Signature-256 (jobs enqueued on commit run)."""
    raw, good = signed(secret, body)
    headers: dict[str, Any] = {} if signature == "" else {"HTTP_X_HUB_SIGNATURE_256": signature or good}
    with TestCase.captureOnCommitCallbacks(execute=True):
        return Client().post(WEBHOOK, data=raw, content_type="application/json", **headers)


def settle() -> None:
    """Run what a worker would: queued jobs, then every due event and delivery."""
    drain()
    for pk in durable.due(InboundEvent, EventStatus.PENDING, limit=1000):
        pipeline.process(pk)
    for pk in durable.due(OutboundDelivery, DeliveryStatus.QUEUED, limit=1000, channel="whatsapp"):
        send_delivery(pk)


def inbox(*, bot: bool = False) -> Inbox:
    """The WhatsApp inbox the settings make (bot first), with the bot on or off for the test."""
    from kefu.whatsapp.setup import ensure_inbox

    found = ensure_inbox()
    assert found is not None
    if found.bot_enabled != bot:
        Inbox.objects.filter(pk=found.pk).update(bot_enabled=bot)
        found.bot_enabled = bot
    return found


def message_with_options(ticket: Any, options: list[str]) -> Any:
    """A bot message with quick replies, as the bot writes them (not saved)."""
    from kefu.tickets.models import Message, Sender

    return Message(
        ticket=ticket,
        sender=Sender.BOT,
        body="What is it about?",
        extra={"quick_replies": [{"label": o} for o in options]},
    )
