"""Reads: who is verified and how, lock-out state, a customer's contacts and wallet account."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.translation import gettext as _

from kefu.accounts.models import User
from kefu.identity.contacts import mask_email, mask_phone, to_e164
from kefu.identity.exceptions import VerificationRequired
from kefu.identity.models import Channel, IdentityVerification, Method, VerificationState, WalletLink
from kefu.identity.sms import get_sms_sender
from kefu.tickets.models import ACTIVE_STATUSES, Ticket
from kefu.wallet.backend import WalletBackend, get_wallet_backend


@dataclass(frozen=True)
class VerificationStatus:
    """What an agent sees: "verified (method, when)" and whether it still counts."""

    method: str
    method_label: str
    verified_at: datetime
    expires_at: datetime
    still_valid: bool
    detail: str


@dataclass(frozen=True)
class ChannelOption:
    channel: str
    label: str
    destination: str  # masked


def verification_status(user: User, *, now: datetime | None = None) -> VerificationStatus | None:
    """The customer's latest verification, valid or not; None if they never verified."""
    if user is None or not user.pk:
        return None
    latest = IdentityVerification.objects.filter(user=user).order_by("-verified_at", "-id").first()
    if latest is None:
        return None
    now = now or timezone.now()
    return VerificationStatus(
        method=latest.method,
        method_label=str(Method(latest.method).label),
        verified_at=latest.verified_at,
        expires_at=latest.expires_at,
        still_valid=latest.expires_at > now,
        detail=latest.detail,
    )


def valid_verification(
    user: User,
    *,
    max_age: timedelta | int | None = None,
    since: datetime | None = None,
    now: datetime | None = None,
) -> IdentityVerification | None:
    """The newest verification still valid, at most ``max_age`` old and made after ``since``."""
    now = now or timezone.now()
    qs = IdentityVerification.objects.filter(user=user, expires_at__gt=now, verified_at__lte=now)
    if max_age is not None:
        age = max_age if isinstance(max_age, timedelta) else timedelta(seconds=max_age)
        qs = qs.filter(verified_at__gte=now - age)
    if since is not None:
        qs = qs.filter(verified_at__gte=since)
    return qs.order_by("-verified_at", "-id").first()


def require_verified(
    user: User, *, max_age: timedelta | int | None = None, now: datetime | None = None
) -> IdentityVerification:
    """The verification that allows acting on ``user``'s account, or raise VerificationRequired.

    Call it at the top of any action that discusses or changes an account; ``max_age`` asks
    for a fresh proof (a freeze wants one from the last few minutes).
    """
    verification = valid_verification(user, max_age=max_age, now=now)
    if verification is None:
        raise VerificationRequired(_("Please verify your identity first."))
    return verification


def lock_remaining(user: User, *, now: datetime | None = None) -> int:
    """Seconds until the customer may try codes again (0 when not locked)."""
    now = now or timezone.now()
    state = VerificationState.objects.filter(user=user).first()
    if state is None or state.locked_until is None or state.locked_until <= now:
        return 0
    return max(1, int((state.locked_until - now).total_seconds() + 0.999))


def phone_e164(user: User) -> str | None:
    return to_e164(user.phone)


def available_channels(user: User) -> list[ChannelOption]:
    """Where a code can go: the registered email, and the phone when SMS is configured."""
    options: list[ChannelOption] = []
    if user.email:
        options.append(ChannelOption(Channel.EMAIL, str(Channel.EMAIL.label), mask_email(user.email)))
    number = phone_e164(user)
    if number and get_sms_sender() is not None:
        options.append(ChannelOption(Channel.SMS, str(Channel.SMS.label), mask_phone(number)))
    return options


def codes_reach_only_the_console() -> bool:
    """Demo mode: no mail server configured, so a code mail is printed in the server's console
    (Django's console backend) and SMS is not offered at all. The page must say where to look."""
    from django.conf import settings

    return settings.EMAIL_BACKEND == "django.core.mail.backends.console.EmailBackend"


FREEZE_CATEGORY_SLUG = "account-compromised"


def open_freeze_ticket(customer: User) -> Ticket | None:
    """The customer's newest unresolved emergency-freeze case, if any: where unfreezing happens."""
    return (
        Ticket.objects.filter(
            customer=customer, category__slug=FREEZE_CATEGORY_SLUG, status__in=ACTIVE_STATUSES
        )
        .order_by("-created_at")
        .first()
    )


def wallet_uid_for(user: User, backend: WalletBackend | None = None) -> str | None:
    """The customer's wallet account: linked by a wallet sign-in, else looked up by contact."""
    link = WalletLink.objects.filter(user=user).values_list("wallet_uid", flat=True).first()
    if link:
        return link
    backend = backend or get_wallet_backend()
    customer = backend.find_customer(email=user.email or None, phone=phone_e164(user))
    return customer.uid if customer else None
