from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib import admin

from kefu.csat.models import CsatSurvey

if TYPE_CHECKING:
    _CsatSurveyAdminBase = admin.ModelAdmin[CsatSurvey]
else:  # ModelAdmin is not subscriptable at run time
    _CsatSurveyAdminBase = admin.ModelAdmin


@admin.register(CsatSurvey)
class CsatSurveyAdmin(_CsatSurveyAdminBase):
    list_display = ["customer", "rating", "agent", "team", "ticket", "answered_at"]
    list_filter = ["rating", "team"]
    raw_id_fields = ["customer", "conversation", "ticket", "agent"]
    readonly_fields = ["token", "created_at", "answered_at"]
