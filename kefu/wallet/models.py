"""Demo wallet records: the deposit addresses, deposits and withdrawals the demo wallet knows.

These tables stand in for the operator's own ledger so that ``kefu serve`` can diagnose with
nothing else installed; :class:`kefu.wallet.records.DatabaseWalletRecords` reads them. An
operator with a real wallet points Kefu at their API instead (``kefu.wallet.http_backend``) and these
tables stay empty. Customers are identified by the wallet's ``uid``, not by a Kefu user: the
wallet, not Kefu, owns these facts.
"""

from __future__ import annotations

import re
import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

_HEX_HASH = re.compile(r"(?:0[xX])?[0-9a-fA-F]{64}")


def stored_hash(value: str) -> str:
    """Hex hashes are stored lower-case so lookups can use the index; others as given."""
    value = (value or "").strip()
    return value.lower() if _HEX_HASH.fullmatch(value) else value


class DepositStatus(models.TextChoices):
    CONFIRMING = "confirming", _("Confirming")
    CREDITED = "credited", _("Credited")
    HELD = "held", _("Held for review")
    FAILED = "failed", _("Failed")


class WithdrawalStatus(models.TextChoices):
    SUBMITTED = "submitted", _("Submitted")
    REVIEWING = "reviewing", _("Security review")
    PROCESSING = "processing", _("Processing")
    BROADCAST = "broadcast", _("Sent on chain")
    COMPLETED = "completed", _("Completed")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


class DemoDepositAddress(models.Model):
    """An address (and memo/tag, on chains that share one address) for one coin and network."""

    uid = models.CharField(_("wallet uid"), max_length=64)
    coin = models.CharField(_("coin"), max_length=20)
    network = models.CharField(_("network"), max_length=40)
    address = models.CharField(_("address"), max_length=130)
    memo = models.CharField(_("memo / tag"), max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("demo deposit address")
        verbose_name_plural = _("demo deposit addresses")
        ordering = ["uid", "coin", "network"]
        indexes = [models.Index(fields=["uid"], name="wallet_address_uid")]

    def __str__(self) -> str:
        return f"{self.uid} {self.coin}/{self.network} {self.address}"


class DemoDeposit(models.Model):
    """A deposit the wallet has seen arrive (confirming, credited or held)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    uid = models.CharField(_("wallet uid"), max_length=64)
    coin = models.CharField(_("coin"), max_length=20)
    network = models.CharField(_("network"), max_length=40)
    amount = models.DecimalField(_("amount"), max_digits=38, decimal_places=18)
    address = models.CharField(_("address"), max_length=130)
    memo = models.CharField(_("memo / tag"), max_length=64, blank=True)
    tx_hash = models.CharField(_("transaction hash"), max_length=130, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=DepositStatus.choices, default=DepositStatus.CONFIRMING
    )
    created_at = models.DateTimeField(default=timezone.now)
    credited_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("demo deposit")
        verbose_name_plural = _("demo deposits")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["uid", "-created_at"], name="wallet_deposit_uid"),
            models.Index(fields=["tx_hash"], name="wallet_deposit_tx"),
        ]

    def __str__(self) -> str:
        return f"{self.uid} +{self.amount} {self.coin} ({self.status})"

    def save(self, *args, **kwargs) -> None:
        self.tx_hash = stored_hash(self.tx_hash)
        super().save(*args, **kwargs)


class DemoWithdrawal(models.Model):
    """A withdrawal the customer asked for, from submission to completion on chain."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    uid = models.CharField(_("wallet uid"), max_length=64)
    coin = models.CharField(_("coin"), max_length=20)
    network = models.CharField(_("network"), max_length=40)
    amount = models.DecimalField(_("amount"), max_digits=38, decimal_places=18)
    fee = models.DecimalField(_("fee"), max_digits=38, decimal_places=18, null=True, blank=True)
    address = models.CharField(_("address"), max_length=130)
    memo = models.CharField(_("memo / tag"), max_length=64, blank=True)
    tx_hash = models.CharField(_("transaction hash"), max_length=130, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=WithdrawalStatus.choices, default=WithdrawalStatus.SUBMITTED
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("demo withdrawal")
        verbose_name_plural = _("demo withdrawals")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["uid", "-created_at"], name="wallet_withdrawal_uid"),
            models.Index(fields=["tx_hash"], name="wallet_withdrawal_tx"),
        ]

    def __str__(self) -> str:
        return f"{self.uid} -{self.amount} {self.coin} ({self.status})"

    def save(self, *args, **kwargs) -> None:
        self.tx_hash = stored_hash(self.tx_hash)
        super().save(*args, **kwargs)
