"""Default service hours: online chat around the clock, the phone line 09:00–21:00 every day.

Both in Asia/Shanghai and for every team without its own calendar; admins change them in
the admin. Reversing removes only these two defaults.
"""

import datetime

from django.db import migrations

CHAT_NAME = "Online chat (24/7)"
PHONE_NAME = "Phone line"


def create_defaults(apps, schema_editor):
    ServiceCalendar = apps.get_model("chat", "ServiceCalendar")
    OpeningHours = apps.get_model("chat", "OpeningHours")
    if not ServiceCalendar.objects.filter(team__isnull=True, channel="chat").exists():
        ServiceCalendar.objects.create(name=CHAT_NAME, channel="chat", time_zone="Asia/Shanghai", always_open=True)
    if not ServiceCalendar.objects.filter(team__isnull=True, channel="phone").exists():
        phone = ServiceCalendar.objects.create(name=PHONE_NAME, channel="phone", time_zone="Asia/Shanghai")
        OpeningHours.objects.bulk_create(
            OpeningHours(calendar=phone, weekday=day, opens_at=datetime.time(9), closes_at=datetime.time(21))
            for day in range(7)
        )


def remove_defaults(apps, schema_editor):
    ServiceCalendar = apps.get_model("chat", "ServiceCalendar")
    ServiceCalendar.objects.filter(team__isnull=True, name__in=[CHAT_NAME, PHONE_NAME]).delete()


class Migration(migrations.Migration):
    dependencies = [("chat", "0001_initial")]

    operations = [migrations.RunPython(create_defaults, remove_defaults)]
