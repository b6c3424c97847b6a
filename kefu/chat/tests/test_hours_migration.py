"""The upgrade that moves live chat's own opening hours and holidays onto business calendars."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader

from kefu.accounts.models import Team

BEFORE = [("chat", "0007_drop_chat_messages"), ("calendars", "0003_override_notes_reduced_staff")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_chat_hours_and_holidays_become_a_business_calendar_with_the_same_answers():
    accounts = Team.objects.get(slug="accounts")
    try:
        old = _migrate(BEFORE)
        OldCalendar = old.get_model("chat", "ServiceCalendar")
        OldHours = old.get_model("chat", "OpeningHours")
        OldHoliday = old.get_model("chat", "Holiday")
        OldCalendar.objects.all().delete()
        own = OldCalendar.objects.create(
            name="Accounts desk", team_id=accounts.pk, channel="chat", time_zone="Europe/Berlin"
        )
        for day in range(5):
            OldHours.objects.create(calendar=own, weekday=day, opens_at=time(9), closes_at=time(18))
        OldHoliday.objects.create(
            calendar=own,
            date=date(2026, 12, 24),
            name_zh="平安夜",
            name_en="Christmas Eve",
            closed=False,
            opens_at=time(9),
            closes_at=time(12),
        )
        OldHoliday.objects.create(
            calendar=own, date=date(2026, 12, 25), name_zh="圣诞节", name_en="Christmas"
        )
        OldHoliday.objects.create(
            calendar=own,
            date=date(2026, 12, 28),
            name_zh="年末",
            name_en="Year end",
            closed=False,
            reduced_staff=True,
        )
        # The defaults as migration 0002 made them (the test database has them already moved).
        OldCalendar.objects.filter(team__isnull=True).delete()
        OldCalendar.objects.create(name="Online chat (24/7)", channel="chat", always_open=True)
        phone = OldCalendar.objects.create(name="Phone line", channel="phone")
        for day in range(7):
            OldHours.objects.create(calendar=phone, weekday=day, opens_at=time(9), closes_at=time(21))
    finally:
        _migrate(list(MigrationLoader(connection).graph.leaf_nodes()))

    from kefu.chat.hours import is_open, status_at
    from kefu.chat.models import ServiceCalendar
    from kefu.chat.selectors import calendar_for, clear_caches

    clear_caches()
    row = ServiceCalendar.objects.select_related("business_calendar").get(team=accounts, channel="chat")
    moved = row.business_calendar
    assert (moved.time_zone, moved.always_open, moved.holiday_set, moved.title) == (
        "Europe/Berlin",
        False,
        "none",
        "Accounts desk",
    )
    assert moved.hours.count() == 5 and moved.overrides.count() == 3
    calendar = calendar_for(accounts.pk)

    def berlin(day: int, hour: int) -> datetime:
        from zoneinfo import ZoneInfo

        return datetime(2026, 12, day, hour, tzinfo=ZoneInfo("Europe/Berlin")).astimezone(UTC)

    assert is_open(calendar, berlin(23, 17)) and not is_open(calendar, berlin(23, 19))
    assert is_open(calendar, berlin(24, 11)) and not is_open(calendar, berlin(24, 13))  # short day
    eve = status_at(calendar, berlin(24, 11))
    assert eve.holiday is not None and (eve.holiday.name("zh-hans"), eve.holiday.name("en")) == (
        "平安夜",
        "Christmas Eve",
    )
    christmas = status_at(calendar, berlin(25, 10))
    assert not christmas.open and christmas.holiday.name("en") == "Christmas"
    year_end = status_at(calendar, berlin(28, 10))  # a Monday: usual hours, fewer agents
    assert year_end.open and year_end.reduced_staff and year_end.holiday.name("zh-hans") == "年末"
    assert calendar_for(None).always_open  # the default chat calendar: still 24/7
    # Migration 0002's phone line (09:00-21:00 every day) is kept as a business calendar for the
    # voice inbox; no service calendar of the phone channel is left (0010).
    from kefu.calendars.models import BusinessCalendar

    assert calendar_for(None, "phone") is None
    kept = BusinessCalendar.objects.filter(title="Phone line").latest("id")
    assert kept.hours.count() == 7 and not ServiceCalendar.objects.filter(channel="phone").exists()
