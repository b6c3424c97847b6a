from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from kefu.trust.models import ChannelKind

# "other" is for the registry; customers check one of the kinds they can name.
CHECKABLE_KINDS = [(k.value, k.label) for k in ChannelKind if k != ChannelKind.OTHER]


class VerifyChannelForm(forms.Form):
    kind = forms.ChoiceField(label=_("What do you want to check?"), choices=CHECKABLE_KINDS)
    value = forms.CharField(
        label=_("Website, email address, phone number or account"),
        max_length=500,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
