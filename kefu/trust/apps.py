from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TrustConfig(AppConfig):
    name = "kefu.trust"
    label = "trust"
    verbose_name = _("Trust")

    def ready(self) -> None:
        from kefu.trust import logguard

        logguard.install()  # no log line of this process is written without the secret guard
