from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "kefu.accounts"
    label = "accounts"
    verbose_name = _("Accounts")

    def ready(self) -> None:
        from kefu import checks  # noqa: F401  (the settings registry's system checks)
        from kefu.accounts import backends  # noqa: F401  (connects the sign-in signal receiver)
