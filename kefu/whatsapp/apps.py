from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WhatsAppConfig(AppConfig):
    """The WhatsApp Business channel's own data and pages: the message templates admins manage,
    the 24-hour customer-service window, the webhook. The adapter itself is
    ``kefu.inbox.adapters.whatsapp`` (registered by the inbox app like every channel)."""

    name = "kefu.whatsapp"
    label = "whatsapp"
    verbose_name = _("WhatsApp")

    def ready(self) -> None:
        from kefu.whatsapp import actions

        actions.register()
