"""Admin: business calendars with their weekly hours and date overrides.

The list warns when a calendar's official holiday data for this or next year is missing
(the same finding as the system check), so an admin sees it well before the year turns.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse

from kefu.calendars.models import BusinessCalendar, CalendarHours, CalendarOverride

if TYPE_CHECKING:
    _CalendarAdminBase = admin.ModelAdmin[BusinessCalendar]
    _HoursInline = admin.TabularInline[CalendarHours, BusinessCalendar]
    _OverrideInline = admin.TabularInline[CalendarOverride, BusinessCalendar]
else:  # not subscriptable at run time
    _CalendarAdminBase = admin.ModelAdmin
    _HoursInline = admin.TabularInline
    _OverrideInline = admin.TabularInline


class CalendarHoursInline(_HoursInline):
    model = CalendarHours
    extra = 0


class CalendarOverrideInline(_OverrideInline):
    model = CalendarOverride
    extra = 0


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(_CalendarAdminBase):
    list_display = ["name", "title", "time_zone", "always_open", "holiday_set"]
    inlines = [CalendarHoursInline, CalendarOverrideInline]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        from kefu.calendars.checks import calendar_data_warnings

        for text in calendar_data_warnings():
            messages.warning(request, text)
        return super().changelist_view(request, extra_context)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        # New hours or holidays move the deadlines of clocks running on this calendar.
        from kefu.jobs.engine import enqueue_on_commit
        from kefu.sla.tasks import recalculate

        enqueue_on_commit(recalculate)
