"""Calendar arithmetic: open ranges, adding business minutes, business minutes between.

Pure functions over a :class:`Calendar` value (built from the rows by
``kefu.calendars.selectors.load_calendar``), so SLA clocks, the CLI and tests share one
definition. Rules:

* Hours are wall-clock times in the calendar's zone and belong to the day they start on, so
  09:00 stays 09:00 across daylight-saving changes. ``closes_at`` 00:00 means the end of the
  day; a closing time before the opening time runs overnight into the next day.
* Ranges that touch are merged, so Monday 00:00–24:00 followed by Tuesday 00:00–24:00 is one
  unbroken stretch (no one-minute gap at midnight); ``always_open`` is plain elapsed time.
* All comparisons are in UTC: Python compares two datetimes of one zone by wall clock, which
  is wrong around a DST fold.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

from kefu.calendars.official import HolidaySource, NoHolidays

Hours = tuple[tuple[time, time], ...]
# The longest stretch searched for working time: a calendar with no hours at all (or a year
# of closed overrides) is refused instead of looping for ever.
MAX_SEARCH_DAYS = 3 * 366
_CHUNK_DAYS = 14


class NoWorkingTime(ValueError):
    """The calendar has no working time within the search window."""


@dataclass(frozen=True)
class DayRule:
    """An admin's override: ``closed``, ``open`` (usual working hours) or ``custom`` hours."""

    kind: str
    hours: Hours = ()
    note: str = ""  # shown to customers (a holiday's name); note_en to English readers
    note_en: str = ""
    reduced_staff: bool = False


@dataclass(frozen=True)
class Calendar:
    time_zone: str = "Asia/Shanghai"
    always_open: bool = False
    weekly: Mapping[int, Hours] = field(default_factory=dict)
    overrides: Mapping[date, DayRule] = field(default_factory=dict)
    holidays: HolidaySource = field(default_factory=NoHolidays)
    name: str = ""

    @cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @cached_property
    def ranges_by_day(self) -> dict[date, list[tuple[datetime, datetime]]]:
        """A day's working ranges in UTC, worked out once per calendar: every due time looks
        two weeks ahead (each SLA timer of each new ticket), and the calendar is immutable — an
        admin's edit loads a new one (kefu.calendars.selectors), holidays are package data."""
        return {}

    @cached_property
    def working_day_hours(self) -> Hours:
        """The hours of a make-up working day or an "open" override: those of the first of
        Monday–Friday that has hours (调休 days work a usual weekday's hours)."""
        for weekday in (0, 1, 2, 3, 4, 5, 6):
            if self.weekly.get(weekday):
                return self.weekly[weekday]
        return ()


def parse_hours(text: str) -> Hours:
    """``"09:00-12:00, 13:00-17:00"`` → ranges; raises ValueError on anything else."""
    ranges = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        match = re.fullmatch(r"(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})", part)
        if not match:
            raise ValueError(part)
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if h2 == 24 and m2 == 0:
            h2 = 0
        ranges.append((time(h1, m1), time(h2, m2)))
    return tuple(ranges)


def hours_of(calendar: Calendar, day: date) -> Hours:
    """The local ranges starting on ``day`` (not for always-open calendars)."""
    rule = calendar.overrides.get(day)
    if rule is not None:
        if rule.kind == "closed":
            return ()
        if rule.kind == "open":
            return calendar.working_day_hours
        return rule.hours
    kind = calendar.holidays.day_kind(day)
    if kind == "holiday":
        return ()
    if kind == "workday":
        return calendar.weekly.get(day.weekday()) or calendar.working_day_hours
    return calendar.weekly.get(day.weekday(), ())


def exceptional_days(calendar: Calendar, first: date, last: date) -> dict[date, tuple[Hours, str]]:
    """Days in ``[first, last]`` whose hours differ from their weekday's (holidays, make-up
    working days, overrides): their hours (empty: closed) and a name for display."""
    out: dict[date, tuple[Hours, str]] = {}
    if calendar.always_open:
        return out
    day = first
    while day <= last:
        hours = hours_of(calendar, day)
        if hours != calendar.weekly.get(day.weekday(), ()):
            out[day] = (hours, calendar.holidays.name_of(day))
        day += timedelta(days=1)
    return out


def _at(day: date, moment: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, moment, tzinfo=zone).astimezone(UTC)


