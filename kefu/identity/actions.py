"""State changes of identity verification (身份验证), wallet sign-in and the emergency freeze (冻结账户).

Views, the API and (later) the bot and chat call these. Every security event is audited with
``do_record``; a one-time code exists only in memory between being drawn and being sent, and
is never logged, audited or returned.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import smtplib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone, translation
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from kefu.accounts.actions import do_ensure_user
from kefu.accounts.models import Role, User
from kefu.audit.actions import do_record
from kefu.identity import conf, selectors
from kefu.identity.contacts import mask_email, mask_phone
from kefu.identity.exceptions import (
    ChallengeInvalid,
    ChallengeNotFound,
    ChannelUnavailable,
    DeliveryFailed,
    IdentityError,
    InvalidIdentityToken,
    Locked,
    SendThrottled,
    VerificationRequired,
    WrongCode,
)
from kefu.identity.models import (
    Channel,
    Delivery,
    IdentityVerification,
    Method,
    UsedToken,
    VerificationChallenge,
    VerificationState,
    WalletLink,
)
from kefu.identity.selectors import (
    open_freeze_ticket,
    phone_e164,
    require_verified,
    valid_verification,
    wallet_uid_for,
)
from kefu.identity.sms import SmsError, get_sms_sender
from kefu.identity.tokens import decode_identity_token
from kefu.tickets.actions import check_add_message, check_create_ticket
from kefu.tickets.models import Category, MessageKind, Priority, Ticket
from kefu.tickets.models import Channel as TicketChannel
from kefu.trust import guard
from kefu.wallet.backend import AccountStatus, FreezeResult, WalletBackendError, get_wallet_backend

logger = logging.getLogger(__name__)

FREEZE_CATEGORY_SLUG = selectors.FREEZE_CATEGORY_SLUG
FREEZE_FALLBACK_CATEGORY_SLUG = "security"

METHOD_FOR_CHANNEL = {Channel.EMAIL: Method.EMAIL_CODE, Channel.SMS: Method.SMS_CODE}


def _target(user: User) -> dict[str, str]:
    # Audit rows point at the customer by public id, never by row id or contact.
    return {"target_type": "user", "target_id": str(user.public_id)}


def _seconds_until(moment: datetime, now: datetime) -> int:
    return max(1, int((moment - now).total_seconds() + 0.999))


def _minutes(seconds: int) -> int:
    return max(1, (seconds + 59) // 60)


def code_digest(challenge_id: uuid.UUID, code: str) -> str:
    """HMAC-SHA256 of the code under SECRET_KEY, bound to its challenge so equal codes differ at rest."""
    return salted_hmac("kefu.identity.code", f"{challenge_id}:{code}", algorithm="sha256").hexdigest()


def _draw_code() -> str:
    length = conf.code_length()
    return f"{secrets.randbelow(10**length):0{length}d}"


def _state_for_update(user: User) -> VerificationState:
    """The user's failure counter, row-locked so concurrent guesses cannot overrun the limit."""
    VerificationState.objects.get_or_create(user=user)
    return VerificationState.objects.select_for_update().get(user=user)


def _locked_error(seconds: int) -> Locked:
    return Locked(
        _("Too many wrong codes. For your security, verification is locked for {minutes} minutes.").format(
            minutes=_minutes(seconds)
        ),
        retry_after=seconds,
    )


# --- sending a code -------------------------------------------------------------------------


def _destination(user: User, channel: str) -> tuple[str, str]:
    """(where to send, masked form) for the channel, or ChannelUnavailable."""
    if channel == Channel.EMAIL and user.email:
        return user.email, mask_email(user.email)
    if channel == Channel.SMS:
        number = phone_e164(user)
        if number and get_sms_sender() is not None:
            return number, mask_phone(number)
        if not number:
            raise ChannelUnavailable(_("There is no valid phone number on your account."))
    raise ChannelUnavailable(_("Codes cannot be sent this way at the moment. Please choose another way."))


def _throttle_wait(qs: QuerySet[VerificationChallenge], *, limit: int, window: int, now: datetime) -> int:
    """Seconds until one more send fits a sliding window of ``limit`` per ``window``; 0 if it fits now."""
    recent = qs.filter(created_at__gt=now - timedelta(seconds=window))
    count = recent.count()
    if count < limit:
        return 0
    # One more fits once all but limit-1 of the recent sends have aged out of the window.
    freeing = recent.order_by("created_at").values_list("created_at", flat=True)[count - limit]
    return _seconds_until(freeing + timedelta(seconds=window), now)


