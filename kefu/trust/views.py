"""The public "is this contact official?" page. Thin: parse, call the verifier, render."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from kefu.trust.forms import VerifyChannelForm
from kefu.trust.selectors import official_channel_groups
from kefu.trust.verifier import InvalidChannelValue, advice_for, check_channel


def verify(request: HttpRequest) -> HttpResponse:
    """Anyone may check a channel; a GET form so that a result can be linked and shared."""
    form = VerifyChannelForm(request.GET if "value" in request.GET else None)
    result = None
    if form.is_bound and form.is_valid():
        try:
            result = check_channel(kind=form.cleaned_data["kind"], value=form.cleaned_data["value"])
        except InvalidChannelValue as exc:
            form.add_error("value", str(exc))
    context = {
        "form": form,
        "result": result,
        "advice": advice_for(result) if result else None,
        "official_groups": official_channel_groups(),
    }
    return render(request, "trust/verify.html", context)
