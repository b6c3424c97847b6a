from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class TelegramConfig(AppConfig):
    """Telegram's webhook, long polling, deep links and health. The adapter itself is
    ``kefu.inbox.adapters.telegram`` (registered by the inbox app like every channel)."""

    name = "kefu.telegram"
    label = "telegram"
    verbose_name = _("Telegram")

    def ready(self) -> None:
        from kefu.telegram.setup import on_post_migrate

        # With the settings present a Telegram inbox exists after `kefu migrate` (and at the
        # first webhook call or poll, whichever comes first).
        post_migrate.connect(on_post_migrate, sender=self, dispatch_uid="kefu.telegram.inbox")
