from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CalendarsConfig(AppConfig):
    name = "kefu.calendars"
    label = "calendars"
    verbose_name = _("Business calendars")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Registers the system check that warns before the official holiday data runs out.
        from kefu.calendars import checks  # noqa: F401
        from kefu.calendars.models import BusinessCalendar, CalendarHours, CalendarOverride
        from kefu.calendars.selectors import CALENDARS

        CALENDARS.watch(BusinessCalendar, CalendarHours, CalendarOverride)
