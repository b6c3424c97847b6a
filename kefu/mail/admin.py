"""Admin for the mail channel: failed and ignored mail is visible here and can be retried."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from kefu.mail.actions import do_retry_inbound
from kefu.mail.models import InboundMail, OutboundMail, ThreadMessageId
from kefu.mail.outbound import do_retry_outbound


@admin.register(InboundMail)
class InboundMailAdmin(admin.ModelAdmin):
    list_display = [
        "received_at",
        "header_from",
        "subject",
        "status",
        "ignore_reason",
        "attempts",
        "short_error",
        "secret_found",
        "ticket",
    ]
    list_filter = ["status", "source", "ignore_reason", "secret_found"]
    search_fields = ["rfc_message_id", "header_from", "ticket__case_number"]
    # Never the raw bytes: the full decoded text is what agents and admins need.
    fields = (
        "status",
        "ignore_reason",
        "attempts",
        "next_attempt_at",
        "last_error",
        "received_at",
        "processed_at",
        "source",
        "rfc_message_id",
        "envelope_from",
        "envelope_to",
        "header_from",
        "subject",
        "size",
        "secret_found",
        "secret_kinds",
        "ticket",
        "full_text",
    )
    readonly_fields = fields
    actions = ["retry"]
    list_select_related = ["ticket"]
    show_full_result_count = False
    date_hierarchy = "received_at"

    @admin.display(description=_("last error"))
    def short_error(self, obj: InboundMail) -> str:
        return obj.last_error[:80]

    @admin.action(description=_("Retry processing"), permissions=["change"])
    def retry(self, request: HttpRequest, queryset: QuerySet[InboundMail]) -> None:
        count = do_retry_inbound(queryset.values_list("pk", flat=True), actor=request.user)  # type: ignore[arg-type]
        self.message_user(
            request,
            ngettext("%(count)d mail queued for processing.", "%(count)d mails queued for processing.", count)
            % {"count": count},
            messages.SUCCESS,
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(OutboundMail)
class OutboundMailAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "kind",
        "to_email",
        "ticket",
        "status",
        "attempts",
        "next_attempt_at",
        "short_error",
    ]
    list_filter = ["status", "kind"]
    search_fields = ["to_email", "rfc_message_id", "ticket__case_number"]
    fields = (
        "kind",
        "status",
        "attempts",
        "next_attempt_at",
        "last_error",
        "created_at",
        "sent_at",
        "ticket",
        "to_email",
        "rfc_message_id",
        "in_reply_to",
        "references",
        "subject",
        "body_text",
    )
    readonly_fields = fields
    actions = ["retry"]
    list_select_related = ["ticket"]
    show_full_result_count = False

    @admin.display(description=_("last error"))
    def short_error(self, obj: OutboundMail) -> str:
        return obj.last_error[:80]

    @admin.action(description=_("Retry sending"), permissions=["change"])
    def retry(self, request: HttpRequest, queryset: QuerySet[OutboundMail]) -> None:
        count = do_retry_outbound(queryset.values_list("pk", flat=True), actor=request.user)  # type: ignore[arg-type]
        self.message_user(
            request,
            ngettext("%(count)d mail queued for sending.", "%(count)d mails queued for sending.", count)
            % {"count": count},
            messages.SUCCESS,
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(ThreadMessageId)
class ThreadMessageIdAdmin(admin.ModelAdmin):
    list_display = ["rfc_message_id", "ticket", "direction", "created_at"]
    search_fields = ["rfc_message_id", "ticket__case_number"]
    raw_id_fields = ["ticket"]
    show_full_result_count = False
