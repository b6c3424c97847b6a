"""Reading calendars: the rows become an :class:`~kefu.calendars.arithmetic.Calendar` value."""

from __future__ import annotations

from collections import defaultdict
from datetime import time

from django.db import DatabaseError

from kefu.calendars import official
from kefu.calendars.arithmetic import Calendar, DayRule, Hours, parse_hours
from kefu.calendars.models import DEFAULT_CALENDAR, BusinessCalendar, OverrideKind
from kefu.refcache import ReferenceCache


class UnknownCalendar(LookupError):
    pass


def calendar_value(row: BusinessCalendar) -> Calendar:
    """The arithmetic's view of one calendar row (reads its hours and overrides: 2 queries,
    none when they were prefetched)."""
    weekly: dict[int, list[tuple[time, time]]] = defaultdict(list)
    for hours in row.hours.all():
        weekly[hours.weekday].append((hours.opens_at, hours.closes_at))
    overrides = {}
    for override in row.overrides.all():
        custom: Hours = ()
        if override.kind == OverrideKind.CUSTOM:
            try:
                custom = parse_hours(override.hours)
            except ValueError:
                custom = ()  # refused by the admin form; a bad row closes the day, never crashes
        overrides[override.date] = DayRule(
            kind=override.kind,
            hours=custom,
            note=override.note,
            note_en=override.note_en,
            reduced_staff=override.reduced_staff,
        )
    return Calendar(
        time_zone=row.time_zone,
        always_open=row.always_open,
        weekly={day: tuple(sorted(ranges)) for day, ranges in weekly.items()},
        overrides=overrides,
        holidays=official.source_for(row.holiday_set, row.holiday_country, row.holiday_subdivision),
        name=row.name,
    )


def builtin_default() -> Calendar:
    """The default calendar as its data migration creates it, for a database that lacks it
    (not migrated yet, or the row was deleted): Monday-Friday 09:00-18:00 Asia/Shanghai with
    mainland China's holidays and make-up working days."""
    working = ((time(9), time(18)),)
    return Calendar(
        time_zone="Asia/Shanghai",
        weekly={day: working for day in range(5)},
        holidays=official.ChinaMainland(),
        name=DEFAULT_CALENDAR,
    )


def get_calendar_row(name: str | None = None) -> BusinessCalendar:
    name = name or DEFAULT_CALENDAR
    try:
        row = BusinessCalendar.objects.prefetch_related("hours", "overrides").filter(name=name).first()
    except DatabaseError:  # not migrated yet
        row = None
    if row is None:
        raise UnknownCalendar(name)
    return row


def load_calendar(name: str | None = None) -> Calendar:
    """The calendar called ``name`` (the default one when None); raises UnknownCalendar."""
    return calendar_value(get_calendar_row(name))


def _load_all_calendars() -> dict[int, Calendar]:
    rows = BusinessCalendar.objects.prefetch_related("hours", "overrides")
    return {row.pk: calendar_value(row) for row in rows}


# Every new ticket starts SLA timers on a calendar, and every sweep and reply moves them: three
# queries each time for rows an admin edits a few times a year. Kept per process like the SLA
# policies (a minute at most; forgotten at once on save or delete here, kefu.calendars.apps).
CALENDARS = ReferenceCache("calendars", _load_all_calendars, seconds=60.0)


def cached_calendar_by_id(pk: int | None) -> Calendar:
    """:func:`load_calendar_by_id` from the per-process cache (the values are read-only)."""
    try:
        by_id = CALENDARS.get()
    except DatabaseError:  # not migrated yet: the uncached path says what is there
        return load_calendar_by_id(pk)
    if pk is not None and pk in by_id:
        return by_id[pk]
    for calendar in by_id.values():
        if calendar.name == DEFAULT_CALENDAR:
            return calendar
    return load_calendar_by_id(pk)  # no default row: the same answer (or error) as uncached


def cached_default_calendar_id() -> int | None:
    """The default calendar's row id (None without one), from the per-process cache."""
    try:
        by_id = CALENDARS.get()
    except DatabaseError:  # not migrated yet
        return None
    return next((pk for pk, calendar in by_id.items() if calendar.name == DEFAULT_CALENDAR), None)


def load_calendar_by_id(pk: int | None) -> Calendar:
    """A calendar by id; None or a vanished one: the default calendar."""
    if pk is not None:
        row = BusinessCalendar.objects.prefetch_related("hours", "overrides").filter(pk=pk).first()
        if row is not None:
            return calendar_value(row)
    return load_calendar(None)
