"""The API's bearer lane: a request to ``/api/`` that carries ``Authorization: Bearer …`` passes
by the middlewares that only serve browser sessions.

Such a request is judged by its token alone (``kefu.api.BearerToken``): it has no use for the
session, the CSRF cookie, the signed-in user read from the session, the device cookie, flash
messages or the staff session's idle time-out and second factor. Each of those still cost CPU
on every API call (a session store, a message storage, two lazy users, the CSRF cookie read and
their response hooks: about 2 % of an API create, issue 13). Every other request — pages, and
API requests authenticated by the session cookie, whose CSRF check django-ninja's
``SessionAuth`` makes — goes through the full list.

What a bearer request loses is the fallback to the session: with a bad token it is anonymous
(401, or 403 from the CSRF check of an unsafe method without a CSRF token) even if it also
carries a valid session cookie. A client sends one credential; a wrong one is not quietly
replaced by another.

The lane is built once from the chain Django built after this middleware (so it keeps the
order of ``settings.MIDDLEWARE``); if that chain is not the plain one Django builds in
synchronous mode, the lane is off and every request takes the full chain.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any, cast

from django.contrib.auth.models import AnonymousUser
from django.core.handlers.exception import convert_exception_to_response
from django.http import HttpRequest, HttpResponse

# Dotted paths of the middlewares a bearer request skips: all of them read or write the
# session or its cookies, none of them matters to a client holding a token.
SESSION_ONLY = frozenset(
    {
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "kefu.accounts.throttle.DeviceCookieMiddleware",
        "django.contrib.messages.middleware.MessageMiddleware",
        "kefu.identity.middleware.StaffSessionTimeoutMiddleware",
        "kefu.identity.middleware.StaffTwoFactorMiddleware",
    }
)
API_PREFIX = "/api/"

Handler = Callable[[HttpRequest], HttpResponse]


def _dotted(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _middlewares_after(get_response: Any) -> tuple[list[type], Handler] | None:
    """The classes of the middlewares in ``get_response``'s chain, outermost first, and the
    handler's innermost ``_get_response``; None where the chain is not Django's plain
    synchronous one (each layer ``convert_exception_to_response(instance)``)."""
    classes: list[type] = []
    layer = get_response
    while True:
        inner = getattr(layer, "__wrapped__", None)
        if inner is None:
            return None
        if isinstance(inner, types.MethodType) and inner.__name__ == "_get_response":
            return classes, inner
        if isinstance(inner, types.FunctionType) or getattr(inner, "async_mode", False):
            return None  # a function middleware cannot be rebuilt; an async chain is not ours
        classes.append(type(inner))
        layer = getattr(inner, "get_response", None)


def bearer_request(request: HttpRequest) -> bool:
    # As django-ninja's HttpBearer reads the header: the scheme before the first space, any case.
    return request.path_info.startswith(API_PREFIX) and request.META.get(
        "HTTP_AUTHORIZATION", ""
    ).split(" ", 1)[0].lower() == "bearer"


class BearerLaneMiddleware:
    """Goes right before ``SessionMiddleware``; see the module's docstring."""

    sync_capable = True
    async_capable = False

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response
        self.lane: Handler | None = None
        found = _middlewares_after(get_response)
        if found is not None:
            classes, innermost = found
            lane = cast(Handler, convert_exception_to_response(innermost))
            for cls in reversed(classes):
                if _dotted(cls) not in SESSION_ONLY:
                    lane = cast(Handler, convert_exception_to_response(cls(lane)))
            self.lane = lane

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self.lane is not None and bearer_request(request):
            # django-ninja's SessionAuth, tried after a bad token, reads request.user.
            request.user = AnonymousUser()
            return self.lane(request)
        return self.get_response(request)
