"""Identity verification (身份验证): one-time codes, lock-out state, verifications, wallet links.

Codes are never stored: a challenge keeps only an HMAC of the code, and the destination only
in masked form, so neither the database nor an agent's screen can reveal them.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", _("Text message")


class Method(models.TextChoices):
    EMAIL_CODE = "email_code", _("Code sent by email")
    SMS_CODE = "sms_code", _("Code sent by text message")
    WALLET_TOKEN = "wallet_token", _("Signed in through the wallet app")


class Delivery(models.TextChoices):
    PENDING = "pending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class VerificationChallenge(models.Model):
    """One code sent to one contact. Valid once, until ``expires_at``."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="verification_challenges",
    )
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    destination = models.CharField(_("sent to"), max_length=64, help_text=_("Masked for display."))
    code_hash = models.CharField(max_length=64)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    delivery = models.CharField(
        verbose_name=_("delivery"), max_length=8, choices=Delivery.choices, default=Delivery.PENDING
    )
    provider_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(verbose_name=_("created at"), db_index=True)
    expires_at = models.DateTimeField(verbose_name=_("expires at"))
    used_at = models.DateTimeField(verbose_name=_("used at"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(verbose_name=_("attempts"), default=0)

    class Meta:
        verbose_name = _("verification code")
        verbose_name_plural = _("verification codes")
        ordering = ["-created_at", "-id"]
        # The send limits count a user's and an IP's recent challenges.
        indexes = [
            models.Index(fields=["user", "created_at"], name="challenge_user_recent"),
            models.Index(fields=["ip_address", "created_at"], name="challenge_ip_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.channel} → {self.destination}"


class VerificationState(models.Model):
    """Failed attempts across all of a user's codes, and the lock-out they lead to.

    Per user rather than per challenge, so that asking for a new code never resets the count.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="+",
    )
    failures = models.PositiveSmallIntegerField(verbose_name=_("failures"), default=0)
    # How many lock-outs so far: each one lasts twice as long as the one before.
    lockouts = models.PositiveSmallIntegerField(verbose_name=_("lockouts"), default=0)
    locked_until = models.DateTimeField(verbose_name=_("locked until"), null=True, blank=True)
    updated_at = models.DateTimeField(verbose_name=_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("verification state")
        verbose_name_plural = _("verification states")

    def __str__(self) -> str:
        return f"{self.user_id}: {self.failures} failures"


class IdentityVerification(models.Model):
    """The customer proved who they are: how, when, and until when it counts."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="identity_verifications",
    )
    method = models.CharField(_("method"), max_length=16, choices=Method.choices)
    detail = models.CharField(
        _("detail"), max_length=64, blank=True, help_text=_("Masked contact or wallet id.")
    )
    verified_at = models.DateTimeField(_("verified at"))
    expires_at = models.DateTimeField(_("valid until"))
    ip_address = models.GenericIPAddressField(verbose_name=_("IP address"), null=True, blank=True)

    class Meta:
        verbose_name = _("identity verification")
        verbose_name_plural = _("identity verifications")
        ordering = ["-verified_at", "-id"]
        indexes = [models.Index(fields=["user", "-verified_at"], name="verification_latest")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.method} {self.verified_at:%Y-%m-%d %H:%M}"


class WalletLink(models.Model):
    """Which wallet account (the token's ``sub``) a Kefu customer is."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="wallet_link"
    )
    wallet_uid = models.CharField(_("wallet account id"), max_length=128, unique=True)
    linked_at = models.DateTimeField(verbose_name=_("linked at"), auto_now_add=True)

    class Meta:
        verbose_name = _("wallet link")
        verbose_name_plural = _("wallet links")

    def __str__(self) -> str:
        return f"{self.user_id} ↔ {self.wallet_uid}"


class UsedToken(models.Model):
    """A signed identity token already spent, kept until it would have expired anyway."""

    jti_hash = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = _("used identity token")
        verbose_name_plural = _("used identity tokens")

    def __str__(self) -> str:
        return self.jti_hash[:12]


class StaffTotp(models.Model):
    """The last accepted TOTP time step of a staff member, so a code cannot be used twice."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    last_step = models.BigIntegerField(default=0)
    enrolled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("staff two-factor state")
        verbose_name_plural = _("staff two-factor states")

    def __str__(self) -> str:
        return str(self.user_id)
