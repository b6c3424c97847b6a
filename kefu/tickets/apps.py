from django.apps import AppConfig
from django.db.models.signals import post_delete, post_migrate, post_save
from django.utils.translation import gettext_lazy as _


def _seed_categories(sender, **kwargs) -> None:
    from kefu.tickets.seed import ensure_default_categories

    ensure_default_categories()


class TicketsConfig(AppConfig):
    name = "kefu.tickets"
    label = "tickets"
    verbose_name = _("Tickets")

    def ready(self) -> None:
        from kefu.tickets.models import Category
        from kefu.tickets.selectors import forget_categories

        post_migrate.connect(_seed_categories, sender=self)
        for signal in (post_save, post_delete):
            signal.connect(forget_categories, sender=Category, dispatch_uid=f"forget-categories-{signal}")
