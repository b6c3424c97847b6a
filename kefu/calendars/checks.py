"""System check: warn admins before the official holiday data of a calendar runs out.

``chinesecalendar`` learns each year's schedule from a release published after the State
Council announces it (usually November). Until Kefu is upgraded, a calendar falls back to its
weekly hours for that year: the check says so ``KEFU_CALENDAR_WARN_DAYS`` days ahead, at every
start (``kefu serve`` runs the checks) and in ``kefu check``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks
from django.db import DatabaseError
from django.utils import timezone


def calendar_data_warnings() -> list[str]:
    from kefu.calendars import official
    from kefu.calendars.models import BusinessCalendar

    today = timezone.localdate()
    warn_days = int(settings.KEFU_CALENDAR_WARN_DAYS)
    out = []
    for row in BusinessCalendar.objects.exclude(holiday_set=official.NONE).exclude(always_open=True):
        source = official.source_for(row.holiday_set, row.holiday_country, row.holiday_subdivision)
        for year in official.missing_years(source, today, warn_days=warn_days):
            out.append(
                f"Calendar {row.name!r}: no official holiday data for {year} "
                f"(upgrade chinesecalendar, or add the holidays as overrides); "
                f"until then {year} follows the weekly hours."
            )
    return out


@checks.register("kefu", deploy=False)
def check_calendar_data(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    try:
        messages = calendar_data_warnings()
    except (DatabaseError, RuntimeError):
        # Before migrate there is nothing to check yet; where the database may not be used
        # at all (a test without one) neither. A warning must never stop a start.
        return []
    return [checks.Warning(text, id="kefu.calendars.W001") for text in messages]
