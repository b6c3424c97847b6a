from __future__ import annotations

from collections.abc import Callable

from django.apps import apps
from django.conf import settings
from django.http import HttpRequest


def brand(request: HttpRequest) -> dict[str, str]:
    return {"brand_name": settings.KEFU_BRAND_NAME, "support_email": settings.KEFU_SUPPORT_EMAIL}


def chat_panel(request: HttpRequest) -> dict[str, Callable[[], str]]:
    """``kefu_open_chat``: the id of the signed-in customer's open chat with a human ("" if none),
    so the chat panel on every page, in every tab and on every device, resumes it at once.

    A callable: the template calls it only where it renders the panel (one indexed query)."""

    def open_chat() -> str:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or user.is_agent or not apps.is_installed("kefu.chat"):
            return ""
        from kefu.chat.selectors import open_chat_of

        chat = open_chat_of(user)
        return chat.public_id.hex if chat is not None else ""

    return {"kefu_open_chat": open_chat}
