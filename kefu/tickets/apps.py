from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _seed_categories(sender, **kwargs) -> None:
    from kefu.tickets.seed import ensure_default_categories

    ensure_default_categories()


class TicketsConfig(AppConfig):
    name = "kefu.tickets"
    label = "tickets"
    verbose_name = _("Tickets")

    def ready(self) -> None:
        post_migrate.connect(_seed_categories, sender=self)
