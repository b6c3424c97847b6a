"""Channels as inboxes: the configured channel instances, who writes on them, and what comes in
and goes out through them (durably, with retries).

A message itself lives on the case (``kefu.tickets.models.Message``); these rows record how it
arrived (:class:`InboundEvent`) and how it left (:class:`OutboundDelivery`).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from kefu.accounts.models import Team
from kefu.identity import sealed
from kefu.tickets.models import Message, Ticket


class InboxKind(models.TextChoices):
    # Each kind is one adapter module (docs/channels.md).
    WIDGET = "widget", _("Web widget")
    EMAIL = "email", _("Email")
    PORTAL = "portal", _("Portal")
    API = "api", _("API")
    VOICE = "voice", _("Phone hotline")
    TELEGRAM = "telegram", _("Telegram")
    WHATSAPP = "whatsapp", _("WhatsApp")


class Inbox(models.Model):
    """A configured channel instance: one support mailbox, the portal, the API, a widget."""

    kind = models.CharField(_("kind"), max_length=16, choices=InboxKind.choices)
    name = models.CharField(_("name"), max_length=100)
    team = models.ForeignKey(
        Team,
        verbose_name=_("team"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        help_text=_("The queue of cases whose category names no team."),
    )
    calendar = models.ForeignKey(
        "calendars.BusinessCalendar",
        verbose_name=_("business hours"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
    )
    bot_enabled = models.BooleanField(_("bot answers first"), default=False)
    # Provider credentials (an API token, a webhook secret) sealed at rest like the staff TOTP
    # seeds (kefu.identity.sealed): a copy of the database alone does not hold them.
    credentials_sealed = models.TextField(blank=True, editable=False)
    is_active = models.BooleanField(_("is active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("inbox")
        verbose_name_plural = _("inboxes")
        ordering = ["kind", "id"]
        constraints = [models.UniqueConstraint(fields=["kind", "name"], name="uniq_inbox_kind_name")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.name}"

    @property
    def credentials(self) -> str:
        """The provider credentials in plain text (raises SealedValueError if no key opens them)."""
        return sealed.unseal(self.credentials_sealed)

    @credentials.setter
    def credentials(self, plain: str) -> None:
        self.credentials_sealed = sealed.seal(plain)


class ContactIdentity(models.Model):
    """An address on one inbox (an email address, a phone number, a messaging user id) and the
    customer it belongs to, as far as Kefu knows.

    NEVER proof of account ownership: anyone can write from an address that looks like a
    customer's (a forged From header, a shared phone). It threads messages onto that customer's
    cases; account actions (a freeze, a withdrawal question, anything that reveals or changes the
    account) still need identity verification (``kefu.identity``).
    """

    inbox = models.ForeignKey(
        Inbox, verbose_name=_("inbox"), on_delete=models.CASCADE, related_name="contacts"
    )
    # Normalised by the adapter (an email address lower-cased, a phone number in E.164).
    address = models.CharField(_("address"), max_length=320)
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("customer"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="contact_identities",
    )
    display_name = models.CharField(_("display name"), max_length=100, blank=True)
    first_seen_at = models.DateTimeField(_("first seen"), auto_now_add=True)
    last_seen_at = models.DateTimeField(_("last seen"), auto_now=True)

    class Meta:
        verbose_name = _("contact identity")
        verbose_name_plural = _("contact identities")
        constraints = [models.UniqueConstraint(fields=["inbox", "address"], name="uniq_contact_address")]

    def __str__(self) -> str:
        return self.address


class EventStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    PROCESSED = "processed", _("Processed")
    FAILED = "failed", _("Failed")
    IGNORED = "ignored", _("Ignored")


class InboundEvent(models.Model):
    """One message received on an inbox, stored before the channel is acknowledged.

    ``payload`` is what the adapter parsed, already through the secret guard: nothing unscreened
    is ever written. The job (``kefu.inbox.pipeline.process``) turns it into a message on a case;
    until then it is ``pending`` and retried with back-off.
    """

    inbox = models.ForeignKey(Inbox, verbose_name=_("inbox"), on_delete=models.PROTECT, related_name="events")
    # The channel's own id of the message (a Message-ID, a provider id, a client id), hashed:
    # a redelivery is stored once per inbox.
    dedupe_key = models.CharField(max_length=64)
    payload = models.JSONField(_("payload"), default=dict)
    status = models.CharField(
        _("status"), max_length=10, choices=EventStatus.choices, default=EventStatus.PENDING
    )
    ignore_reason = models.CharField(_("reason ignored"), max_length=40, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    received_at = models.DateTimeField(_("received at"), auto_now_add=True)
    processed_at = models.DateTimeField(_("processed at"), null=True, blank=True)
    contact = models.ForeignKey(
        ContactIdentity, verbose_name=_("contact"), null=True, blank=True, on_delete=models.SET_NULL
    )
    ticket = models.ForeignKey(
        Ticket, verbose_name=_("ticket"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    message = models.ForeignKey(
        Message, verbose_name=_("message"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("inbound event")
        verbose_name_plural = _("inbound events")
        constraints = [models.UniqueConstraint(fields=["inbox", "dedupe_key"], name="uniq_inbound_event")]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="inbound_event_due")]

    def __str__(self) -> str:
        return f"{self.inbox_id}:{self.dedupe_key[:12]}"


class DeliveryStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENT = "sent", _("Sent")
    # What a provider reports after "sent" (WhatsApp's status callbacks); a sent row may move on
    # to these, never back.
    DELIVERED = "delivered", _("Delivered")
    READ = "read", _("Read")
    FAILED = "failed", _("Failed")


class OutboundDelivery(models.Model):
    """A message on its way to the customer on one channel: queued, sent, or failed for good."""

    message = models.ForeignKey(
        Message, verbose_name=_("message"), on_delete=models.CASCADE, related_name="deliveries"
    )
    inbox = models.ForeignKey(
        Inbox, verbose_name=_("inbox"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    channel = models.CharField(_("channel"), max_length=16)
    status = models.CharField(
        _("status"), max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.QUEUED
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    provider_id = models.CharField(_("provider id"), max_length=998, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("outbound delivery")
        verbose_name_plural = _("outbound deliveries")
        constraints = [models.UniqueConstraint(fields=["message", "channel"], name="uniq_delivery_channel")]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="delivery_due")]

    def __str__(self) -> str:
        return f"{self.message_id} → {self.channel}"
