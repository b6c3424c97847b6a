"""Live chat's own opening hours and holidays become business calendars (kefu.calendars): one
calendar model serves SLA clocks, chat hours and the phone line.

Each service calendar that does not follow a business calendar yet gets one of its own with the
same time zone, 24/7 flag and weekly hours; its holidays become the calendar's overrides (closed,
or open with their hours), with both names and the reduced-staff flag. Nothing official is added
(the holiday set is "none"): the hours customers were shown stay what they were. The next
migration drops the old rows' tables. Reversing leaves the business calendars (and their links)
in place; the old tables come back empty.
"""

from django.db import migrations
from django.utils.text import slugify


def _unique_name(BusinessCalendar, base: str) -> str:
    name, n = base[:45], 1
    while BusinessCalendar.objects.filter(name=name).exists():
        n += 1
        name = f"{base[:40]}-{n}"
    return name


def _hours_text(opens_at, closes_at) -> str:
    return f"{opens_at:%H:%M}-{closes_at:%H:%M}"


def move(apps, schema_editor):
    ServiceCalendar = apps.get_model("chat", "ServiceCalendar")
    OpeningHours = apps.get_model("chat", "OpeningHours")
    Holiday = apps.get_model("chat", "Holiday")
    BusinessCalendar = apps.get_model("calendars", "BusinessCalendar")
    CalendarHours = apps.get_model("calendars", "CalendarHours")
    CalendarOverride = apps.get_model("calendars", "CalendarOverride")
    for row in ServiceCalendar.objects.filter(business_calendar__isnull=True).select_related("team"):
        base = slugify(f"{row.channel}-{row.team.slug if row.team_id else 'default'}") or f"{row.channel}-hours"
        calendar = BusinessCalendar.objects.create(
            name=_unique_name(BusinessCalendar, base),
            title=row.name[:100],
            time_zone=row.time_zone,
            always_open=row.always_open,
            holiday_set="none",
        )
        CalendarHours.objects.bulk_create(
            CalendarHours(calendar=calendar, weekday=h.weekday, opens_at=h.opens_at, closes_at=h.closes_at)
            for h in OpeningHours.objects.filter(calendar=row)
        )
        overrides = []
        for day in Holiday.objects.filter(calendar=row):
            if day.closed:
                kind, hours = "closed", ""
            elif day.opens_at is not None and day.closes_at is not None:
                kind, hours = "custom", _hours_text(day.opens_at, day.closes_at)
            else:
                kind, hours = "open", ""
            overrides.append(
                CalendarOverride(
                    calendar=calendar,
                    date=day.date,
                    kind=kind,
                    hours=hours,
                    note=day.name_zh[:200],
                    note_en=day.name_en[:200],
                    reduced_staff=day.reduced_staff,
                )
            )
        CalendarOverride.objects.bulk_create(overrides)
        ServiceCalendar.objects.filter(pk=row.pk).update(business_calendar=calendar)


class Migration(migrations.Migration):
    dependencies = [
        ("chat", "0007_drop_chat_messages"),
        ("calendars", "0003_override_notes_reduced_staff"),
    ]

    operations = [migrations.RunPython(move, migrations.RunPython.noop)]
