from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext as _

from kefu.httptypes import user_or_none
from kefu.trust.actions import do_add_official_channel, do_remove_official_channel, do_update_official_channel
from kefu.trust.models import OfficialChannel
from kefu.trust.verifier import InvalidChannelValue, normalize


class OfficialChannelForm(forms.ModelForm):
    class Meta:
        model = OfficialChannel
        fields = ["kind", "value", "label"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind, value = data.get("kind"), data.get("value")
        if kind and value:
            try:
                normalized = normalize(kind, value)
            except InvalidChannelValue as exc:
                raise forms.ValidationError({"value": str(exc)}) from exc
            clash = OfficialChannel.objects.filter(kind=normalized.kind, normalized=normalized.value)
            if self.instance.pk:
                clash = clash.exclude(pk=self.instance.pk)
            if clash.exists():
                raise forms.ValidationError({"value": _("This channel is already registered.")})
        return data


@admin.register(OfficialChannel)
class OfficialChannelAdmin(admin.ModelAdmin):
    form = OfficialChannelForm
    list_display = ("normalized", "kind", "label", "value", "updated_at")
    list_filter = ("kind",)
    search_fields = ("normalized", "value", "label")
    readonly_fields = ("normalized", "created_at", "updated_at")

    # Every change goes through the actions so that it is normalised and audited.
    def save_model(
        self, request: HttpRequest, obj: OfficialChannel, form: forms.ModelForm, change: bool
    ) -> None:
        data = form.cleaned_data
        if change:
            do_update_official_channel(
                channel=obj,
                kind=data["kind"],
                value=data["value"],
                label=data.get("label", ""),
                actor=user_or_none(request),
            )
        else:
            created = do_add_official_channel(
                kind=data["kind"], value=data["value"], label=data.get("label", ""), actor=user_or_none(request)
            )
            obj.pk = created.pk
            obj.kind, obj.normalized = created.kind, created.normalized

    def delete_model(self, request: HttpRequest, obj: OfficialChannel) -> None:
        do_remove_official_channel(channel=obj, actor=user_or_none(request))

    def delete_queryset(self, request: HttpRequest, queryset) -> None:
        for channel in queryset:
            do_remove_official_channel(channel=channel, actor=user_or_none(request))