def _deliver(*, channel: str, to: str, code: str, language: str) -> str:
    """Send the code; returns the provider's message id (empty for mail). Raises DeliveryFailed."""
    minutes = _minutes(int(conf.code_ttl().total_seconds()))
    brand = conf.brand_name()
    with translation.override(language):
        if channel == Channel.EMAIL:
            subject = _("{brand} verification code").format(brand=brand)
            body = _(
                "Your verification code is {code}. It is valid for {minutes} minutes and works once.\n\n"
                "Enter it yourself on the verification page. Support staff will never ask you to "
                "tell them this code, your password, seed phrase or private key.\n\n"
                "If you did not ask for this code, ignore this message and do not share it."
            ).format(code=code, minutes=minutes)
        else:
            body = _(
                "{brand}: your verification code is {code}, valid for {minutes} minutes. "
                "Never share it with anyone, including support."
            ).format(brand=brand, code=code, minutes=minutes)
        failure = _("We could not send the code just now. Please try again in a few minutes.")
    if channel == Channel.EMAIL:
        try:
            EmailMessage(subject, body, from_email=conf.email_from(), to=[to]).send(fail_silently=False)
        except (smtplib.SMTPException, OSError) as exc:
            # Log the failure class only: SMTP errors can echo parts of the message.
            logger.warning("verification mail not sent: %s", type(exc).__name__)
            raise DeliveryFailed(failure) from exc
        return ""
    sender = get_sms_sender()
    if sender is None:
        raise DeliveryFailed(failure)
    try:
        return sender.send(to_e164=to, text=body)[:64]
    except SmsError as exc:
        logger.warning("verification SMS not sent: status=%s code=%s", exc.status, exc.code)
        raise DeliveryFailed(failure) from exc


def check_send_code(
    *,
    user: User,
    channel: str,
    ip_address: str | None = None,
    language: str | None = None,
    now: datetime | None = None,
) -> VerificationChallenge:
    """Send a one-time code to the customer's registered email or phone.

    Refuses with SendThrottled past the per-account and per-IP limits (counted in the
    database, so they hold across processes), and with Locked during a lock-out. A new code
    never clears earlier failures.
    """
    now = now or timezone.now()
    if channel not in Channel.values:
        raise ChannelUnavailable(_("Choose email or text message."))
    to, masked = _destination(user, channel)
    refusal: IdentityError | None = None
    code = ""
    with transaction.atomic():
        state = _state_for_update(user)
        if state.locked_until and state.locked_until > now:
            refusal = _locked_error(_seconds_until(state.locked_until, now))
        else:
            limit, window = conf.send_rate_account()
            wait = _throttle_wait(
                VerificationChallenge.objects.filter(user=user), limit=limit, window=window, now=now
            )
            if not wait and ip_address:
                limit, window = conf.send_rate_ip()
                wait = _throttle_wait(
                    VerificationChallenge.objects.filter(ip_address=ip_address),
                    limit=limit,
                    window=window,
                    now=now,
                )
            if wait:
                refusal = SendThrottled(
                    _("Too many codes requested. Please try again in {minutes} minutes.").format(
                        minutes=_minutes(wait)
                    ),
                    retry_after=wait,
                )
                do_record(
                    actor=user,
                    action="identity.code_throttled",
                    data={"channel": channel},
                    ip_address=ip_address,
                    **_target(user),
                )
            else:
                public_id = uuid.uuid4()
                code = _draw_code()
                challenge = VerificationChallenge.objects.create(
                    public_id=public_id,
                    user=user,
                    channel=channel,
                    destination=masked,
                    code_hash=code_digest(public_id, code),
                    ip_address=ip_address,
                    created_at=now,
                    expires_at=now + conf.code_ttl(),
                )
    if refusal is not None:
        raise refusal
    # Sent outside the transaction: a slow mail server must not hold a database write lock.
    try:
        provider_id = _deliver(channel=channel, to=to, code=code, language=language or user.language)
    except DeliveryFailed:
        with transaction.atomic():
            # A failed send still counts towards the limits, so errors cannot be used to spam.
            VerificationChallenge.objects.filter(pk=challenge.pk).update(
                delivery=Delivery.FAILED, used_at=now
            )
            do_record(
                actor=user,
                action="identity.code_send_failed",
                data={"channel": channel, "challenge": str(public_id)},
                ip_address=ip_address,
                **_target(user),
            )
        raise
    with transaction.atomic():
        challenge.delivery = Delivery.SENT
        challenge.provider_id = provider_id
        challenge.save(update_fields=["delivery", "provider_id"])
        do_record(
            actor=user,
            action="identity.code_sent",
            data={"channel": channel, "destination": masked, "challenge": str(public_id)},
            ip_address=ip_address,
            **_target(user),
        )
    return challenge


