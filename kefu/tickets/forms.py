from __future__ import annotations

import uuid
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.forms.utils import flatatt
from django.utils.html import format_html, format_html_join
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from kefu import inputs
from kefu.tickets.attachments import CheckedFile, check_uploads
from kefu.tickets.models import AGENT_STATUS_CHOICES, Category, Priority, Ticket
from kefu.tickets.selectors import active_categories


class FastSelect(forms.Select):
    """A ``<select>`` written out in Python.

    Django renders every ``<option>`` through a template of its own; on the agent's ticket view
    (four selects, one with the whole category tree) that cost more than all the page's
    queries. Same markup, same escaping, option groups included.
    """

    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]

        def options(items) -> str:
            return format_html_join(
                "",
                '<option value="{}"{}>{}</option>',
                ((o["value"], flatatt(o["attrs"]), o["label"]) for o in items),
            )

        parts: list[str] = []
        for group_name, items, _index in widget["optgroups"]:
            if group_name:
                parts.append(format_html('<optgroup label="{}">{}</optgroup>', group_name, options(items)))
            else:
                parts.append(options(items))
        return format_html(
            '<select name="{}"{}>{}</select>',
            widget["name"],
            flatatt(widget["attrs"]),
            format_html_join("", "{}", ((p,) for p in parts)),
        )


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    widget = MultipleFileInput

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)
        self.widget.attrs.setdefault("accept", "image/png,image/jpeg,image/gif,image/webp,application/pdf")

    def clean(self, data, initial=None) -> list[CheckedFile]:
        uploads = [f for f in (data if isinstance(data, list | tuple) else [data]) if f]
        return check_uploads(uploads)


class CategoryChoiceField(forms.ModelChoiceField):
    widget = FastSelect

    def label_from_instance(self, obj: Category) -> str:
        name = obj.localized_name(get_language())
        return f"— {name}" if obj.parent_id else name


class ClientIdField(forms.CharField):
    """A fresh id per rendered form: a submission sent twice (a double click, a resend after a
    lost answer) is one message (the inbound pipeline deduplicates on it)."""

    def __init__(self) -> None:
        super().__init__(
            required=False, max_length=64, widget=forms.HiddenInput, initial=lambda: uuid.uuid4().hex
        )


class TicketForm(forms.Form):
    category = CategoryChoiceField(queryset=Category.objects.none(), label=_("Category"))
    title = forms.CharField(label=_("Title"), max_length=200)
    description = forms.CharField(
        label=_("Describe the problem"), widget=forms.Textarea(attrs={"rows": 6}), max_length=20000
    )
    coin = forms.CharField(label=_("Coin"), max_length=20, required=False, help_text=_("e.g. USDT, ETH, BTC"))
    network = forms.CharField(
        label=_("Network"), max_length=40, required=False, help_text=_("e.g. ERC-20, TRC-20")
    )
    amount = forms.DecimalField(
        label=_("Amount"), required=False, min_value=0, max_digits=38, decimal_places=18
    )
    tx_hash = forms.CharField(label=_("Transaction hash (TxID)"), max_length=130, required=False)
    order_number = forms.CharField(label=_("Order number"), max_length=64, required=False)
    attachments = MultipleFileField(
        label=_("Screenshots or documents"), help_text=_("Images or PDF, up to 10 MB each, at most 5 files.")
    )
    client_id = ClientIdField()

    def clean_amount(self) -> Decimal | None:
        # The one rule for amounts (kefu.inputs): what the column holds the same on both databases.
        try:
            return inputs.decimal_for(self.cleaned_data.get("amount"), Ticket._meta.get_field("amount"))
        except ValidationError as exc:
            raise ValidationError(exc.message_dict["amount"]) from None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        categories = active_categories()
        field = self.fields["category"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = Category.objects.filter(pk__in=[c.pk for c in categories])
        language = get_language()
        # Parents are headings; tickets are filed under a sub-category.
        groups: list[tuple[str, list[tuple[int, str]]]] = []
        for category in categories:
            if category.parent_id is None:
                groups.append((category.localized_name(language), []))
            elif groups:
                groups[-1][1].append((category.pk, category.localized_name(language)))
        field.choices = [("", _("Choose a category")), *groups]


class ReplyForm(forms.Form):
    body = forms.CharField(
        label=_("Reply"), widget=forms.Textarea(attrs={"rows": 4}), max_length=20000, required=False
    )
    attachments = MultipleFileField(label=_("Attach files"))
    client_id = ClientIdField()

    def clean(self):
        data = super().clean() or {}
        if not (data.get("body") or "").strip() and not data.get("attachments"):
            raise ValidationError(_("Please write a message."))
        return data


class AgentReplyForm(ReplyForm):
    internal = forms.BooleanField(label=_("Internal note (customers never see it)"), required=False)
    status = forms.ChoiceField(
        label=_("Then set status"),
        required=False,
        choices=[("", _("(automatic)")), *AGENT_STATUS_CHOICES],
        widget=FastSelect,
    )


class TicketUpdateForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), choices=AGENT_STATUS_CHOICES, widget=FastSelect)
    priority = forms.TypedChoiceField(
        label=_("Priority"), choices=Priority.choices, coerce=int, widget=FastSelect
    )
    category = CategoryChoiceField(queryset=Category.objects.filter(is_active=True), label=_("Category"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The options from the one ordered query of the tree (the field's own iteration would
        # run a second query, on PostgreSQL through a server-side cursor: three round trips).
        field = self.fields["category"]
        assert isinstance(field, forms.ModelChoiceField)
        field.choices = [(c.pk, field.label_from_instance(c)) for c in active_categories()]


class EscalateForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for escalation"), widget=forms.Textarea(attrs={"rows": 2}), max_length=2000
    )


class MergeForm(forms.Form):
    target = forms.CharField(label=_("Merge into case number"), max_length=32)
