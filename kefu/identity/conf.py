"""Identity settings, read at call time so that tests can override them with ``settings``.

Every knob is a ``KEFU_...`` Django setting declared with its default in ``kefu.conf``;
settings.py fills them all from the environment.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings


def _get(name: str) -> Any:
    return getattr(settings, name)


def _rate(name: str) -> tuple[int, int]:
    count, _, seconds = str(_get(name)).partition("/")
    return int(count), int(seconds or 3600)


def code_length() -> int:
    # 6 or 8 digits: shorter is guessable, longer is mistyped.
    return 8 if int(_get("KEFU_IDENTITY_CODE_LENGTH")) >= 8 else 6


def code_ttl() -> timedelta:
    return timedelta(seconds=int(_get("KEFU_IDENTITY_CODE_TTL")))


def send_rate_account() -> tuple[int, int]:
    """Codes per account per window (count, seconds)."""
    return _rate("KEFU_IDENTITY_SEND_RATE_ACCOUNT")


def send_rate_ip() -> tuple[int, int]:
    return _rate("KEFU_IDENTITY_SEND_RATE_IP")


def max_failures() -> int:
    return int(_get("KEFU_IDENTITY_MAX_FAILURES"))


def lockout_base() -> timedelta:
    return timedelta(seconds=int(_get("KEFU_IDENTITY_LOCKOUT_SECONDS")))


def lockout_max() -> timedelta:
    return timedelta(seconds=int(_get("KEFU_IDENTITY_LOCKOUT_MAX_SECONDS")))


def verification_ttl() -> timedelta:
    """How long a verification lets agents act on the account."""
    return timedelta(seconds=int(_get("KEFU_IDENTITY_VERIFIED_SECONDS")))


def freeze_max_age() -> timedelta:
    """How fresh a verification must be for a self-service freeze."""
    return timedelta(seconds=int(_get("KEFU_IDENTITY_FREEZE_MAX_AGE")))


def phone_region() -> str:
    return str(_get("KEFU_PHONE_REGION"))


def email_from() -> str:
    """Sender of code mails: an explicit setting, else DEFAULT_FROM_EMAIL if set, else the support address."""
    explicit = _get("KEFU_IDENTITY_EMAIL_FROM")
    if explicit:
        return str(explicit)
    default = settings.DEFAULT_FROM_EMAIL
    if default and default != "webmaster@localhost":  # Django's placeholder means "not configured"
        return str(default)
    return str(settings.KEFU_SUPPORT_EMAIL or default)


def brand_name() -> str:
    return str(_get("KEFU_BRAND_NAME"))


# --- signed identity tokens from the wallet app -------------------------------------------


def jwt_secret() -> str:
    return str(_get("KEFU_IDENTITY_JWT_SECRET"))


def jwt_public_key() -> str:
    # Environment variables rarely hold newlines well; accept "\n" escapes in the PEM.
    return str(_get("KEFU_IDENTITY_JWT_PUBLIC_KEY")).replace("\\n", "\n").strip()


def jwt_audience() -> str:
    return str(_get("KEFU_IDENTITY_JWT_AUDIENCE"))


def jwt_issuer() -> str:
    return str(_get("KEFU_IDENTITY_JWT_ISSUER"))


def jwt_leeway() -> int:
    return int(_get("KEFU_IDENTITY_JWT_LEEWAY"))


def jwt_max_lifetime() -> int:
    """Refuse tokens valid for longer than this: a leaked long-lived token is a standing login."""
    return int(_get("KEFU_IDENTITY_JWT_MAX_LIFETIME"))


# --- SMS provider ---------------------------------------------------------------------------


def sms_url() -> str:
    return str(_get("KEFU_SMS_URL")).rstrip("/")


def sms_account() -> str:
    return str(_get("KEFU_SMS_ACCOUNT"))


def sms_token() -> str:
    return str(_get("KEFU_SMS_TOKEN"))


def sms_from() -> str:
    return str(_get("KEFU_SMS_FROM"))


def sms_timeout() -> float:
    return float(_get("KEFU_SMS_TIMEOUT"))


# --- staff security -------------------------------------------------------------------------


def staff_idle_seconds() -> int:
    return int(_get("KEFU_STAFF_IDLE_SECONDS"))


def staff_2fa_required() -> str:
    """``"admin"`` (default): admins must use 2FA; ``"staff"``: every agent and admin must."""
    return str(_get("KEFU_STAFF_2FA_REQUIRED"))


def totp_rate() -> tuple[int, int]:
    return _rate("KEFU_TOTP_RATE")
