"""The customer's "link your Telegram" link, on the portal's pages when a Telegram bot is set up
(the ticket core never imports a channel app: this context processor is Telegram's)."""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import reverse


def telegram_link(request: HttpRequest) -> dict[str, str]:
    from kefu.telegram.client import config

    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or getattr(user, "is_agent", False) or not config().enabled:
        return {}
    return {"telegram_link_url": reverse("telegram:link")}
