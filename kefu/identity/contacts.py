"""A customer's contacts as E.164 numbers and as masked strings safe for any screen."""

from __future__ import annotations

import phonenumbers

from kefu.identity import conf


def to_e164(raw: str, *, region: str | None = None) -> str | None:
    """The number in E.164 form, or None when it is not a valid phone number."""
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        number = phonenumbers.parse(raw, region or conf.phone_region())
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def mask_email(email: str) -> str:
    """``alice@example.com`` → ``a***e@example.com``: recognisable to its owner, little to others."""
    local, _, domain = (email or "").partition("@")
    if not domain:
        return "***"
    shown = local[0] + "***" + local[-1] if len(local) > 2 else local[:1] + "***"
    return f"{shown}@{domain}"


def mask_phone(e164: str) -> str:
    """``+8613812345678`` → ``+86 ******5678``: country code and the last four digits."""
    try:
        number = phonenumbers.parse(e164, None)
        country = f"+{number.country_code} "
        national = str(number.national_number)
    except phonenumbers.NumberParseException:
        country, national = "", "".join(ch for ch in e164 if ch.isdigit())
    return country + "*" * max(len(national) - 4, 2) + national[-4:]
