from django.contrib import admin

from kefu.csat.models import CsatSurvey


@admin.register(CsatSurvey)
class CsatSurveyAdmin(admin.ModelAdmin):
    list_display = ["customer", "rating", "agent", "team", "ticket", "answered_at"]
    list_filter = ["rating", "team"]
    raw_id_fields = ["customer", "conversation", "ticket", "agent"]
    readonly_fields = ["token", "created_at", "answered_at"]
