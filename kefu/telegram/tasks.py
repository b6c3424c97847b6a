"""Telegram's small jobs: answering a button tap, replying in the community group."""

from __future__ import annotations

import logging

from kefu.jobs.engine import enqueue, job, periodic_job

logger = logging.getLogger(__name__)


def answer_callback(query_id: str) -> None:
    if query_id:
        enqueue(answer_callback_job, query_id)


@job()
def answer_callback_job(query_id: str) -> None:
    """answerCallbackQuery stops the button's spinner; best effort (the answer itself is the
    bot's next message, delivered through the outbox)."""
    from kefu.telegram.client import Client, TelegramError

    try:
        Client().call("answerCallbackQuery", callback_query_id=query_id)
    except TelegramError as exc:
        logger.info("answerCallbackQuery failed: %s", exc.code)


@job(retries=3, retry_delay=5)
def group_reply(chat_id: int, reply_to: int, kind: str, language: str, answer: str = "", url: str = "") -> None:
    """The public answer in the community group: general help and a private-chat link, never an
    account (the decision was made from the screened message; no customer text travels here)."""
    from kefu.telegram.client import Client
    from kefu.telegram.group import public_text

    Client().call(
        "sendMessage",
        chat_id=chat_id,
        text=public_text(kind, language=language, answer=answer, url=url),
        reply_parameters={"message_id": reply_to, "allow_sending_without_reply": True},
    )


def _poll_interval() -> float:
    """Polling runs inside `kefu serve`'s worker when the bot has no webhook (no secret set:
    an install without a public URL); with a webhook secret, Telegram pushes instead."""
    from django.conf import settings

    if not settings.KEFU_TELEGRAM_BOT_TOKEN or settings.KEFU_TELEGRAM_WEBHOOK_SECRET:
        return 0
    return float(settings.KEFU_TELEGRAM_POLL_SECONDS or 0)


@periodic_job(_poll_interval)
def poll_updates() -> None:
    """One short getUpdates round (``kefu telegram poll`` is the long-polling loop run alone)."""
    from django.core.cache import cache

    from kefu.telegram.client import TelegramError
    from kefu.telegram.polling import poll_once

    offset = cache.get("telegram:offset")
    try:
        offset, _count = poll_once(offset, timeout=0)
    except TelegramError as exc:
        logger.warning("getUpdates failed: %s %s", exc.code, exc.description[:100])
        if exc.code == 409:  # a webhook is set: polling is refused until it is deleted
            from kefu.telegram.client import Client

            Client().call("deleteWebhook")
        return
    if offset is not None:
        cache.set("telegram:offset", offset, None)
