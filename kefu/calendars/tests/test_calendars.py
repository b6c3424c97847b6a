"""The default calendar from its data migration, `kefu sla due`, calendars from rows, and the
warning admins get before next year's official holidays are missing."""

from __future__ import annotations

from datetime import date, time

import pytest

from kefu.calendars.checks import calendar_data_warnings, check_calendar_data
from kefu.calendars.models import BusinessCalendar, CalendarHours, CalendarOverride, HolidaySet
from kefu.calendars.selectors import UnknownCalendar, load_calendar
from kefu.cli import main

pytestmark = pytest.mark.django_db


def test_the_default_calendar_is_weekdays_nine_to_six_in_shanghai_with_china_holidays():
    row = BusinessCalendar.objects.get(name="default")
    assert (row.time_zone, row.holiday_set, row.always_open) == (
        "Asia/Shanghai",
        HolidaySet.CN_MAINLAND,
        False,
    )
    hours = sorted((h.weekday, h.opens_at, h.closes_at) for h in row.hours.all())
    assert hours == [(day, time(9), time(18)) for day in range(5)]


def due(capsys, *args: str) -> tuple[int, str]:
    code = main(["sla", "due", *args])
    return code, capsys.readouterr().out.strip()


def test_kefu_sla_due_prints_the_due_instant_with_its_offset(capsys):
    assert due(capsys, "--start", "2026-09-30T17:00:00+08:00", "--minutes", "120") == (
        0,
        "2026-10-08T10:00:00+08:00",
    )
    # Another offset in, the calendar's zone out; the make-up Saturday 10 October works.
    assert due(capsys, "--start", "2026-10-09T09:00:00Z", "--minutes", "120") == (
        0,
        "2026-10-10T10:00:00+08:00",
    )


def test_kefu_sla_due_on_a_named_calendar_with_overrides(capsys):
    berlin = BusinessCalendar.objects.create(
        name="berlin", time_zone="Europe/Berlin", holiday_set=HolidaySet.REGIONAL, holiday_country="DE"
    )
    for day in range(5):
        CalendarHours.objects.create(calendar=berlin, weekday=day, opens_at=time(8), closes_at=time(12))
        CalendarHours.objects.create(calendar=berlin, weekday=day, opens_at=time(13), closes_at=time(17))
    CalendarOverride.objects.create(calendar=berlin, date=date(2026, 12, 8), kind="closed")
    # Monday 7 December 11:00 + 3h: 1h before lunch, 2h after; Tuesday the 8th is closed.
    assert due(
        capsys, "--start", "2026-12-07T11:00:00+01:00", "--minutes", "180", "--calendar", "berlin"
    ) == (
        0,
        "2026-12-07T15:00:00+01:00",
    )
    assert due(
        capsys, "--start", "2026-12-07T16:00:00+01:00", "--minutes", "120", "--calendar", "berlin"
    ) == (
        0,
        "2026-12-09T09:00:00+01:00",
    )
    assert main(["sla", "due", "--start", "2026-12-07T11:00:00", "--minutes", "1", "--calendar", "nope"]) == 2
    assert main(["sla", "due", "--start", "yesterday", "--minutes", "1"]) == 2


def test_a_24_7_calendar_row():
    BusinessCalendar.objects.create(name="always", always_open=True)
    assert load_calendar("always").always_open
    with pytest.raises(UnknownCalendar):
        load_calendar("missing")


def test_admins_are_warned_before_next_years_official_data_is_missing(settings):
    # chinesecalendar 1.11.0 stops at 2026: in December 2026 the 2027 schedule is missing.
    settings.KEFU_CALENDAR_WARN_DAYS = 400
    warnings = calendar_data_warnings()
    assert any("'default'" in text and "2027" in text for text in warnings)
    assert [m.id for m in check_calendar_data()] == ["kefu.calendars.W001"] * len(warnings)
    settings.KEFU_CALENDAR_WARN_DAYS = 0
    assert calendar_data_warnings() == []


def test_the_calendar_admin_lists_the_warning(settings):
    from kefu.mail.tests.conftest import admin_client

    settings.KEFU_CALENDAR_WARN_DAYS = 400
    response = admin_client().get("/admin/calendars/businesscalendar/", follow=True)
    assert response.status_code == 200
    assert b"default" in response.content and b"upgrade chinesecalendar" in response.content


def test_the_kefu_command_answers_on_a_fresh_data_dir(tmp_path):
    """The contract as an operator runs it: the installed `kefu` command, its own process and
    a data directory nobody has migrated yet (the built-in default calendar answers)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {k: v for k, v in os.environ.items() if not k.startswith("KEFU_")}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env["KEFU_DATA_DIR"] = str(tmp_path / "data")
    kefu = Path(sys.executable).with_name("kefu")
    result = subprocess.run(
        [str(kefu), "sla", "due", "--start", "2026-02-13T17:00:00+08:00", "--minutes", "120"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "2026-02-14T10:00:00+08:00"  # the Spring Festival make-up Saturday
