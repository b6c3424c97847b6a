"""The WhatsApp inbox from the settings: with KEFU_WHATSAPP_VERIFY_TOKEN and
KEFU_WHATSAPP_APP_SECRET set, one exists (made or re-activated after migrations and at the first
webhook call), bot first like Telegram's."""

from __future__ import annotations

import logging

from kefu.inbox.models import Inbox, InboxKind

logger = logging.getLogger(__name__)
NAME = "WhatsApp"  # the demo inbox's name too (kefu.inbox.demo)


def ensure_inbox() -> Inbox | None:
    """The WhatsApp inbox: the first active one; made when the settings are there; else None."""
    from kefu.inbox.pipeline import ACTIVE_INBOXES
    from kefu.whatsapp.client import config

    inbox = Inbox.objects.filter(kind=InboxKind.WHATSAPP, is_active=True).order_by("id").first()
    if inbox is not None or not config().enabled:
        return inbox
    inbox, _created = Inbox.objects.get_or_create(
        kind=InboxKind.WHATSAPP, name=NAME, defaults={"bot_enabled": True}
    )
    if not inbox.is_active:
        Inbox.objects.filter(pk=inbox.pk).update(is_active=True)
        inbox.is_active = True
    ACTIVE_INBOXES.forget()
    return inbox


def on_post_migrate(**kwargs: object) -> None:
    try:
        ensure_inbox()
    except Exception:  # a partly migrated database: the first webhook call makes it
        logger.warning("the WhatsApp inbox could not be made after migrate", exc_info=True)
