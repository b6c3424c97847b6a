"""Admin: SLA policies (first match wins, by position) and a read-only view of the timers.

Saving or deleting a policy recalculates the open timers in a background job.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from kefu.sla.models import SlaPolicy, SlaTimer

if TYPE_CHECKING:
    _PolicyAdminBase = admin.ModelAdmin[SlaPolicy]
    _TimerAdminBase = admin.ModelAdmin[SlaTimer]
else:  # not subscriptable at run time
    _PolicyAdminBase = admin.ModelAdmin
    _TimerAdminBase = admin.ModelAdmin


def _recalculate_after_commit() -> None:
    from kefu.jobs.engine import enqueue_on_commit
    from kefu.sla.tasks import recalculate

    # Every open timer, not only this policy's: a new position or condition can move
    # tickets from one policy to another.
    enqueue_on_commit(recalculate)


@admin.register(SlaPolicy)
class SlaPolicyAdmin(_PolicyAdminBase):
    list_display = [
        "name",
        "position",
        "is_active",
        "first_reply_minutes",
        "next_reply_minutes",
        "update_minutes",
        "resolution_minutes",
        "calendar",
    ]
    list_editable = ["position", "is_active"]
    filter_horizontal = ["categories"]

    def save_model(self, request: HttpRequest, obj: SlaPolicy, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        _recalculate_after_commit()

    def delete_model(self, request: HttpRequest, obj: SlaPolicy) -> None:
        super().delete_model(request, obj)
        _recalculate_after_commit()

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[SlaPolicy]) -> None:
        super().delete_queryset(request, queryset)
        _recalculate_after_commit()


_TIMER_FIELDS = (
    "ticket",
    "kind",
    "policy",
    "calendar",
    "started_at",
    "due_at",
    "warn_at",
    "paused_at",
    "remaining_seconds",
    "never_pauses",
    "met_at",
    "stopped_at",
    "warned_at",
    "breached_at",
)


@admin.register(SlaTimer)
class SlaTimerAdmin(_TimerAdminBase):
    list_display = ["ticket", "kind", "policy", "due_at", "met_at", "breached_at"]
    list_filter = ["kind", ("breached_at", admin.EmptyFieldListFilter)]
    list_select_related = ["ticket", "policy"]
    fields = _TIMER_FIELDS
    readonly_fields = _TIMER_FIELDS

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
