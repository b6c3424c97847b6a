"""Admin pages: inboxes (credentials are write-only), contact identities, and the inbound events
and outbound deliveries that failed, for an admin to read and retry."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.timezone import localtime
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from kefu.inbox.actions import do_retry_deliveries
from kefu.inbox.adapters.base import adapter_for
from kefu.inbox.models import ContactIdentity, InboundEvent, Inbox, OutboundDelivery
from kefu.inbox.pipeline import do_retry_events
from kefu.inbox.selectors import Activity, inbox_activity

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
    list_display = [
        "name",
        "kind",
        "team",
        "bot_enabled",
        "is_active",
        "health",
        "last_received",
        "backlog",
        "failed_deliveries",
        "last_error",
    ]
    list_filter = ["kind", "is_active"]
    actions = ["retry_failed"]

    @admin.display(description=_("channel health"))
    def health(self, inbox: Inbox) -> str:
        """The adapter's own check (``health``): can the channel receive and send now? Each
        adapter's ``health()`` says it (Telegram: getWebhookInfo; pending: the provider's
        queued updates)."""
        try:
            state = adapter_for(inbox.kind).health(inbox)
        except LookupError:
            return str(_("no adapter for this kind"))
        verdict = _("OK") if state.ok else _("Not working")
        return f"{verdict} {state.detail}".strip()

    def _activity(self, inbox: Inbox) -> Activity:
        # Read once per row (kept on the row's instance: this admin object serves every request).
        activity = getattr(inbox, "_kefu_activity", None)
        if activity is None:
            activity = inbox_activity(inbox)
            inbox._kefu_activity = activity  # type: ignore[attr-defined]
        return activity

    @admin.display(description=_("last update received"))
    def last_received(self, inbox: Inbox) -> str:
        when = self._activity(inbox).last_received_at
        return date_format(localtime(when), "SHORT_DATETIME_FORMAT") if when else "—"

    @admin.display(description=_("waiting"))
    def backlog(self, inbox: Inbox) -> str:
        """Received but not processed yet, and replies not sent yet (ours, not the provider's)."""
        activity = self._activity(inbox)
        return _("%(events)d in, %(deliveries)d out") % {
            "events": activity.pending_events,
            "deliveries": activity.queued_deliveries,
        }

    @admin.display(description=_("failed deliveries"))
    def failed_deliveries(self, inbox: Inbox) -> str:
        count = self._activity(inbox).failed_deliveries
        if not count:
            return "0"
        url = reverse("admin:inbox_outbounddelivery_changelist")
        return format_html(
            '<a href="{}?inbox__id__exact={}&amp;status__exact=failed">{}</a>', url, inbox.pk, count
        )

    @admin.display(description=_("last error"))
    def last_error(self, inbox: Inbox) -> str:
        activity = self._activity(inbox)
        if not activity.last_error or activity.last_error_at is None:
            return "—"
        when = date_format(localtime(activity.last_error_at), "SHORT_DATETIME_FORMAT")
        return f"{when}: {activity.last_error[:160]}"

    @admin.action(description=_("Retry the failed deliveries and events of the selected inboxes"))
    def retry_failed(self, request: HttpRequest, queryset: QuerySet[Inbox]) -> None:
        from kefu.inbox.models import DeliveryStatus, EventStatus

        inboxes = list(queryset.values_list("pk", flat=True))
        deliveries = do_retry_deliveries(
            OutboundDelivery.objects.filter(inbox_id__in=inboxes, status=DeliveryStatus.FAILED).values_list(
                "pk", flat=True
            )
        )
        events = do_retry_events(
            InboundEvent.objects.filter(inbox_id__in=inboxes, status=EventStatus.FAILED).values_list(
                "pk", flat=True
            )
        )
        self.message_user(
            request,
            _("%(deliveries)d deliveries and %(events)d events queued again.")
            % {"deliveries": deliveries, "events": events},
            messages.SUCCESS,
        )


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
    list_filter = ["status", "channel", "inbox"]
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
