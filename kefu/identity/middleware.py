"""Staff session security: idle time-out and the second factor for every path into a session.

Both go after ``AuthenticationMiddleware`` and ``MessageMiddleware``. They only look at
session-authenticated staff; customers and API bearer tokens pass untouched. WebSocket
connections do not run Django middleware; consumers call :func:`staff_session_ok` and
:func:`touch_staff_session` instead.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, resolve_url
from django.utils import timezone
from django.utils.translation import gettext as _

from kefu.accounts.models import User
from kefu.audit.actions import do_record
from kefu.clientip import client_ip
from kefu.identity import conf
from kefu.identity.twofactor import SESSION_VERIFIED_KEY, is_staff_user, requires_second_factor

LAST_SEEN_KEY = "_kefu_last_seen"
# Writing the session on every request would be a database write per click; a minute of
# granularity on a thirty-minute time-out is plenty.
TOUCH_EVERY_SECONDS = 60


def _session_user(request: HttpRequest) -> User | None:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not hasattr(request, "session"):
        return None
    return user


def staff_session_ok(user: User, session: Any) -> bool:
    """Whether a staff member's session still counts (second factor done, not idle too long):
    what the two middlewares below enforce, for connections that do not run them (WebSockets).
    Customers' sessions always count. Reads the session: call from the database thread."""
    if not is_staff_user(user):
        return True
    if requires_second_factor(user) and not session.get(SESSION_VERIFIED_KEY):
        return False
    last_seen = session.get(LAST_SEEN_KEY)
    return not (
        isinstance(last_seen, int | float)
        and timezone.now().timestamp() - last_seen > conf.staff_idle_seconds()
    )


def touch_staff_session(session: Any) -> None:
    """Count work done over a WebSocket as activity for the idle time-out (at most a write a minute)."""
    now = timezone.now().timestamp()
    last_seen = session.get(LAST_SEEN_KEY)
    if not isinstance(last_seen, int | float) or now - last_seen > TOUCH_EVERY_SECONDS:
        session[LAST_SEEN_KEY] = now
        session.save()


class _SyncAndAsync:
    """Both modes, so that under ASGI the request does not hop to a thread and back for each of
    these checks (Django adapts a sync-only middleware with two thread switches). The check
    itself reads the session and the user, so it runs in the database thread either way."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)

    def check(self, request: HttpRequest) -> HttpResponse | None:
        raise NotImplementedError

    def __call__(self, request: HttpRequest) -> Any:
        if self.async_mode:
            return self._acall(request)
        return self.check(request) or self.get_response(request)

    async def _acall(self, request: HttpRequest) -> HttpResponse:
        response = await sync_to_async(self.check)(request)
        return response or await self.get_response(request)


class StaffSessionTimeoutMiddleware(_SyncAndAsync):
    """Sign staff out after ``KEFU_STAFF_IDLE_SECONDS`` (default 30 min) without a request."""

    def check(self, request: HttpRequest) -> HttpResponse | None:
        user = _session_user(request)
        if user is not None and is_staff_user(user):
            now = timezone.now().timestamp()
            last_seen = request.session.get(LAST_SEEN_KEY)
            idle = conf.staff_idle_seconds()
            if isinstance(last_seen, int | float) and now - last_seen > idle:
                do_record(
                    actor=user,
                    action="auth.session_expired",
                    target_type="user",
                    target_id=str(user.public_id),
                    data={"idle_seconds": int(now - last_seen)},
                    ip_address=client_ip(request),
                )
                logout(request)
                # The request goes on anonymous: pages redirect to sign-in, the API answers 401.
                messages.info(
                    request,
                    _("You were signed out after {minutes} minutes without activity.").format(
                        minutes=max(1, idle // 60)
                    ),
                )
            elif not isinstance(last_seen, int | float) or now - last_seen > TOUCH_EVERY_SECONDS:
                request.session[LAST_SEEN_KEY] = now
        return None


class StaffTwoFactorMiddleware(_SyncAndAsync):
    """End staff sessions that skipped the second factor (e.g. the Django admin's own login form,
    or a session from before 2FA was required) and send them to the 2FA sign-in."""

    def check(self, request: HttpRequest) -> HttpResponse | None:
        user = _session_user(request)
        if (
            user is not None
            and not request.session.get(SESSION_VERIFIED_KEY)
            and requires_second_factor(user)
        ):
            do_record(
                actor=user,
                action="auth.2fa_missing",
                target_type="user",
                target_id=str(user.public_id),
                ip_address=client_ip(request),
            )
            logout(request)
            if request.method == "GET" and not request.path.startswith("/api/"):
                login_url = resolve_url(settings.LOGIN_URL)
                return redirect(f"{login_url}?{urlencode({'next': request.get_full_path()})}")
        return None