# --- checking a code ------------------------------------------------------------------------


def _new_verification(
    *, user: User, method: str, detail: str, ip_address: str | None, now: datetime
) -> IdentityVerification:
    return IdentityVerification.objects.create(
        user=user,
        method=method,
        detail=detail[:64],
        verified_at=now,
        expires_at=now + conf.verification_ttl(),
        ip_address=ip_address,
    )


def check_verify_code(
    *,
    user: User,
    challenge_id: str | uuid.UUID,
    code: str,
    ip_address: str | None = None,
    now: datetime | None = None,
) -> IdentityVerification:
    """Check a code against the customer's challenge and record the verification.

    Wrong codes count against the account (not the challenge); reaching the limit locks
    checks and sends for a period that doubles with each lock-out. Expired, used or unknown
    challenges are refused without comparing the code.
    """
    now = now or timezone.now()
    code = "".join(ch for ch in (code or "") if ch.isdigit())
    try:
        challenge_uuid = challenge_id if isinstance(challenge_id, uuid.UUID) else uuid.UUID(str(challenge_id))
    except ValueError:
        raise ChallengeNotFound(_("This code request was not found. Please ask for a new code.")) from None
    refusal: IdentityError | None = None
    with transaction.atomic():
        state = _state_for_update(user)
        challenge = (
            VerificationChallenge.objects.select_for_update()
            .filter(user=user, public_id=challenge_uuid)
            .first()
        )
        if state.locked_until and state.locked_until > now:
            refusal = _locked_error(_seconds_until(state.locked_until, now))
        elif challenge is None or challenge.delivery == Delivery.FAILED:
            refusal = ChallengeNotFound(_("This code request was not found. Please ask for a new code."))
        elif challenge.used_at is not None:
            refusal = ChallengeInvalid(_("This code has already been used. Please ask for a new code."))
        elif challenge.expires_at <= now:
            refusal = ChallengeInvalid(_("This code has expired. Please ask for a new code."))
        elif not constant_time_compare(code_digest(challenge.public_id, code), challenge.code_hash):
            challenge.attempts += 1
            challenge.save(update_fields=["attempts"])
            state.failures += 1
            if state.failures >= conf.max_failures():
                duration = min(conf.lockout_base() * (2**state.lockouts), conf.lockout_max())
                state.locked_until = now + duration
                state.lockouts += 1
                state.failures = 0
                seconds = int(duration.total_seconds())
                refusal = _locked_error(seconds)
                do_record(
                    actor=user,
                    action="identity.locked",
                    data={
                        "seconds": seconds,
                        "lockouts": state.lockouts,
                        "challenge": str(challenge.public_id),
                    },
                    ip_address=ip_address,
                    **_target(user),
                )
            else:
                attempts_left = conf.max_failures() - state.failures
                refusal = WrongCode(
                    _("The code is not correct. {count} attempts left.").format(count=attempts_left),
                    attempts_left=attempts_left,
                )
                do_record(
                    actor=user,
                    action="identity.code_failed",
                    data={"attempts_left": attempts_left, "challenge": str(challenge.public_id)},
                    ip_address=ip_address,
                    **_target(user),
                )
            state.save(update_fields=["failures", "lockouts", "locked_until", "updated_at"])
        else:
            challenge.used_at = now
            challenge.save(update_fields=["used_at"])
            # Any other open code of this user is now pointless; void it rather than leave it guessable.
            VerificationChallenge.objects.filter(user=user, used_at__isnull=True).update(used_at=now)
            state.failures = state.lockouts = 0
            state.locked_until = None
            state.save(update_fields=["failures", "lockouts", "locked_until", "updated_at"])
            verification = _new_verification(
                user=user,
                method=METHOD_FOR_CHANNEL[Channel(challenge.channel)],
                detail=challenge.destination,
                ip_address=ip_address,
                now=now,
            )
            do_record(
                actor=user,
                action="identity.verified",
                data={"method": verification.method, "challenge": str(challenge.public_id)},
                ip_address=ip_address,
                **_target(user),
            )
    # Raised after the block so that the failure count and the audit row are committed.
    if refusal is not None:
        raise refusal
    return verification


# --- signed identity token from the wallet app ----------------------------------------------


def _jti_digest(issuer: str, jti: str) -> str:
    return hashlib.sha256(f"{issuer}\x00{jti}".encode()).hexdigest()


