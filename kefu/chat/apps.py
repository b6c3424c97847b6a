from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ChatConfig(AppConfig):
    name = "kefu.chat"
    label = "chat"
    verbose_name = _("Live chat")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from kefu.bot.handoff import register_live_handoff
        from kefu.chat.bot_handoff import ChatHandoff

        register_live_handoff(ChatHandoff())
        from kefu.chat import subscribers

        subscribers.register()
