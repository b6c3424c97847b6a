"""Outgoing webhooks: where to send (:class:`Endpoint`) and what was sent (:class:`Delivery`).

A delivery row is written inside the transaction of the change it announces (the outbox), so a
committed change always has its deliveries and a rolled-back one never does; jobs send them.
The row keeps the exact body that is signed, so a retry or a replay sends the same bytes under
the same ``webhook-id`` (receivers de-duplicate on it).
"""

from __future__ import annotations

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _


class Endpoint(models.Model):
    """A receiver an admin registered: its URL, the events it wants and its signing secrets.

    Secrets are sealed at rest (``kefu.identity.sealed``): they must be read back to sign, so
    they cannot be hashed, and a database copy alone must not let its holder forge deliveries.
    During a rotation the previous secret signs too, until ``previous_secret_expires_at``.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    url = models.URLField(_("URL"), max_length=500)
    description = models.CharField(_("description"), max_length=200, blank=True)
    # Event names (kefu.webhooks.payloads.EVENT_TYPES); ["*"]: every event.
    events = models.JSONField(_("events"), default=list)
    is_active = models.BooleanField(_("is active"), default=True)
    include_sensitive = models.BooleanField(
        _("include sensitive fields"),
        default=False,
        help_text=_(
            "Add titles, message texts, the customer's id and email, coins, amounts and hashes to payloads."
        ),
    )
    secret = models.CharField(max_length=300, editable=False)
    previous_secret = models.CharField(max_length=300, blank=True, editable=False)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    consecutive_failures = models.PositiveIntegerField(_("consecutive failures"), default=0)
    disabled_at = models.DateTimeField(_("disabled at"), null=True, blank=True)
    disabled_reason = models.CharField(_("why disabled"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.url

    def wants(self, event_type: str) -> bool:
        return "*" in self.events or event_type in self.events


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")


class Delivery(models.Model):
    """One event for one endpoint, with the outcome of its last attempt (the delivery log)."""

    endpoint = models.ForeignKey(
        Endpoint, verbose_name=_("endpoint"), on_delete=models.CASCADE, related_name="deliveries"
    )
    # The Standard Webhooks message id (``webhook-id``): the same on every retry and replay.
    message_id = models.CharField(_("message id"), max_length=64, unique=True)
    event_type = models.CharField(_("event"), max_length=40)
    body = models.TextField(_("payload"))
    status = models.CharField(
        _("status"), max_length=12, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    response_code = models.PositiveSmallIntegerField(_("response code"), null=True, blank=True)
    response_ms = models.PositiveIntegerField(_("response time (ms)"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-id"]
        indexes = [
            # The sweep: pending rows by id (kefu.inbox.durable.due); delivered ones are not in it.
            models.Index(
                fields=["status", "next_attempt_at"],
                name="webhook_delivery_due",
                condition=models.Q(status="pending"),
            ),
            models.Index(fields=["endpoint", "-id"], name="webhook_delivery_log"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.message_id}"
