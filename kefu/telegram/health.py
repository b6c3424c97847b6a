"""Telegram's health for the admin's inbox page and ``kefu check``: getWebhookInfo (pending
updates, the last error Telegram saw) or, while long polling, the last update received."""

from __future__ import annotations

from datetime import UTC, datetime

from django.utils import timezone

from kefu.inbox.adapters.base import Health
from kefu.inbox.models import Inbox


def check(inbox: Inbox) -> Health:
    from kefu.telegram.client import Client, TelegramError, config

    if not config().enabled:
        return Health(ok=False, detail="not configured (KEFU_TELEGRAM_BOT_TOKEN)")
    try:
        info = Client(timeout=5).call("getWebhookInfo") or {}
    except TelegramError as exc:
        return Health(ok=False, detail=f"Bot API unreachable: {exc.code} {exc.description}"[:200])
    parts = []
    url = str(info.get("url") or "")
    parts.append("webhook" if url else "long polling")
    parts.append(f"pending {int(info.get('pending_update_count') or 0)}")
    error = str(info.get("last_error_message") or "")
    ok = True
    if error and info.get("last_error_date"):
        when = datetime.fromtimestamp(int(info["last_error_date"]), tz=UTC)
        parts.append(f"last error {when:%Y-%m-%d %H:%M} UTC: {error[:120]}")
        ok = (timezone.now() - when).total_seconds() > 3600  # an error in the last hour: not OK
    return Health(ok=ok, detail=" · ".join(parts), pending=int(info.get("pending_update_count") or 0))
