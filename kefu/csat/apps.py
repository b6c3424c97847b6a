from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CsatConfig(AppConfig):
    name = "kefu.csat"
    label = "csat"
    verbose_name = _("Satisfaction")

    def ready(self) -> None:
        from kefu.csat import subscribers

        subscribers.register()
