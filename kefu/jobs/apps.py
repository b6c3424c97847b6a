from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class JobsConfig(AppConfig):
    name = "kefu.jobs"
    verbose_name = _("Background jobs")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Every app's tasks.py registers its jobs with the one Huey instance, in every process
        # (a web process enqueues by name, a worker runs by name), and the failure recorder
        # listens from the start.
        from django.utils.module_loading import autodiscover_modules

        from kefu.jobs import engine

        engine.connect_signals()
        autodiscover_modules("tasks")
