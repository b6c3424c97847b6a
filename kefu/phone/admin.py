from django.contrib import admin

from kefu.phone.models import AgentLine, Call, Callback, PhoneSms, Prompt


@admin.register(Call)
class CallAdmin(admin.ModelAdmin):
    list_display = (
        "call_sid",
        "caller",
        "language",
        "menu_path",
        "ticket",
        "status",
        "outcome",
        "started_at",
    )
    list_filter = ("status", "outcome", "language")
    search_fields = ("call_sid", "caller", "ticket__case_number")
    readonly_fields = [f.name for f in Call._meta.fields if f.name != "id"]


@admin.register(Callback)
class CallbackAdmin(admin.ModelAdmin):
    list_display = ("ticket", "status", "attempts", "last_outcome", "place_at")
    list_filter = ("status",)


@admin.register(PhoneSms)
class PhoneSmsAdmin(admin.ModelAdmin):
    list_display = ("call", "purpose", "status", "attempts", "sent_at")
    list_filter = ("status", "purpose")


@admin.register(Prompt)
class PromptAdmin(admin.ModelAdmin):
    """Admins reword the default flow's prompts per voice inbox and language."""

    list_display = ("inbox", "key", "language")
    list_filter = ("key", "language")


@admin.register(AgentLine)
class AgentLineAdmin(admin.ModelAdmin):
    list_display = ("user", "address")
