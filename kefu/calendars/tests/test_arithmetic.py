"""Calendar arithmetic: weekends, lunch breaks, China's National Day and Spring Festival with
their make-up working days, midnight, a daylight-saving zone, overrides, targets longer than
a working day, and a year the official data does not know."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from kefu.calendars import official
from kefu.calendars.arithmetic import (
    Calendar,
    DayRule,
    NoWorkingTime,
    add_business_minutes,
    add_business_seconds,
    add_business_seconds_each,
    business_minutes_between,
    parse_hours,
)
from kefu.calendars.selectors import builtin_default

SH = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
DAY = 9 * 60  # a default working day in minutes


def sh(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SH)


def due(calendar: Calendar, start: datetime, minutes: float) -> datetime:
    return add_business_minutes(calendar, start, minutes).astimezone(calendar.zone)


def weekdays(hours: str, days: range = range(5)) -> dict[int, tuple[tuple[time, time], ...]]:
    return {day: parse_hours(hours) for day in days}


@pytest.fixture
def china() -> Calendar:
    return builtin_default()


def test_a_weekend_is_skipped(china):
    # Friday 27 November 2026, 17:00 + 2h: one hour on Friday, one on Monday.
    assert due(china, sh(2026, 11, 27, 17), 120) == sh(2026, 11, 30, 10)
    assert business_minutes_between(china, sh(2026, 11, 27, 17), sh(2026, 11, 30, 10)) == 120


def test_a_clock_started_outside_hours_starts_at_the_next_opening(china):
    assert due(china, sh(2026, 11, 28, 12), 0) == sh(2026, 11, 30, 9)
    assert due(china, sh(2026, 11, 30, 7, 30), 30) == sh(2026, 11, 30, 9, 30)
    # Exactly the rest of the day ends at closing time, not the next morning.
    assert due(china, sh(2026, 11, 30, 17), 60) == sh(2026, 11, 30, 18)


def test_lunch_breaks_do_not_count():
    calendar = Calendar(time_zone="Asia/Shanghai", weekly=weekdays("09:00-12:00, 13:00-18:00"))
    assert due(calendar, sh(2026, 11, 30, 11, 30), 60) == sh(2026, 11, 30, 13, 30)
    assert business_minutes_between(calendar, sh(2026, 11, 30, 9), sh(2026, 11, 30, 18)) == 8 * 60


def test_national_day_is_closed_and_its_make_up_saturday_works(china):
    # 1-7 October 2026 are holidays; Saturday 10 October is a working day (调休).
    assert due(china, sh(2026, 9, 30, 17), 120) == sh(2026, 10, 8, 10)
    assert due(china, sh(2026, 10, 9, 17), 120) == sh(2026, 10, 10, 10)
    # Sunday 20 September works too, and the Mid-Autumn Friday 25 September does not.
    assert due(china, sh(2026, 9, 19, 12), 60) == sh(2026, 9, 20, 10)
    assert due(china, sh(2026, 9, 24, 17, 30), 60) == sh(2026, 9, 28, 9, 30)
    assert business_minutes_between(china, sh(2026, 9, 30, 9), sh(2026, 10, 11, 9)) == 4 * DAY


def test_spring_festival_and_its_make_up_days(china):
    # 15-23 February 2026 are holidays; Saturdays 14 and 28 February are working days.
    assert due(china, sh(2026, 2, 13, 17), 120) == sh(2026, 2, 14, 10)
    assert due(china, sh(2026, 2, 14, 17), 120) == sh(2026, 2, 24, 10)
    assert due(china, sh(2026, 2, 27, 17), 120) == sh(2026, 2, 28, 10)


def test_targets_longer_than_a_working_day(china):
    assert due(china, sh(2026, 11, 30, 10), 3 * DAY) == sh(2026, 12, 3, 10)
    # Five working days from a Wednesday crosses a weekend.
    assert due(china, sh(2026, 12, 2, 9), 5 * DAY) == sh(2026, 12, 8, 18)
    assert business_minutes_between(china, sh(2026, 12, 2, 9), sh(2026, 12, 8, 18)) == 5 * DAY


def test_24_7_has_no_gap_at_midnight():
    always = Calendar(time_zone="Asia/Shanghai", always_open=True)
    assert due(always, sh(2026, 10, 1, 23, 30), 60) == sh(2026, 10, 2, 0, 30)
    # A week of 00:00-24:00 days is one unbroken stretch, not days closing at 23:59.
    every_day = Calendar(time_zone="Asia/Shanghai", weekly=weekdays("00:00-24:00", range(7)))
    assert due(every_day, sh(2026, 11, 30, 23, 59), 2) == sh(2026, 12, 1, 0, 1)
    assert business_minutes_between(every_day, sh(2026, 11, 30, 23), sh(2026, 12, 1, 1)) == 120
    assert business_minutes_between(every_day, sh(2026, 11, 30), sh(2026, 12, 7)) == 7 * 24 * 60


def test_overnight_hours_run_into_the_next_day():
    nights = Calendar(time_zone="Asia/Shanghai", weekly=weekdays("22:00-06:00"))
    assert due(nights, sh(2026, 11, 30, 23), 120) == sh(2026, 12, 1, 1)
    assert due(nights, sh(2026, 12, 1, 5), 120) == sh(2026, 12, 1, 23)


def test_a_daylight_saving_zone_keeps_wall_clock_hours():
    regional = official.Regional("DE")
    berlin = Calendar(time_zone="Europe/Berlin", weekly=weekdays("09:00-18:00"), holidays=regional)
    # Clocks go forward on Sunday 29 March 2026: Monday still opens at 09:00 local (07:00 UTC).
    start = datetime(2026, 3, 27, 17, tzinfo=BERLIN)
    assert due(berlin, start, 120) == datetime(2026, 3, 30, 10, tzinfo=BERLIN)
    assert due(berlin, start, 120).utcoffset().total_seconds() == 2 * 3600
    # Good Friday and Easter Monday (the holidays package's German holidays) are closed.
    assert due(berlin, datetime(2026, 4, 2, 17, tzinfo=BERLIN), 120) == datetime(
        2026, 4, 7, 10, tzinfo=BERLIN
    )
    # A 24-hour calendar's day of the change has 23 hours, the autumn one 25.
    every_day = Calendar(time_zone="Europe/Berlin", weekly=weekdays("00:00-00:00", range(7)))
    spring = business_minutes_between(
        every_day, datetime(2026, 3, 29, tzinfo=BERLIN), datetime(2026, 3, 30, tzinfo=BERLIN)
    )
    autumn = business_minutes_between(
        every_day, datetime(2026, 10, 25, tzinfo=BERLIN), datetime(2026, 10, 26, tzinfo=BERLIN)
    )
    assert (spring, autumn) == (23 * 60, 25 * 60)
    always = Calendar(time_zone="Europe/Berlin", always_open=True)
    assert due(always, datetime(2026, 3, 28, 23, tzinfo=BERLIN), 180) == datetime(
        2026, 3, 29, 3, tzinfo=BERLIN
    )


def test_admin_overrides_win_over_holidays_and_the_week():
    base = builtin_default()
    calendar = Calendar(
        time_zone=base.time_zone,
        weekly=base.weekly,
        holidays=base.holidays,
        overrides={
            date(2026, 12, 1): DayRule("closed"),  # a Tuesday closed
            date(2026, 12, 5): DayRule("open"),  # a Saturday open with the usual hours
            date(2026, 12, 7): DayRule("custom", parse_hours("13:00-15:00")),
            date(2026, 10, 2): DayRule("open"),  # open on a National Day holiday
        },
    )
    assert due(calendar, sh(2026, 11, 30, 17), 120) == sh(2026, 12, 2, 10)
    assert due(calendar, sh(2026, 12, 4, 17), 120) == sh(2026, 12, 5, 10)
    assert due(calendar, sh(2026, 12, 7, 9), 150) == sh(2026, 12, 8, 9, 30)
    assert due(calendar, sh(2026, 9, 30, 17), 120) == sh(2026, 10, 2, 10)


def test_a_year_without_official_data_falls_back_to_the_weekly_hours(china):
    # chinesecalendar 1.11.0 knows 2004-2026: 2027 must neither crash nor close.
    source = official.ChinaMainland()
    assert not source.knows_year(2027)
    assert source.day_kind(date(2027, 1, 1)) is None
    assert due(china, sh(2026, 12, 31, 17), 120) == sh(2027, 1, 1, 10)
    # Admins are warned once the year's end is near, not all year.
    assert official.missing_years(source, date(2026, 12, 7), warn_days=60) == [2027]
    assert official.missing_years(source, date(2026, 6, 1), warn_days=60) == []


def test_a_calendar_without_working_time_is_refused_not_looped():
    with pytest.raises(NoWorkingTime):
        add_business_minutes(Calendar(time_zone="UTC"), sh(2026, 1, 1), 1)


def test_hours_are_parsed_or_refused():
    assert parse_hours("09:00-12:00, 13:00-24:00") == ((time(9), time(12)), (time(13), time(0)))
    with pytest.raises(ValueError):
        parse_hours("nine to five")


def test_a_calendars_days_are_worked_out_once_and_an_edited_calendar_starts_afresh(china):
    """Each new ticket's timers look two weeks ahead: the days' ranges are kept on the
    (immutable) calendar, so the next due time reuses them and gives the same answer; a
    calendar with other hours (what an admin's edit loads) has its own."""
    first = due(china, sh(2026, 12, 7, 10), 60)
    assert date(2026, 12, 7) in china.ranges_by_day and len(china.ranges_by_day) >= 14
    kept = dict(china.ranges_by_day)
    assert due(china, sh(2026, 12, 7, 10), 60) == first == sh(2026, 12, 7, 11)
    assert china.ranges_by_day == kept  # nothing recomputed
    earlier = Calendar(time_zone=china.time_zone, weekly=weekdays("08:00-17:00"), holidays=china.holidays)
    assert due(earlier, sh(2026, 12, 7, 7), 60) == sh(2026, 12, 7, 9)
    assert due(china, sh(2026, 12, 7, 7), 60) == sh(2026, 12, 7, 10)


@pytest.mark.parametrize("which", ["china", "lunch", "overnight", "24-7"])
def test_several_amounts_in_one_walk_match_one_walk_each(which):
    """A timer's warning and due times come from one walk (add_business_seconds_each): the
    same instants as one add_business_seconds each, whatever the order, across Spring Festival,
    weekends, lunch breaks, overnight hours and a daylight-saving change."""
    calendar = {
        "china": builtin_default,
        "lunch": lambda: Calendar(time_zone="Asia/Shanghai", weekly=weekdays("09:00-12:00, 13:00-18:00")),
        "overnight": lambda: Calendar(time_zone="Europe/Berlin", weekly=weekdays("22:00-06:00")),
        "24-7": lambda: Calendar(time_zone="Europe/Berlin", always_open=True),
    }[which]()
    starts = [sh(2026, 2, 13, 17, 30), sh(2026, 3, 28, 23), sh(2026, 10, 24, 12), sh(2026, 11, 30, 11, 59)]
    amounts = [0, 1.5, 60, 3599.999, 3600, 7 * 3600, 9 * 3600, 30 * 3600, 7 * 86400]
    for start in starts:
        for first in amounts:
            for second in amounts:
                each = add_business_seconds_each(calendar, start, [first, second])
                assert each == [
                    add_business_seconds(calendar, start, first),
                    add_business_seconds(calendar, start, second),
                ], (start, first, second)


def test_one_walk_refuses_a_calendar_without_working_time():
    with pytest.raises(NoWorkingTime):
        add_business_seconds_each(Calendar(time_zone="UTC"), sh(2026, 11, 30, 9), [60, 120])
