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
        from django.db.models.signals import post_migrate

        from kefu.whatsapp import actions
        from kefu.whatsapp.setup import on_post_migrate

        actions.register()
        # With the settings present a WhatsApp inbox exists after `kefu migrate` (and at the
        # first webhook call, whichever comes first).
        post_migrate.connect(on_post_migrate, sender=self, dispatch_uid="kefu.whatsapp.inbox")
