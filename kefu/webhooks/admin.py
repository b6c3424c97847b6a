"""Admin: webhook endpoints (test button, secret rotation, re-enabling) and the delivery log
(with replay)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from kefu.httptypes import user_or_none
from kefu.identity.sealed import unseal
from kefu.webhooks import actions
from kefu.webhooks.models import Delivery, Endpoint
from kefu.webhooks.payloads import EVENT_TYPES

if TYPE_CHECKING:
    _EndpointAdminBase = admin.ModelAdmin[Endpoint]
    _DeliveryAdminBase = admin.ModelAdmin[Delivery]
    _EndpointFormBase = forms.ModelForm[Endpoint]
else:  # ModelAdmin and ModelForm are not subscriptable at run time
    _EndpointAdminBase = _DeliveryAdminBase = admin.ModelAdmin
    _EndpointFormBase = forms.ModelForm


class EndpointForm(_EndpointFormBase):
    # Checked by actions.clean_url (scheme, credentials, addresses), not Django's URL pattern.
    url = forms.CharField(label=_("URL"), max_length=500)
    events = forms.MultipleChoiceField(
        label=_("events"),
        choices=[("*", _("Every event"))] + [(name, f"{name} — {doc}") for name, doc in EVENT_TYPES.items()],
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = Endpoint
        fields = ["url", "description", "events", "include_sensitive", "is_active"]

    def clean_url(self) -> str:
        # The same check as the API's, on save: private, loopback and link-local targets are
        # refused here too (and again at send time, after resolving).
        try:
            return actions.clean_url(self.cleaned_data["url"])
        except ValidationError as exc:
            raise forms.ValidationError(exc.message_dict["url"]) from None


@admin.register(Endpoint)
class EndpointAdmin(_EndpointAdminBase):
    form = EndpointForm
    list_display = ["url", "events", "is_active", "consecutive_failures", "disabled_reason", "created_at"]
    list_filter = ["is_active"]
    readonly_fields = [
        "signing_secret",
        "previous_secret_expires_at",
        "consecutive_failures",
        "disabled_at",
        "disabled_reason",
    ]
    actions = ["send_test", "rotate_secret", "enable"]

    @admin.display(description=_("signing secret"))
    def signing_secret(self, obj: Endpoint) -> str:
        # Admins need it to set up the receiver; it is sealed at rest, shown only here.
        return unseal(obj.secret) if obj.secret else "—"

    def save_model(self, request: HttpRequest, obj: Endpoint, form: Any, change: bool) -> None:
        if not change:
            endpoint, secret = actions.do_create_endpoint(
                url=obj.url,
                events=list(obj.events),
                description=obj.description,
                include_sensitive=obj.include_sensitive,
                actor=user_or_none(request),
            )
            obj.pk, obj.public_id, obj.secret = endpoint.pk, endpoint.public_id, endpoint.secret
            return
        super().save_model(request, obj, form, change)

    @admin.action(description=_("Send a test event"), permissions=["change"])
    def send_test(self, request: HttpRequest, queryset: QuerySet[Endpoint]) -> None:
        for endpoint in queryset:
            actions.do_send_test(endpoint=endpoint, actor=user_or_none(request))
        self.message_user(request, _("Test events queued; see the delivery log."), messages.SUCCESS)

    @admin.action(description=_("Rotate the signing secret"), permissions=["change"])
    def rotate_secret(self, request: HttpRequest, queryset: QuerySet[Endpoint]) -> None:
        for endpoint in queryset:
            actions.do_rotate_secret(endpoint=endpoint, actor=user_or_none(request))
        self.message_user(
            request, _("New secrets made; the previous ones keep signing for a while."), messages.SUCCESS
        )

    @admin.action(description=_("Enable again"), permissions=["change"])
    def enable(self, request: HttpRequest, queryset: QuerySet[Endpoint]) -> None:
        for endpoint in queryset:
            actions.do_enable_endpoint(endpoint=endpoint, actor=user_or_none(request))
        self.message_user(request, _("Endpoints enabled."), messages.SUCCESS)


_DELIVERY_FIELDS = (
    "endpoint",
    "message_id",
    "event_type",
    "status",
    "attempts",
    "response_code",
    "response_ms",
    "next_attempt_at",
    "last_error",
    "created_at",
    "delivered_at",
    "body",
)


@admin.register(Delivery)
class DeliveryAdmin(_DeliveryAdminBase):
    list_display = [
        "created_at",
        "endpoint",
        "event_type",
        "status",
        "attempts",
        "response_code",
        "response_ms",
    ]
    list_filter = ["status", "event_type"]
    search_fields = ["message_id"]
    list_select_related = ["endpoint"]
    fields = _DELIVERY_FIELDS
    readonly_fields = _DELIVERY_FIELDS
    actions = ["replay"]
    show_full_result_count = False

    @admin.action(description=_("Replay"), permissions=["change"])
    def replay(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        count = actions.do_replay(
            delivery_ids=list(queryset.values_list("pk", flat=True)), actor=user_or_none(request)
        )
        self.message_user(
            request,
            ngettext("%(count)d delivery queued again.", "%(count)d deliveries queued again.", count)
            % {"count": count},
            messages.SUCCESS,
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
