from __future__ import annotations

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kefu.accounts import ratelimit
from kefu.audit.actions import do_record


class LoginForm(AuthenticationForm):
    """Email + password with a per-account and per-IP attempt limit."""

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        self.fields["username"].label = gettext_lazy("Email")

    def clean(self):
        limit, window = ratelimit.parse_rate(settings.KEFU_LOGIN_RATE)
        email = (self.data.get("username") or "").strip().lower()
        ip = self.request.META.get("REMOTE_ADDR", "") if self.request else ""
        within = ratelimit.hit("login-account", email, limit=limit, window=window)
        within = ratelimit.hit("login-ip", ip, limit=limit * 5, window=window) and within
        if not within:
            do_record(
                actor=None,
                action="auth.login_throttled",
                target_type="user",
                target_id=email[:64],
                ip_address=ip or None,
            )
            raise ValidationError(_("Too many sign-in attempts. Please wait a few minutes and try again."))
        try:
            data = super().clean()
        except ValidationError:
            do_record(
                actor=None,
                action="auth.login_failed",
                target_type="user",
                target_id=email[:64],
                ip_address=ip or None,
            )
            raise
        ratelimit.reset("login-account", email)
        do_record(
            actor=self.get_user(),
            action="auth.login",
            target_type="user",
            target_id=email[:64],
            ip_address=ip or None,
        )
        return data


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True
