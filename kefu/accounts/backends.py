"""The password backend: canonical email lookup behind the sign-in limiter.

Every password check goes through here (Kefu's sign-in page, the Django admin's login, any
future form calling ``authenticate``), so none can skip the limiter in
:mod:`kefu.accounts.throttle`.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.signals import user_logged_in
from django.core.exceptions import PermissionDenied
from django.dispatch import receiver
from django.http import HttpRequest

from kefu.accounts import throttle
from kefu.accounts.models import User, canonical_email
from kefu.audit.actions import do_record

THROTTLED_ATTR = "kefu_throttled"


class EmailBackend(ModelBackend):
    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        if username is None:
            username = kwargs.get(User.USERNAME_FIELD)
        if username is None or password is None:
            return None
        account = canonical_email(username)
        gate = throttle.attempt_for_request(request, "login", account)
        if not gate.admitted:
            if request is not None:
                setattr(request, THROTTLED_ATTR, gate.retry_after)
            do_record(
                actor=None,
                action="auth.login_throttled",
                target_type="user",
                target_id=account[:64],
                data={"retry_after": gate.retry_after},
                ip_address=gate.ip,
            )
            # Stops authenticate() here: no other backend may check this password.
            raise PermissionDenied
        user = super().authenticate(request, username=account, password=password, **kwargs)
        if user is None:
            raise PermissionDenied  # wrong: no other backend may check it again
        gate.succeeded()
        return user


@receiver(user_logged_in, dispatch_uid="kefu.accounts.remember_device")
def _remember_device(sender: Any, request: HttpRequest | None, user: User, **kwargs: Any) -> None:
    """A complete sign-in (after any second factor): this browser and IP are known-good now."""
    if request is not None and getattr(request, "COOKIES", None) is not None and user.email:
        throttle.remember_device(request, user.email)

