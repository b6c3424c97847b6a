"""The Telegram inbox from the settings: with KEFU_TELEGRAM_BOT_TOKEN set, one exists (made or
re-activated after migrations and at first use), bot first; webhook registration and getMe."""

from __future__ import annotations

import logging

from django.core.cache import cache

from kefu.inbox.models import Inbox, InboxKind

logger = logging.getLogger(__name__)
NAME = "Telegram bot"  # the demo inbox's name too (kefu.inbox.demo)


def ensure_inbox() -> Inbox | None:
    """The Telegram inbox when the bot is configured (created on first call); None otherwise."""
    from kefu.telegram.client import config

    if not config().enabled:
        return None
    inbox = Inbox.objects.filter(kind=InboxKind.TELEGRAM, is_active=True).order_by("id").first()
    if inbox is None:
        inbox, _created = Inbox.objects.get_or_create(
            kind=InboxKind.TELEGRAM, name=NAME, defaults={"bot_enabled": True}
        )
        if not inbox.is_active:
            Inbox.objects.filter(pk=inbox.pk).update(is_active=True)
            inbox.is_active = True
    return inbox


def on_post_migrate(**kwargs: object) -> None:
    try:
        ensure_inbox()
    except Exception:  # a partly migrated database: the first webhook call makes it
        logger.warning("the Telegram inbox could not be made after migrate", exc_info=True)


def bot_username() -> str:
    """The bot's @username (getMe), cached for an hour; "" when unknown (not configured, down)."""
    from kefu.telegram.client import Client, TelegramError, config

    if not config().enabled:
        return ""
    cached = cache.get("telegram:username")
    if cached is not None:
        return str(cached)
    try:
        me = Client(timeout=5).call("getMe") or {}
    except TelegramError:
        return ""
    name = str(me.get("username") or "")
    cache.set("telegram:username", name, 3600)
    return name


def set_webhook(url: str) -> None:
    """Register ``url`` (…/channels/telegram/webhook) with the secret token Telegram echoes."""
    from kefu.telegram.client import Client, config

    Client().call(
        "setWebhook",
        url=url,
        secret_token=config().webhook_secret,
        allowed_updates=["message", "callback_query"],
    )
