"""Official holidays and make-up working days, wrapped behind one small interface.

Two sources: mainland China's State Council schedule (the ``chinesecalendar`` package, which
also knows the make-up working days, 调休) and the ``holidays`` package for other regions
(public holidays only; those countries have no make-up days).

Each is published a year at a time: ``chinesecalendar`` raises ``NotImplementedError`` for a
year it does not know (the schedule for next year appears in November or December). A missing
year must never crash an SLA clock or a page, so :meth:`HolidaySource.day_kind` answers
``None`` ("no official word: use the weekly hours") and :func:`missing_years` lets the system
check warn admins well before the year turns.
"""

from __future__ import annotations

import logging
from datetime import date
from functools import cache
from typing import Literal, Protocol

logger = logging.getLogger(__name__)

DayKind = Literal["holiday", "workday"]

CN_MAINLAND = "cn"
NONE = ""


class HolidaySource(Protocol):
    def day_kind(self, day: date) -> DayKind | None:
        """``holiday`` (closed), ``workday`` (a make-up working day) or None (a usual day)."""

    def name_of(self, day: date) -> str:
        """The holiday's name ("" when none is known)."""

    def knows_year(self, year: int) -> bool:
        """Whether the source has data for ``year``."""


class ChinaMainland:
    """Mainland China's public holidays and make-up working days (``chinesecalendar``)."""

    def knows_year(self, year: int) -> bool:
        low, high = _china_years()
        return low <= year <= high

    def day_kind(self, day: date) -> DayKind | None:
        if not self.knows_year(day.year):
            _warn_missing_once("cn", day.year)
            return None
        from chinese_calendar import constants

        if day in constants.holidays:
            return "holiday"
        if day in constants.workdays:
            return "workday"
        return None

    def name_of(self, day: date) -> str:
        if not self.knows_year(day.year):
            return ""
        from chinese_calendar import constants

        name = constants.holidays.get(day) or constants.workdays.get(day)
        return str(name or "")


@cache
def _china_years() -> tuple[int, int]:
    # The package's own tables say which years it knows; reading them (rather than calling
    # is_workday and catching its error) keeps a missing year out of the hot path.
    from chinese_calendar import constants

    years = {d.year for d in constants.holidays} | {d.year for d in constants.workdays}
    return min(years), max(years)


class Regional:
    """Public holidays of one country (and subdivision) from the ``holidays`` package."""

    def __init__(self, country: str, subdivision: str = "") -> None:
        self.country = country.upper()
        self.subdivision = subdivision.upper() or None

    def _year(self, year: int) -> dict[date, str]:
        return _regional_year(self.country, self.subdivision, year)

    def knows_year(self, year: int) -> bool:
        # Computed from rules, not published tables: every year is known (an unknown
        # country is refused when the calendar is saved).
        return True

    def day_kind(self, day: date) -> DayKind | None:
        return "holiday" if day in self._year(day.year) else None

    def name_of(self, day: date) -> str:
        return self._year(day.year).get(day, "")


@cache
def _regional_year(country: str, subdivision: str | None, year: int) -> dict[date, str]:
    import holidays

    try:
        table = holidays.country_holidays(country, subdiv=subdivision, years=year)
    except (NotImplementedError, KeyError) as exc:  # an unknown country or subdivision
        _warn_missing_once(f"{country}/{subdivision}: {exc}", year)
        return {}
    return {day: str(name) for day, name in table.items()}


def regional_is_known(country: str, subdivision: str = "") -> bool:
    import holidays

    try:
        holidays.country_holidays(country.upper(), subdiv=subdivision.upper() or None, years=2026)
    except (NotImplementedError, KeyError):
        return False
    return True


class NoHolidays:
    def knows_year(self, year: int) -> bool:
        return True

    def day_kind(self, day: date) -> DayKind | None:
        return None

    def name_of(self, day: date) -> str:
        return ""


def source_for(kind: str, country: str = "", subdivision: str = "") -> HolidaySource:
    if kind == CN_MAINLAND:
        return ChinaMainland()
    if kind == "regional" and country:
        return Regional(country, subdivision)
    return NoHolidays()


def missing_years(source: HolidaySource, today: date, *, warn_days: int) -> list[int]:
    """This year, and next year once ``today`` is within ``warn_days`` of the year's end,
    when the source has no data for them."""
    years = [today.year]
    if (date(today.year, 12, 31) - today).days < warn_days:
        years.append(today.year + 1)
    return [year for year in years if not source.knows_year(year)]


_warned: set[tuple[str, int]] = set()


def _warn_missing_once(what: str, year: int) -> None:
    if (what, year) not in _warned:
        _warned.add((what, year))
        logger.warning("no official holiday data for %s in %s: using the weekly hours", what, year)
