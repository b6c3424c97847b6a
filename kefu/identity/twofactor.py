"""Staff two-factor authentication with time-based codes (TOTP, RFC 6238).

Admins must use it (every staff member with ``KEFU_STAFF_2FA_REQUIRED = "staff"``); agents
may turn it on, and then every sign-in asks for it. A code is accepted one step either side
of now for clock drift, at most once: the last accepted time step is kept per user.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal, TypedDict

import pyotp
import segno
from django.db import transaction
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from kefu.accounts import throttle
from kefu.accounts.models import Role, User, canonical_email
from kefu.audit.actions import do_record
from kefu.identity import conf
from kefu.identity.models import StaffTotp
from kefu.identity.sealed import SealedValueError, seal, unseal

SecondStep = Literal["verify", "setup"]
SESSION_VERIFIED_KEY = "_kefu_2fa"


class TotpError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class TotpThrottled(TotpError):
    pass


class TotpInvalid(TotpError):
    pass


class TotpReused(TotpError):
    pass


def is_staff_user(user: User) -> bool:
    return bool(user.is_agent or user.is_staff or user.is_superuser)


def must_enrol(user: User) -> bool:
    """Whether this person may not work without 2FA."""
    if user.role == Role.ADMIN or user.is_superuser:
        return True
    return conf.staff_2fa_required() == "staff" and is_staff_user(user)


def requires_second_factor(user: User) -> bool:
    """Whether a session of this user counts only after a TOTP check."""
    return is_staff_user(user) and (bool(user.totp_enabled) or must_enrol(user))


def second_step_for(user: User) -> SecondStep | None:
    """After the password: ask for a code, force enrolment, or nothing (customers, agents without 2FA)."""
    if not is_staff_user(user):
        return None
    if user.totp_enabled and user.totp_secret:
        return "verify"
    if must_enrol(user):
        return "setup"
    return None


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(user: User, secret: str) -> str:
    """The ``otpauth://`` URI an authenticator app imports (typed in or scanned)."""
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=conf.brand_name())


def provisioning_qr_svg(uri: str) -> SafeString:
    """The URI as a QR code for the app's camera, as inline SVG: drawn here, so the seed never
    leaves the server for an image service, and no extra request or script is needed."""
    # Error level M survives a phone camera's glare; segno keeps the 4-module quiet zone.
    svg = segno.make(uri, error="m").svg_inline(scale=4, dark="#000", light="#fff")
    return mark_safe(svg)  # segno builds the markup from the matrix; the URI is not echoed in it


class _Target(TypedDict):
    target_type: str
    target_id: str


def _target(user: User) -> _Target:
    return {"target_type": "user", "target_id": str(user.public_id)}


def _throttle(user: User, ip_address: str | None) -> throttle.Gate:
    """The sign-in limiter for codes: per (account, IP) with back-off, account-wide and per IP
    for untrusted clients (only someone who already has the password gets this far)."""
    gate = throttle.attempt("totp", canonical_email(user.email), ip=ip_address)
    if not gate.admitted:
        do_record(actor=user, action="auth.2fa_throttled", ip_address=ip_address, **_target(user))
        raise TotpThrottled(_("Too many attempts. Please wait a few minutes and try again."))
    return gate


def _matching_step(secret: str, code: str, now: datetime) -> int | None:
    code = "".join(ch for ch in (code or "") if ch.isdigit())
    if len(code) != 6 or not secret:
        return None
    try:
        secret = unseal(secret)
    except SealedValueError:
        return None  # fail closed: a seed nobody can read accepts no code
    try:
        return pyotp.TOTP(secret).verify_and_get_timecode(code, for_time=now, valid_window=1)
    except pyotp.exceptions.OTPVerificationError:
        return None


def do_enrol_totp(
    *, user: User, secret: str, code: str, ip_address: str | None = None, now: datetime | None = None
) -> None:
    """Turn on 2FA with ``secret`` once the user proves their app has it by entering a current code."""
    now = now or timezone.now()
    gate = _throttle(user, ip_address)
    step = _matching_step(secret, code, now)
    if step is None:
        do_record(actor=user, action="auth.2fa_enrol_failed", ip_address=ip_address, **_target(user))
        raise TotpInvalid(_("That code is not correct. Check the time on your phone and try again."))
    with transaction.atomic():
        user.totp_secret = seal(secret)
        user.totp_enabled = True
        user.save(update_fields=["totp_secret", "totp_enabled"])
        StaffTotp.objects.update_or_create(user=user, defaults={"last_step": step, "enrolled_at": now})
        do_record(actor=user, action="auth.2fa_enrolled", ip_address=ip_address, **_target(user))
    gate.succeeded()


def do_reset_totp(*, user: User, actor: User | None = None, reason: str = "") -> None:
    """Turn 2FA off for ``user`` (lost phone, or a seed sealed under a lost secret key). Their
    signed-in sessions end (the seed is part of the session hash, see ``User``); who must use
    2FA enrols again at the next sign-in."""
    with transaction.atomic():
        user.totp_secret = ""
        user.totp_enabled = False
        user.save(update_fields=["totp_secret", "totp_enabled"])
        StaffTotp.objects.filter(user=user).delete()
        do_record(actor=actor, action="auth.2fa_reset", data={"reason": reason[:200]}, **_target(user))


def check_totp(*, user: User, code: str, ip_address: str | None = None, now: datetime | None = None) -> None:
    """Accept a current code from the user's authenticator once; raise TotpError otherwise."""
    now = now or timezone.now()
    gate = _throttle(user, ip_address)
    step = _matching_step(user.totp_secret, code, now) if user.totp_enabled else None
    if step is None:
        do_record(actor=user, action="auth.2fa_failed", ip_address=ip_address, **_target(user))
        raise TotpInvalid(_("That code is not correct."))
    with transaction.atomic():
        StaffTotp.objects.get_or_create(user=user)
        state = StaffTotp.objects.select_for_update().get(user=user)
        reused = step <= state.last_step
        if reused:
            do_record(
                actor=user,
                action="auth.2fa_failed",
                data={"reason": "reused"},
                ip_address=ip_address,
                **_target(user),
            )
        else:
            state.last_step = step
            state.save(update_fields=["last_step"])
            do_record(actor=user, action="auth.2fa_ok", ip_address=ip_address, **_target(user))
    if reused:
        raise TotpReused(_("That code was already used. Wait for the next code and enter it."))
    gate.succeeded()