def _token_user(sub: str, email: str) -> User:
    """The customer the wallet vouches for: linked by ``sub``, else by email, else a new one."""
    link = WalletLink.objects.select_related("user").filter(wallet_uid=sub).first()
    if link is not None:
        return link.user
    user = User.objects.filter(email=email).first()
    if user is not None and WalletLink.objects.filter(user=user).exists():
        raise InvalidIdentityToken(
            _("This email address belongs to another wallet account. Please contact support."),
            reason="wallet_conflict",
        )
    if user is None:
        user = do_ensure_user(email=email, role=Role.CUSTOMER)
    if not user.is_agent and not user.is_staff:
        WalletLink.objects.create(user=user, wallet_uid=sub)
    return user


def do_sign_in_with_token(
    *, raw: str, ip_address: str | None = None, now: datetime | None = None
) -> IdentityVerification:
    """Verify the wallet's signed identity token and record a wallet-token verification.

    The caller logs the returned verification's user in. A token works once (its ``jti`` is
    kept until it expires), never for staff accounts, and an unknown email creates the customer.
    """
    now = now or timezone.now()
    try:
        claims = decode_identity_token(raw)
    except InvalidIdentityToken as exc:
        do_record(
            actor=None,
            action="identity.token_rejected",
            target_type="identity_token",
            target_id="-",
            data={"reason": exc.reason},
            ip_address=ip_address,
        )
        raise
    refusal: InvalidIdentityToken | None = None
    with transaction.atomic():
        UsedToken.objects.filter(expires_at__lt=now).delete()
        try:
            with transaction.atomic():
                UsedToken.objects.create(
                    jti_hash=_jti_digest(claims.issuer, claims.jti),
                    expires_at=claims.expires_at + timedelta(seconds=conf.jwt_leeway()),
                )
        except IntegrityError:
            refusal = InvalidIdentityToken(
                _("This sign-in link has already been used. Please open support from the wallet app again."),
                reason="replayed",
            )
        else:
            try:
                user = _token_user(claims.sub, claims.email)
            except InvalidIdentityToken as exc:
                refusal = exc
            else:
                if user.is_agent or user.is_staff or user.is_superuser or not user.is_active:
                    # The wallet vouches for wallet customers only; a staff login needs password and 2FA.
                    refusal = InvalidIdentityToken(
                        _("This account cannot sign in this way."), reason="not_a_customer"
                    )
        if refusal is not None:
            do_record(
                actor=None,
                action="identity.token_rejected",
                target_type="identity_token",
                target_id=claims.sub[:64],
                data={"reason": refusal.reason},
                ip_address=ip_address,
            )
        else:
            verification = _new_verification(
                user=user, method=Method.WALLET_TOKEN, detail=claims.sub, ip_address=ip_address, now=now
            )
            do_record(
                actor=user,
                action="identity.verified",
                data={"method": Method.WALLET_TOKEN, "wallet_uid": claims.sub[:64]},
                ip_address=ip_address,
                **_target(user),
            )
    if refusal is not None:
        raise refusal
    return verification


# --- emergency freeze -----------------------------------------------------------------------


@dataclass(frozen=True)
class FreezeOutcome:
    """What the customer is told: the case, and whether the wallet confirmed the freeze."""

    ticket: Ticket
    frozen: bool
    created: bool
    frozen_at: datetime | None


class ImproperlyConfiguredFreeze(RuntimeError):
    """The ticket categories a freeze files under were deleted."""


def _freeze_category() -> Category:
    category = (
        Category.objects.filter(slug=FREEZE_CATEGORY_SLUG, is_active=True).first()
        or Category.objects.filter(slug=FREEZE_FALLBACK_CATEGORY_SLUG).first()
    )
    if category is None:
        raise ImproperlyConfiguredFreeze("the account-compromised ticket category is missing")
    return category


def _format_time(moment: datetime) -> str:
    return date_format(timezone.localtime(moment), "Y-m-d H:i")


