"""Business hours and holidays as live chat and the hours page tell customers: is a channel
open now, when does it close or open next, is today a holiday with fewer agents.

A channel's hours are a business calendar (kefu.calendars, the model SLA clocks use too); the
:class:`Calendar` here is chat's view of it and hands each day to that calendar's arithmetic
(``shared``). A view without ``shared`` (weekly ranges and special days given directly) is for
tests of the rules below:

* Weekly hours belong to the day they start on, in the calendar's time zone. A range whose
  closing time is at or before its opening time runs overnight (Friday 22:00–06:00 ends on
  Saturday 06:00); 00:00–00:00 is the whole day.
* A holiday replaces the hours *starting* on its date: closed, or its own range, or (neither
  closed nor a range) the usual hours with reduced staff. The overnight tail of the day
  before still runs into the holiday's morning, as it would for staff on that shift.
* Times are wall-clock times in the calendar's zone, so opening at 09:00 stays 09:00 across
  daylight-saving changes. Comparisons happen in UTC: Python compares two datetimes of the
  same zone by wall clock, which is wrong around a DST fold.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from kefu.calendars.arithmetic import Calendar as SharedCalendar

# How far ahead to look for the next opening (a long holiday closes for many days).
LOOKAHEAD_DAYS = 45


@dataclass(frozen=True)
class WeeklyRange:
    weekday: int  # 0 = Monday
    opens_at: time
    closes_at: time


@dataclass(frozen=True)
class SpecialDay:
    day: date
    name_zh: str = ""
    name_en: str = ""
    closed: bool = True
    opens_at: time | None = None
    closes_at: time | None = None
    reduced_staff: bool = False

    def name(self, language: str) -> str:
        return self.name_en if language.startswith("en") else self.name_zh


@dataclass(frozen=True)
class Calendar:
    time_zone: str = "Asia/Shanghai"
    always_open: bool = False
    weekly: tuple[WeeklyRange, ...] = ()
    special: dict[date, SpecialDay] = field(default_factory=dict, hash=False)
    name: str = ""
    # The business calendar (kefu.calendars) this view reads: its arithmetic decides each day
    # (official holidays, make-up days, overrides, several ranges a day), for any date.
    shared: SharedCalendar | None = field(default=None, compare=False, hash=False)

    def special_on(self, day: date) -> SpecialDay | None:
        """The day's holiday, make-up day or announced exception, if it is one."""
        if self.shared is None:
            return self.special.get(day)
        from kefu.calendars.arithmetic import hours_of

        shared = self.shared
        rule = shared.overrides.get(day)
        ranges = () if shared.always_open else hours_of(shared, day)
        differs = not shared.always_open and ranges != shared.weekly.get(day.weekday(), ())
        if not differs and not (rule and (rule.note or rule.reduced_staff)):
            return None
        name = shared.holidays.name_of(day)
        return SpecialDay(
            day=day,
            name_zh=(rule.note if rule else "") or name,
            name_en=((rule.note_en or rule.note) if rule else "") or name,
            closed=differs and not ranges,
            opens_at=ranges[0][0] if differs and ranges else None,
            closes_at=ranges[-1][1] if differs and ranges else None,
            reduced_staff=bool(rule and rule.reduced_staff),
        )

    def specials(self, first: date, last: date) -> list[SpecialDay]:
        """The special days from ``first`` to ``last``, in order (for the hours page)."""
        days = []
        day = first
        while day <= last:
            special = self.special_on(day)
            if special is not None:
                days.append(special)
            day += timedelta(days=1)
        return days

    @cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)


@dataclass(frozen=True)
class HoursStatus:
    """What a customer is told: open or not, until/from when, and today's holiday if any."""

    open: bool
    closes_at: datetime | None  # None: open without an end in sight (24/7)
    next_opens_at: datetime | None  # None while open, or closed for longer than the lookahead
    holiday: SpecialDay | None
    reduced_staff: bool
    time_zone: str


def _at(day: date, moment: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, moment, tzinfo=zone).astimezone(UTC)


def _range(day: date, opens_at: time, closes_at: time, zone: ZoneInfo) -> tuple[datetime, datetime]:
    end_day = day if closes_at > opens_at else day + timedelta(days=1)
    return _at(day, opens_at, zone), _at(end_day, closes_at, zone)


def intervals_starting_on(calendar: Calendar, day: date) -> list[tuple[datetime, datetime]]:
    """The opening ranges that start on ``day`` (local date), as UTC datetimes."""
    zone = calendar.zone
    if calendar.always_open:
        return [(_at(day, time(0), zone), _at(day + timedelta(days=1), time(0), zone))]
    if calendar.shared is not None:
        from kefu.calendars.arithmetic import ranges_starting_on

        return ranges_starting_on(calendar.shared, day)
    special = calendar.special.get(day)
    if special is not None:
        if special.closed:
            return []
        if special.opens_at is not None and special.closes_at is not None:
            return [_range(day, special.opens_at, special.closes_at, zone)]
    return [_range(day, r.opens_at, r.closes_at, zone) for r in calendar.weekly if r.weekday == day.weekday()]


def open_intervals(calendar: Calendar, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """Merged opening ranges overlapping ``[start, end)``, clipped to it, in UTC."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    if end <= start:
        return []
    first = start.astimezone(calendar.zone).date() - timedelta(days=1)  # yesterday's overnight tail
    last = end.astimezone(calendar.zone).date()
    ranges: list[tuple[datetime, datetime]] = []
    day = first
    while day <= last:
        ranges.extend(intervals_starting_on(calendar, day))
        day += timedelta(days=1)
    merged: list[tuple[datetime, datetime]] = []
    for s, e in sorted(ranges):
        s, e = max(s, start), min(e, end)
        if s >= e:
            continue
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    return merged


def is_open(calendar: Calendar, at: datetime) -> bool:
    return bool(open_intervals(calendar, at, at + timedelta(microseconds=1)))


def status_at(calendar: Calendar, at: datetime) -> HoursStatus:
    """Open now? Until when, or from when? And is today (local) a holiday or short-staffed?"""
    at = at.astimezone(UTC)
    today = at.astimezone(calendar.zone).date()
    holiday = calendar.special_on(today)
    reduced = bool(holiday and holiday.reduced_staff)
    if calendar.always_open:
        return HoursStatus(True, None, None, holiday, reduced, calendar.time_zone)
    ahead = open_intervals(calendar, at, at + timedelta(days=LOOKAHEAD_DAYS))
    if ahead and ahead[0][0] <= at:
        closes = ahead[0][1]
        # An open range that reaches the end of the lookahead never closes as far as we know.
        return HoursStatus(
            True,
            closes if closes < at + timedelta(days=LOOKAHEAD_DAYS) else None,
            None,
            holiday,
            reduced,
            calendar.time_zone,
        )
    return HoursStatus(False, None, ahead[0][0] if ahead else None, holiday, reduced, calendar.time_zone)


def business_seconds_between(calendar: Calendar, start: datetime, end: datetime) -> float:
    """Open seconds in ``[start, end)``: the clock an SLA runs on."""
    return sum((e - s).total_seconds() for s, e in open_intervals(calendar, start, end))


def weekly_table(calendar: Calendar) -> list[tuple[int, list[tuple[time, time]]]]:
    """Ranges per weekday (Monday first) for display."""
    return [
        (weekday, [(r.opens_at, r.closes_at) for r in calendar.weekly if r.weekday == weekday])
        for weekday in range(7)
    ]
