from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "kefu.reports"
    label = "reports"
    verbose_name = _("Reports")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Domain events mark the days whose rollups they make stale (kefu/reports/rollups.py).
        from kefu.reports import rollups

        rollups.register()
