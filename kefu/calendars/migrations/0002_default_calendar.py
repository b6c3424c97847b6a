"""The default calendar: Monday to Friday 09:00-18:00 in Asia/Shanghai, with mainland China's
public holidays and make-up working days (what `kefu sla due` uses without --calendar)."""

from datetime import time

from django.db import migrations


def create_default(apps, schema_editor):
    BusinessCalendar = apps.get_model("calendars", "BusinessCalendar")
    CalendarHours = apps.get_model("calendars", "CalendarHours")
    calendar, created = BusinessCalendar.objects.get_or_create(
        name="default",
        defaults={
            "title": "Mon-Fri 09:00-18:00 (China)",
            "time_zone": "Asia/Shanghai",
            "holiday_set": "cn",
        },
    )
    if created:
        CalendarHours.objects.bulk_create(
            CalendarHours(calendar=calendar, weekday=day, opens_at=time(9), closes_at=time(18)) for day in range(5)
        )


def remove_default(apps, schema_editor):
    apps.get_model("calendars", "BusinessCalendar").objects.filter(name="default").delete()


class Migration(migrations.Migration):
    dependencies = [("calendars", "0001_initial")]

    operations = [migrations.RunPython(create_default, remove_default)]