def ranges_starting_on(calendar: Calendar, day: date) -> list[tuple[datetime, datetime]]:
    """The working ranges that start on local date ``day``, in UTC."""
    known = calendar.ranges_by_day
    if day not in known:
        if len(known) > 4000:  # a long-lived process walks on through the years
            known.clear()
        known[day] = _ranges_starting_on(calendar, day)
    return list(known[day])


def _ranges_starting_on(calendar: Calendar, day: date) -> list[tuple[datetime, datetime]]:
    zone = calendar.zone
    if calendar.always_open:
        return [(_at(day, time(0), zone), _at(day + timedelta(days=1), time(0), zone))]
    out = []
    for opens_at, closes_at in hours_of(calendar, day):
        end_day = day if closes_at > opens_at else day + timedelta(days=1)
        out.append((_at(day, opens_at, zone), _at(end_day, closes_at, zone)))
    return out


def _merged(ranges: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    merged: list[tuple[datetime, datetime]] = []
    for s, e in sorted(ranges):
        if s >= e:
            continue
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    return merged


def open_intervals(calendar: Calendar, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """Merged working ranges overlapping ``[start, end)``, clipped to it, in UTC."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    if end <= start:
        return []
    day = start.astimezone(calendar.zone).date() - timedelta(days=1)  # yesterday's overnight tail
    last = end.astimezone(calendar.zone).date()
    ranges: list[tuple[datetime, datetime]] = []
    while day <= last:
        ranges.extend(ranges_starting_on(calendar, day))
        day += timedelta(days=1)
    clipped = [(max(s, start), min(e, end)) for s, e in ranges]
    return _merged(clipped)


def _forward(calendar: Calendar, start: datetime) -> Iterator[tuple[datetime, datetime]]:
    """Working ranges from ``start`` on, merged across chunk edges, up to the search limit."""
    pending: tuple[datetime, datetime] | None = None
    chunk_start = start
    limit = start + timedelta(days=MAX_SEARCH_DAYS)
    while chunk_start < limit:
        chunk_end = chunk_start + timedelta(days=_CHUNK_DAYS)
        for s, e in open_intervals(calendar, chunk_start, chunk_end):
            if pending is not None and s <= pending[1]:
                pending = (pending[0], max(pending[1], e))
                continue
            if pending is not None:
                yield pending
            pending = (s, e)
        chunk_start = chunk_end
    if pending is not None:
        yield pending


def add_business_seconds(calendar: Calendar, start: datetime, seconds: float) -> datetime:
    """The instant when ``seconds`` of working time have passed since ``start`` (UTC).

    Zero seconds from outside working hours is the next opening (a clock that starts on a
    Saturday is due when work resumes, not on Saturday).
    """
    return add_business_seconds_each(calendar, start, [seconds])[0]


def add_business_seconds_each(calendar: Calendar, start: datetime, seconds: list[float]) -> list[datetime]:
    """:func:`add_business_seconds` for several amounts from the same ``start`` in one walk of
    the calendar (a timer's warning and due times: the walk was most of their cost, issue 13).
    Same answers, in the order given; :class:`NoWorkingTime` if any is out of reach."""
    start = start.astimezone(UTC)
    if calendar.always_open:
        return [start + timedelta(seconds=s) for s in seconds]
    wanted = sorted(range(len(seconds)), key=lambda i: seconds[i])
    out: list[datetime | None] = [None] * len(seconds)
    passed = timedelta(0)  # working time before the current range
    position = 0
    for s, e in _forward(calendar, start):
        while position < len(wanted):
            left = timedelta(seconds=max(seconds[wanted[position]], 0)) - passed
            if s + left > e:
                break
            out[wanted[position]] = s + left
            position += 1
        if position == len(wanted):
            return [moment for moment in out if moment is not None]
        passed += e - s
    raise NoWorkingTime(calendar.name or calendar.time_zone)


def add_business_minutes(calendar: Calendar, start: datetime, minutes: float) -> datetime:
    return add_business_seconds(calendar, start, minutes * 60)


def business_seconds_between(calendar: Calendar, start: datetime, end: datetime) -> float:
    """Working seconds in ``[start, end)`` (0 when ``end`` is not after ``start``)."""
    if calendar.always_open:
        return max((end - start).total_seconds(), 0.0)
    return sum((e - s).total_seconds() for s, e in open_intervals(calendar, start, end))


def business_minutes_between(calendar: Calendar, start: datetime, end: datetime) -> float:
    return business_seconds_between(calendar, start, end) / 60
