"""Business hours: weekly ranges, overnight shifts, holidays, time zones and daylight saving."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from kefu.chat.hours import (
    Calendar,
    SpecialDay,
    WeeklyRange,
    business_seconds_between,
    is_open,
    status_at,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(year: int, month: int, day: int, hour: int, minute: int = 0, zone: ZoneInfo = SHANGHAI) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=zone)


def weekdays(opens: time, closes: time, days=range(5)) -> tuple[WeeklyRange, ...]:
    return tuple(WeeklyRange(d, opens, closes) for d in days)


OFFICE = Calendar(time_zone="Asia/Shanghai", weekly=weekdays(time(9), time(18)))


def test_open_from_opening_until_just_before_closing():
    """2024-05-06 is a Monday: open at 09:00 sharp, closed at 18:00 sharp."""
    assert not is_open(OFFICE, at(2024, 5, 6, 8, 59))
    assert is_open(OFFICE, at(2024, 5, 6, 9, 0))
    assert is_open(OFFICE, at(2024, 5, 6, 17, 59))
    assert not is_open(OFFICE, at(2024, 5, 6, 18, 0))


def test_weekend_is_closed_and_the_next_opening_is_monday_morning():
    saturday = at(2024, 5, 11, 12)
    status = status_at(OFFICE, saturday)
    assert not status.open
    assert status.next_opens_at == at(2024, 5, 13, 9).astimezone(UTC)


def test_the_calendar_time_zone_decides_not_the_servers():
    """09:30 in Shanghai is 01:30 UTC: open; 18:30 Shanghai (10:30 UTC) is closed."""
    assert is_open(OFFICE, datetime(2024, 5, 6, 1, 30, tzinfo=UTC))
    assert not is_open(OFFICE, datetime(2024, 5, 6, 10, 30, tzinfo=UTC))
    new_york = Calendar(time_zone="America/New_York", weekly=weekdays(time(9), time(18)))
    # The same instant is 21:30 on Sunday in New York: closed there.
    assert not is_open(new_york, datetime(2024, 5, 6, 1, 30, tzinfo=UTC))


def test_opening_time_follows_daylight_saving():
    """09:00 in New York is 14:00 UTC in winter and 13:00 UTC in summer (DST began 2024-03-10)."""
    new_york = Calendar(time_zone="America/New_York", weekly=weekdays(time(9), time(17)))
    assert not is_open(new_york, datetime(2024, 3, 8, 13, 30, tzinfo=UTC))  # Friday, EST: 08:30
    assert is_open(new_york, datetime(2024, 3, 11, 13, 30, tzinfo=UTC))  # Monday, EDT: 09:30


NIGHT = Calendar(
    time_zone="Asia/Shanghai",
    weekly=(WeeklyRange(4, time(22), time(6)),),  # Friday 22:00 to Saturday 06:00
)


def test_overnight_range_runs_into_the_next_morning():
    assert not is_open(NIGHT, at(2024, 5, 10, 21, 59))  # Friday
    assert is_open(NIGHT, at(2024, 5, 10, 23, 30))
    assert is_open(NIGHT, at(2024, 5, 11, 3, 0))  # Saturday, the same shift
    assert not is_open(NIGHT, at(2024, 5, 11, 6, 0))
    status = status_at(NIGHT, at(2024, 5, 11, 3, 0))
    assert status.closes_at == at(2024, 5, 11, 6).astimezone(UTC)


def test_whole_day_range():
    always = Calendar(weekly=tuple(WeeklyRange(d, time(0), time(0)) for d in range(7)))
    assert is_open(always, at(2024, 5, 8, 0, 0)) and is_open(always, at(2024, 5, 8, 23, 59))


def test_closed_holiday_overrides_the_week_but_not_the_previous_nights_tail():
    """A Saturday holiday closes what starts that day; Friday's night shift still ends at 06:00."""
    night_and_day = Calendar(
        time_zone="Asia/Shanghai",
        weekly=(WeeklyRange(4, time(22), time(6)), WeeklyRange(5, time(9), time(17))),
        special={date(2024, 5, 11): SpecialDay(date(2024, 5, 11), "劳动节调休", "Holiday", closed=True)},
    )
    assert is_open(night_and_day, at(2024, 5, 11, 5, 0))
    assert not is_open(night_and_day, at(2024, 5, 11, 10, 0))
    status = status_at(night_and_day, at(2024, 5, 11, 10, 0))
    assert status.holiday is not None and status.holiday.name("en") == "Holiday"


