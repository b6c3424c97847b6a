"""Admin: jobs that failed after their retries, with a retry action."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from kefu.jobs.actions import do_retry_failed_jobs
from kefu.jobs.models import FailedJob

if TYPE_CHECKING:
    _FailedJobAdminBase = admin.ModelAdmin[FailedJob]
else:  # ModelAdmin is not subscriptable at run time
    _FailedJobAdminBase = admin.ModelAdmin

_FIELDS = ("task_name", "task_id", "args", "kwargs", "failures", "failed_at", "retried_at", "error")


@admin.register(FailedJob)
class FailedJobAdmin(_FailedJobAdminBase):
    list_display = ["failed_at", "task_name", "args", "failures", "short_error", "retried_at"]
    list_filter = ["task_name", ("retried_at", admin.EmptyFieldListFilter)]
    search_fields = ["task_name", "task_id"]
    fields = _FIELDS
    readonly_fields = _FIELDS
    actions = ["retry"]
    show_full_result_count = False

    @admin.display(description=_("error"))
    def short_error(self, obj: FailedJob) -> str:
        return obj.error[:80]

    @admin.action(description=_("Retry the job"), permissions=["change"])
    def retry(self, request: HttpRequest, queryset: QuerySet[FailedJob]) -> None:
        count = do_retry_failed_jobs(queryset.values_list("pk", flat=True), actor=request.user)  # type: ignore[arg-type]
        self.message_user(
            request,
            ngettext("%(count)d job queued again.", "%(count)d jobs queued again.", count) % {"count": count},
            messages.SUCCESS,
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
