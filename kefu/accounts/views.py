"""Sign-in: password, then (for staff who use it) a TOTP code, with rate limits and audit."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import login, update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render, resolve_url
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from kefu.accounts.backends import THROTTLED_ATTR
from kefu.accounts.models import User, canonical_email
from kefu.audit.actions import do_record
from kefu.clientip import client_ip
from kefu.identity import twofactor

# Between password and code the user is not signed in: only this marker is in the session.
PENDING_KEY = "_kefu_2fa_pending"
PENDING_SECRET_KEY = "_kefu_2fa_secret"
PENDING_SECONDS = 300


class ThrottledLoginMixin:
    """Say "too many attempts" (not "wrong password") when the limiter refused the check, and
    audit failures with the canonical account and the real client IP."""

    request: HttpRequest | None

    def clean(self):
        try:
            return super().clean()  # type: ignore[misc]
        except ValidationError:
            request = self.request
            if request is not None and getattr(request, THROTTLED_ATTR, None):
                raise ValidationError(
                    _("Too many sign-in attempts. Please wait a few minutes and try again."),
                    code="throttled",
                ) from None
            do_record(
                actor=None,
                action="auth.login_failed",
                target_type="user",
                target_id=canonical_email(self.data.get("username") or "")[:64],  # type: ignore[attr-defined]
                ip_address=client_ip(request) if request is not None else None,
            )
            raise


class LoginForm(ThrottledLoginMixin, AuthenticationForm):
    """Email + password; the limiter sits in the backend (kefu.accounts.backends)."""

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        self.fields["username"].label = gettext_lazy("Email")


class AdminLoginForm(ThrottledLoginMixin, AdminAuthenticationForm):
    """The Django admin's login form with the same messages and audit."""


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:  # a LoginForm (authentication_form)
        user = form.get_user()
        email = user.email[:64]
        step = twofactor.second_step_for(user)
        if step is None:
            do_record(
                actor=user,
                action="auth.login",
                target_type="user",
                target_id=email,
                ip_address=client_ip(self.request),
            )
            return super().form_valid(form)
        # Password correct, but no session yet: login() runs only after the second factor.
        do_record(
            actor=user,
            action="auth.password_ok",
            target_type="user",
            target_id=email,
            ip_address=client_ip(self.request),
        )
        self.request.session.pop(PENDING_SECRET_KEY, None)
        self.request.session[PENDING_KEY] = {
            "user": user.pk,
            "backend": getattr(user, "backend", settings.AUTHENTICATION_BACKENDS[0]),
            "next": self.get_success_url(),
            "since": time.time(),
        }
        return redirect("accounts:2fa_verify" if step == "verify" else "accounts:2fa_setup")


def _pending(request: HttpRequest) -> tuple[User, dict[str, Any]] | None:
    data = request.session.get(PENDING_KEY)
    if not isinstance(data, dict) or time.time() - float(data.get("since", 0)) > PENDING_SECONDS:
        request.session.pop(PENDING_KEY, None)
        return None
    user_id = data.get("user")
    user = User.objects.filter(pk=user_id, is_active=True).first() if isinstance(user_id, int) else None
    if user is None:
        request.session.pop(PENDING_KEY, None)
        return None
    return user, data


def _complete_login(request: HttpRequest, user: User, pending: dict[str, Any]) -> HttpResponseRedirect:
    request.session.pop(PENDING_KEY, None)
    request.session.pop(PENDING_SECRET_KEY, None)
    login(request, user, backend=pending["backend"])
    request.session[twofactor.SESSION_VERIFIED_KEY] = True
    do_record(
        actor=user,
        action="auth.login",
        target_type="user",
        target_id=user.email[:64],
        data={"second_factor": True},
        ip_address=client_ip(request),
    )
    target = pending.get("next") or ""
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = resolve_url(settings.LOGIN_REDIRECT_URL)
    return redirect(target)


def _restart(request: HttpRequest) -> HttpResponseRedirect:
    messages.info(request, _("Please sign in again."))
    return redirect("accounts:login")


@never_cache
@sensitive_post_parameters("code")
@require_http_methods(["GET", "POST"])
def two_factor_verify(request: HttpRequest) -> HttpResponse:
    """Second sign-in step: the code from the authenticator app."""
    pending = _pending(request)
    if pending is None:
        return _restart(request)
    user, data = pending
    if not user.totp_enabled:
        return redirect("accounts:2fa_setup")
    error = None
    if request.method == "POST":
        try:
            twofactor.check_totp(user=user, code=request.POST.get("code", ""), ip_address=client_ip(request))
        except twofactor.TotpError as exc:
            error = exc.message
        else:
            return _complete_login(request, user, data)
    return render(request, "accounts/2fa_verify.html", {"error": error}, status=400 if error else 200)


def _grouped(secret: str) -> str:
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


@never_cache
@sensitive_post_parameters("code")
@require_http_methods(["GET", "POST"])
def two_factor_setup(request: HttpRequest) -> HttpResponse:
    """Turn on 2FA: signed-in staff by choice, admins right after their password (forced)."""
    pending_data: dict[str, Any] | None = None
    if request.user.is_authenticated:
        user = request.user
        if not twofactor.is_staff_user(user):
            raise Http404
        if user.totp_enabled:
            return render(request, "accounts/2fa_setup.html", {"enabled": True})
    else:
        pending = _pending(request)
        if pending is None:
            return _restart(request)
        user, pending_data = pending
        if user.totp_enabled:
            return redirect("accounts:2fa_verify")
    # The secret stays in the session until a code proves the app holds it.
    secret = request.session.get(PENDING_SECRET_KEY) or twofactor.new_secret()
    request.session[PENDING_SECRET_KEY] = secret
    error = None
    if request.method == "POST":
        try:
            twofactor.do_enrol_totp(
                user=user, secret=secret, code=request.POST.get("code", ""), ip_address=client_ip(request)
            )
        except twofactor.TotpError as exc:
            error = exc.message
        else:
            messages.success(request, _("Two-factor authentication is on."))
            if pending_data is not None:
                return _complete_login(request, user, pending_data)
            request.session.pop(PENDING_SECRET_KEY, None)
            request.session[twofactor.SESSION_VERIFIED_KEY] = True
            update_session_auth_hash(request, user)  # the new seed is part of the hash: stay signed in
            return redirect(settings.LOGIN_REDIRECT_URL)
    uri = twofactor.provisioning_uri(user, secret)
    context = {
        "secret": _grouped(secret),
        "uri": uri,
        "qr_svg": twofactor.provisioning_qr_svg(uri),
        "forced": pending_data is not None,
        "error": error,
    }
    return render(request, "accounts/2fa_setup.html", context, status=400 if error else 200)