def test_holiday_with_short_hours_and_reduced_staff():
    national_day = date(2024, 10, 1)  # a Tuesday
    calendar = Calendar(
        time_zone="Asia/Shanghai",
        weekly=weekdays(time(9), time(21)),
        special={
            national_day: SpecialDay(
                national_day, "国庆节", "National Day", closed=False, opens_at=time(10), closes_at=time(16),
                reduced_staff=True,
            )
        },
    )  # fmt: skip
    assert not is_open(calendar, at(2024, 10, 1, 9, 30))
    status = status_at(calendar, at(2024, 10, 1, 12))
    assert status.open and status.reduced_staff
    assert status.closes_at == at(2024, 10, 1, 16).astimezone(UTC)


def test_reduced_staff_day_keeps_the_usual_hours():
    day = date(2024, 10, 2)
    calendar = Calendar(
        weekly=weekdays(time(9), time(21)),
        special={day: SpecialDay(day, "国庆节", "National Day", closed=False, reduced_staff=True)},
    )
    status = status_at(calendar, at(2024, 10, 2, 20))
    assert status.open and status.reduced_staff


def test_a_week_of_holidays_pushes_the_next_opening_past_it():
    golden_week = {
        date(2024, 10, d): SpecialDay(date(2024, 10, d), "国庆节", "National Day") for d in range(1, 8)
    }
    calendar = Calendar(weekly=weekdays(time(9), time(18)), special=golden_week)
    status = status_at(calendar, at(2024, 9, 30, 19))
    assert status.next_opens_at == at(2024, 10, 8, 9).astimezone(UTC)


def test_business_seconds_skip_nights_and_weekends():
    """Friday 17:00 → Monday 10:00 is two open hours (the SLA clock)."""
    assert business_seconds_between(OFFICE, at(2024, 5, 10, 17), at(2024, 5, 13, 10)) == 2 * 3600


def test_always_open_calendar():
    calendar = Calendar(always_open=True)
    status = status_at(calendar, at(2024, 5, 11, 3))
    assert status.open and status.closes_at is None
    assert business_seconds_between(calendar, at(2024, 5, 11, 0), at(2024, 5, 12, 0)) == 86400


@pytest.mark.django_db
def test_a_teams_own_calendar_wins_over_the_default(settings):
    """Chat is 24/7 by default (the migration); the accounts team keeps office hours and a holiday."""
    from kefu.accounts.models import Team
    from kefu.chat.selectors import calendar_for
    from kefu.chat.tests.conftest import service_hours

    accounts = Team.objects.get(slug="accounts")
    service_hours(
        "chat",
        accounts,
        weekly={day: (time(9), time(18)) for day in range(5)},
        days=({"date": date(2024, 5, 1), "kind": "closed", "note": "劳动节", "note_en": "Labour Day"},),
    )
    service_hours("chat", always_open=True)

    team_calendar = calendar_for(accounts.pk)
    assert not team_calendar.always_open
    assert not is_open(team_calendar, at(2024, 5, 1, 10))  # the holiday
    assert is_open(team_calendar, at(2024, 5, 2, 10))
    assert calendar_for(Team.objects.get(slug="assets").pk).always_open


@pytest.mark.django_db
def test_chat_hours_can_follow_a_shared_business_calendar():
    """A service calendar linked to the shared (SLA) calendar takes its hours and mainland
    China's holidays and make-up days: closed on National Day, open on the make-up Saturday."""
    from kefu.calendars.models import BusinessCalendar
    from kefu.chat.models import ServiceCalendar
    from kefu.chat.selectors import _from_business_calendar, calendar_for, clear_caches

    default = BusinessCalendar.objects.get(name="default")
    ServiceCalendar.objects.filter(team__isnull=True, channel="chat").update(business_calendar=default)
    clear_caches()
    chat = calendar_for(None)
    assert chat is not None and not chat.always_open
    assert is_open(chat, at(2026, 12, 7, 10)) and not is_open(chat, at(2026, 12, 7, 19))
    status = status_at(chat, at(2026, 12, 12, 10))  # a Saturday
    assert not status.open and status.next_opens_at == at(2026, 12, 14, 9).astimezone(UTC)
    linked = _from_business_calendar(default.pk, "Phone")
    assert [r.weekday for r in linked.weekly] == [0, 1, 2, 3, 4]
    status = status_at(linked, at(2026, 10, 1, 10))
    assert not status.open and status.holiday is not None and status.holiday.name_en == "National Day"
    assert status.next_opens_at == at(2026, 10, 8, 9).astimezone(UTC)
    assert is_open(linked, at(2026, 10, 10, 10))  # the make-up Saturday
