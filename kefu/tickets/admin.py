from django.contrib import admin

from kefu.tickets.models import Attachment, CannedReply, Category, Message, SavedView, Tag, Ticket


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["slug", "name_zh", "name_en", "parent", "team", "position", "is_active"]
    list_filter = ["parent", "team", "is_active"]
    list_editable = ["position", "is_active"]


class MessageInline(admin.TabularInline):
    model = Message
    extra = 0
    fields = ["kind", "author", "body", "channel", "created_at"]
    readonly_fields = ["created_at"]


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = ["case_number", "title", "status", "priority", "team", "assignee", "updated_at"]
    list_filter = ["status", "priority", "team", "security_flag"]
    search_fields = ["case_number", "customer__email", "tx_hash", "order_number"]
    raw_id_fields = ["customer", "assignee", "merged_into"]
    readonly_fields = ["case_number", "created_at", "updated_at"]
    show_full_result_count = False  # COUNT(*) over millions of rows is what makes other helpdesks slow
    inlines = [MessageInline]


@admin.register(CannedReply)
class CannedReplyAdmin(admin.ModelAdmin):
    list_display = ["title", "title_en", "team"]


@admin.register(Attachment)
class AttachmentAdmin(admin.ModelAdmin):
    list_display = ["original_name", "ticket", "content_type", "size", "created_at"]
    raw_id_fields = ["ticket", "message", "uploaded_by"]


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["slug", "name_zh", "name_en"]
    search_fields = ["slug", "name_zh", "name_en"]
    exclude = ["tickets"]  # tickets are tagged from the workspace, not picked from millions here


@admin.register(SavedView)
class SavedViewAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "shared", "query", "created_at"]
    list_filter = ["shared"]
    raw_id_fields = ["owner"]