def do_request_freeze(
    *,
    customer: User,
    reason: str = "",
    language: str | None = None,
    channel: str = TicketChannel.PORTAL,
    ip_address: str | None = None,
    now: datetime | None = None,
) -> FreezeOutcome:
    """Freeze the customer's wallet account at once and open an URGENT security ticket.

    Needs a verification from the last few minutes (``KEFU_IDENTITY_FREEZE_MAX_AGE``). The
    ticket is filed even when the wallet backend fails, so a human acts on it first thing;
    asking again while frozen returns the open ticket instead of filing another.
    """
    if customer.is_agent:
        raise PermissionDenied
    now = now or timezone.now()
    verification = require_verified(customer, max_age=conf.freeze_max_age(), now=now)
    language = language or customer.language
    # A panicking customer may paste their seed phrase here; it must not reach the wallet's logs.
    reason = guard.redact(reason or "", language=language)
    backend = get_wallet_backend()
    result: FreezeResult | None = None
    error = ""
    try:
        uid = wallet_uid_for(customer, backend)
        if uid is None:
            error = "no_wallet_account"
        else:
            result = backend.freeze(
                uid,
                reason=(reason or "customer reported the account stolen")[:500],
                requested_by=f"kefu:customer:{customer.public_id}",
            )
    except WalletBackendError as exc:
        # The backend's message is for operators; the customer gets the ticket either way.
        logger.error("wallet freeze failed for %s: %s", customer.public_id, exc)
        error = type(exc).__name__
    frozen = result is not None and result.status == AccountStatus.FROZEN

    if result is not None and not result.changed:
        existing = open_freeze_ticket(customer)
        if existing is not None:
            return FreezeOutcome(ticket=existing, frozen=frozen, created=False, frozen_at=result.at)

    with translation.override(language):
        title = _("Account reported stolen: emergency freeze")
        lines = [_("I reported my account as stolen and asked for an emergency freeze.")]
        if frozen and result is not None:
            lines.append(_("Freeze applied at {time}.").format(time=_format_time(result.at)))
        else:
            lines.append(
                _(
                    "The freeze could not be applied automatically. The security team handles this ticket first."
                )
            )
        lines.append(
            _("Identity verified ({method}) at {time}.").format(
                method=Method(verification.method).label, time=_format_time(verification.verified_at)
            )
        )
        if reason.strip():
            lines += ["", _("What happened:"), reason.strip()]
        description = "\n".join(str(line) for line in lines)
    with transaction.atomic():
        submission = check_create_ticket(
            customer=customer,
            category=_freeze_category(),
            title=str(title),
            description=description[:20000],
            channel=channel,
            language=language,
            priority=Priority.URGENT,
            actor=customer,
            ip_address=ip_address,
        )
        do_record(
            actor=customer,
            action="identity.frozen" if frozen else "identity.freeze_failed",
            data={
                "ticket": submission.ticket.case_number,
                "reference": result.reference if result else "",
                "error": error,
                "verification": verification.method,
            },
            ip_address=ip_address,
            **_target(customer),
        )
    return FreezeOutcome(
        ticket=submission.ticket, frozen=frozen, created=True, frozen_at=result.at if result else None
    )


def do_unfreeze(
    *,
    ticket: Ticket,
    specialist: User,
    confirmed: bool,
    reason: str = "",
    ip_address: str | None = None,
    now: datetime | None = None,
) -> FreezeResult:
    """Lift the freeze on the ticket's customer: specialists and above only, after full verification.

    Full verification is both a valid customer verification made after the ticket was filed
    (proving control now, not before the theft) and the specialist's explicit confirmation.
    """
    if not specialist.is_agent or specialist.tier < 2:
        raise PermissionDenied
    if not confirmed:
        raise ValidationError(
            {"confirm": [_("Confirm that you have checked the customer's identity before unfreezing.")]}
        )
    now = now or timezone.now()
    customer = ticket.customer
    if customer is None:
        raise VerificationRequired(
            _("Nobody has signed in to this case yet: there is no account to unfreeze.")
        )
    reason = guard.redact(reason or "", language=ticket.language)
    verification = valid_verification(customer, since=ticket.created_at, now=now)
    if verification is None:
        raise VerificationRequired(
            _(
                "The customer has not verified their identity since this ticket was filed. Ask them to verify first."
            )
        )
    backend = get_wallet_backend()
    uid = wallet_uid_for(customer, backend)
    if uid is None:
        raise ValidationError(_("No wallet account was found for this customer."))
    result = backend.unfreeze(
        uid,
        reason=(reason or f"ticket {ticket.case_number}")[:500],
        approved_by=f"kefu:staff:{specialist.email}",
    )
    with transaction.atomic():
        do_record(
            actor=specialist,
            action="identity.unfrozen",
            data={
                "ticket": ticket.case_number,
                "reference": result.reference,
                "changed": result.changed,
                "verification": verification.method,
                "verified_at": verification.verified_at.isoformat(),
            },
            ip_address=ip_address,
            **_target(customer),
        )
        with translation.override(ticket.language):
            note = _("Account unfrozen by {name}. Customer verified ({method}) at {time}.").format(
                name=specialist.display_name or specialist.email,
                method=Method(verification.method).label,
                time=_format_time(verification.verified_at),
            )
            if reason.strip():
                note += "\n" + reason.strip()
        check_add_message(
            ticket=ticket,
            author=specialist,
            body=str(note),
            kind=MessageKind.INTERNAL,
            channel=TicketChannel.AGENT,
            ip_address=ip_address,
        )
    return result
