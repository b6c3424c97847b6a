from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InboxConfig(AppConfig):
    name = "kefu.inbox"
    label = "inbox"
    verbose_name = _("Inboxes")

    def ready(self) -> None:
        from kefu.inbox import subscribers
        from kefu.inbox.adapters.api import ApiAdapter
        from kefu.inbox.adapters.base import register
        from kefu.inbox.adapters.email import EmailAdapter
        from kefu.inbox.adapters.portal import PortalAdapter
        from kefu.inbox.adapters.voice import VoiceAdapter
        from kefu.inbox.adapters.whatsapp import WhatsAppAdapter
        from kefu.inbox.adapters.widget import WidgetAdapter

        # A new channel: one adapter module, registered here (docs/channels.md).
        for adapter in (WidgetAdapter(), EmailAdapter(), PortalAdapter(), ApiAdapter(), WhatsAppAdapter()):
            register(adapter)
        register(VoiceAdapter())
        from kefu.inbox.adapters.telegram import TelegramAdapter

        register(TelegramAdapter())
        subscribers.register()
        from kefu.inbox.models import Inbox
        from kefu.inbox.pipeline import ACTIVE_INBOXES

        ACTIVE_INBOXES.watch(Inbox)
