"""Admin pages: inboxes (credentials are write-only), contact identities, and the inbound events
and outbound deliveries that failed, for an admin to read and retry."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from kefu.inbox.actions import do_retry_deliveries
from kefu.inbox.adapters.base import adapter_for
from kefu.inbox.models import ContactIdentity, InboundEvent, Inbox, OutboundDelivery
from kefu.inbox.pipeline import do_retry_events

if TYPE_CHECKING:
    _InboxFormBase = forms.ModelForm[Inbox]
    _AdminInbox = admin.ModelAdmin[Inbox]
    _AdminContactIdentity = admin.ModelAdmin[ContactIdentity]
    _AdminInboundEvent = admin.ModelAdmin[InboundEvent]
    _AdminOutboundDelivery = admin.ModelAdmin[OutboundDelivery]
else:  # not subscriptable at run time
    _InboxFormBase = forms.ModelForm
    _AdminInbox = _AdminContactIdentity = _AdminInboundEvent = _AdminOutboundDelivery = admin.ModelAdmin


class InboxForm(_InboxFormBase):
    new_credentials = forms.CharField(
        label=_("new provider credentials"),
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("Stored sealed; leave empty to keep the current ones."),
    )

    class Meta:
        model = Inbox
        fields = ["kind", "name", "team", "calendar", "bot_enabled", "is_active"]

    def save(self, commit: bool = True) -> Inbox:
        inbox: Inbox = super().save(commit=False)
        if self.cleaned_data.get("new_credentials"):
            inbox.credentials = self.cleaned_data["new_credentials"]
        if commit:
            inbox.save()
        return inbox


@admin.register(Inbox)
class InboxAdmin(_AdminInbox):
    form = InboxForm
    list_display = ["name", "kind", "team", "bot_enabled", "is_active", "health"]
    list_filter = ["kind", "is_active"]

    @admin.display(description=_("channel health"))
    def health(self, inbox: Inbox) -> str:
        """The adapter's own check (``health``): can the channel receive and send now?"""
        try:
            state = adapter_for(inbox.kind).health(inbox)
        except LookupError:
            return str(_("no adapter for this kind"))
        verdict = _("OK") if state.ok else _("Not working")
        return f"{verdict} {state.detail}".strip()


@admin.register(ContactIdentity)
class ContactIdentityAdmin(_AdminContactIdentity):
    list_display = ["address", "inbox", "customer", "display_name", "last_seen_at"]
    list_filter = ["inbox"]
    search_fields = ["address"]
    raw_id_fields = ["customer"]
    readonly_fields = ["first_seen_at", "last_seen_at"]


@admin.register(InboundEvent)
class InboundEventAdmin(_AdminInboundEvent):
    list_display = [
        "received_at",
        "inbox",
        "status",
        "ignore_reason",
        "attempts",
        "ticket",
        "last_error",
    ]
    list_filter = ["status", "inbox"]
    actions = ["retry"]
    readonly_fields = [f.name for f in InboundEvent._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description=_("Process the selected events again now"))
    def retry(self, request: HttpRequest, queryset: QuerySet[InboundEvent]) -> None:
        count = do_retry_events(queryset.values_list("pk", flat=True))
        self.message_user(
            request, ngettext("%d event queued.", "%d events queued.", count) % count, messages.SUCCESS
        )


@admin.register(OutboundDelivery)
class OutboundDeliveryAdmin(_AdminOutboundDelivery):
    list_display = [
        "created_at",
        "message",
        "channel",
        "status",
        "attempts",
        "next_attempt_at",
        "sent_at",
        "last_error",
    ]
    list_filter = ["status", "channel"]
    actions = ["retry"]
    readonly_fields = [f.name for f in OutboundDelivery._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description=_("Send the selected deliveries again now"))
    def retry(self, request: HttpRequest, queryset: QuerySet[OutboundDelivery]) -> None:
        count = do_retry_deliveries(queryset.values_list("pk", flat=True))
        self.message_user(
            request, ngettext("%d delivery queued.", "%d deliveries queued.", count) % count, messages.SUCCESS
        )
