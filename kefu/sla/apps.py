from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SlaConfig(AppConfig):
    name = "kefu.sla"
    label = "sla"
    verbose_name = _("Service levels")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The ticket core does not know SLA exists: the clocks follow its domain events.
        from kefu.accounts.models import User
        from kefu.sla.actions import SUPERVISORS, register
        from kefu.sla.models import SlaPolicy
        from kefu.sla.selectors import POLICIES

        register()
        # A sign-in saves last_login only: not a change of who supervises.
        SUPERVISORS.watch(User, ignore_fields={"last_login"})
        POLICIES.watch(SlaPolicy, SlaPolicy.categories.through)
