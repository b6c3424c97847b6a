"""View decorators shared by the apps."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, JsonResponse
from django.http.response import HttpResponseBase
from django.utils.translation import gettext as _


def login_or_token_required(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Like ``login_required``, but an ``Authorization: Bearer`` API token also signs the request in.

    For the few plain URLs the API hands out (attachment downloads): an API client holds a token,
    not a session, and was sent to the sign-in page. The view's own per-object check still
    decides. A request that offers a token gets 401 if it is wrong, never the sign-in page.
    """
    browser_view = login_required(view)

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _sep, raw = header.partition(" ")
        if scheme.lower() != "bearer":
            return browser_view(request, *args, **kwargs)
        from kefu.accounts.actions import authenticate_api_token

        user = authenticate_api_token(raw.strip())
        if user is None:
            return JsonResponse({"detail": _("Authentication required.")}, status=401)
        request.user = user
        return view(request, *args, **kwargs)

    return wrapper
