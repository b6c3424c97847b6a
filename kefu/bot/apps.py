from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BotConfig(AppConfig):
    name = "kefu.bot"
    label = "bot"
    verbose_name = _("Bot")

    def ready(self) -> None:
        from kefu.bot import inbound
        from kefu.inbox.pipeline import register_bot_responder

        # The bot answers first on bot-enabled messaging inboxes (Telegram, WhatsApp).
        register_bot_responder(inbound.answer)
