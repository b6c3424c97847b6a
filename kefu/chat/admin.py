from django.contrib import admin

from kefu.chat.models import (
    AgentPresence,
    CallbackRequest,
    ChatConversation,
    ServiceCalendar,
)


@admin.register(ServiceCalendar)
class ServiceCalendarAdmin(admin.ModelAdmin):
    """Which calendar a channel follows; its hours and holidays are edited on the business
    calendar (Calendars → Business calendars)."""

    list_display = ["name", "team", "channel", "business_calendar"]
    list_filter = ["channel", "team"]


@admin.register(AgentPresence)
class AgentPresenceAdmin(admin.ModelAdmin):
    list_display = ["user", "status", "active_chats", "capacity", "languages", "last_seen_at"]
    list_filter = ["status"]
    search_fields = ["user__email"]
    raw_id_fields = ["user"]
    # The chat counter is the dispatcher's: changing it by hand would break the capacity rule.
    readonly_fields = ["active_chats", "connections", "last_assigned_at", "last_seen_at", "status_changed_at"]


@admin.register(ChatConversation)
class ChatConversationAdmin(admin.ModelAdmin):
    list_display = ["public_id", "customer", "status", "team", "assignee", "priority", "tier", "created_at"]
    list_filter = ["status", "team", "security", "close_reason"]
    search_fields = ["public_id", "customer__email", "ticket__case_number"]
    raw_id_fields = ["customer", "assignee", "ticket", "bot_conversation", "category"]
    # The messages are the case's: the ticket's page shows them.
    readonly_fields = ["public_id", "created_at", "updated_at"]
    show_full_result_count = False


@admin.register(CallbackRequest)
class CallbackRequestAdmin(admin.ModelAdmin):
    list_display = ["phone", "customer", "status", "ticket", "created_at"]
    list_filter = ["status"]
    raw_id_fields = ["customer", "conversation", "ticket"]
