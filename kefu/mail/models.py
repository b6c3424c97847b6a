"""Mail in and out: the durable inbox, the outbox, and the Message-ID → ticket thread map."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kefu.tickets.models import Message, Ticket


class InboundStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    PROCESSED = "processed", _("Processed")
    FAILED = "failed", _("Failed")
    IGNORED = "ignored", _("Ignored")


class InboundSource(models.TextChoices):
    SMTP = "smtp", _("SMTP receiver")
    IMAP = "imap", _("IMAP mailbox")
    CLI = "cli", _("Command line")


class InboundMail(models.Model):
    """One received mail, stored (secrets already redacted) before the sender is told ``250``.

    ``raw`` is the MIME as received when nothing needed hiding, else a re-serialisation with
    secrets redacted and refused attachments emptied. Processing turns the row into a ticket
    or a reply; until then it is ``pending`` and the worker retries it with back-off.
    """

    # sha256 of the Message-ID (or of the content when there is none): a redelivery is stored once.
    dedupe_key = models.CharField(max_length=64, unique=True)
    rfc_message_id = models.CharField(_("Message-ID"), max_length=998, blank=True)
    raw = models.BinaryField()
    size = models.PositiveIntegerField(default=0)
    source = models.CharField(max_length=8, choices=InboundSource.choices, default=InboundSource.SMTP)
    envelope_from = models.CharField(_("envelope sender"), max_length=320, blank=True)
    envelope_to = models.TextField(_("envelope recipients"), blank=True)
    header_from = models.CharField(_("sender"), max_length=320, blank=True)
    subject = models.CharField(_("subject"), max_length=998, blank=True)
    secret_found = models.BooleanField(_("secret redacted"), default=False)
    secret_kinds = models.CharField(max_length=200, blank=True)
    full_text = models.TextField(_("full text"), blank=True, help_text=_("Decoded, with quoted history."))
    received_at = models.DateTimeField(_("received at"), auto_now_add=True)
    status = models.CharField(
        _("status"), max_length=10, choices=InboundStatus.choices, default=InboundStatus.PENDING
    )
    ignore_reason = models.CharField(_("reason ignored"), max_length=40, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    ticket = models.ForeignKey(
        Ticket,
        verbose_name=_("ticket"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="inbound_mails",
    )

    class Meta:
        verbose_name = _("inbound mail")
        verbose_name_plural = _("inbound mails")
        indexes = [
            # The worker's sweep, and the per-sender rate limit.
            models.Index(fields=["status", "next_attempt_at"], name="inbound_due"),
            models.Index(fields=["header_from", "received_at"], name="inbound_sender"),
        ]

    def __str__(self) -> str:
        return f"{self.header_from} {self.subject}"[:120]


class OutboundKind(models.TextChoices):
    ACK = "ack", _("Acknowledgement")
    REPLY = "reply", _("Agent reply")
    INFO_REQUEST = "info_request", _("Request for information")
    RESOLVED = "resolved", _("Resolution")
    SECRET_WARNING = "secret_warning", _("Secret warning")


class OutboundStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class OutboundMail(models.Model):
    """The outbox: a row per mail to send. Subject and bodies are rendered at the first attempt."""

    kind = models.CharField(_("kind"), max_length=16, choices=OutboundKind.choices)
    ticket = models.ForeignKey(
        Ticket, verbose_name=_("ticket"), on_delete=models.CASCADE, related_name="outbound_mails"
    )
    message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="outbound_mails"
    )
    # One acknowledgement per ticket, one mail per agent message: calling a notifier twice is harmless.
    dedupe_key = models.CharField(max_length=120, unique=True, null=True, blank=True)
    to_email = models.EmailField(_("recipient"))
    rfc_message_id = models.CharField(_("Message-ID"), max_length=255, unique=True)
    in_reply_to = models.CharField(max_length=998, blank=True)
    references = models.TextField(blank=True)
    context = models.JSONField(default=dict, blank=True)
    subject = models.CharField(_("subject"), max_length=998, blank=True)
    body_text = models.TextField(blank=True)
    body_html = models.TextField(blank=True)
    status = models.CharField(
        _("status"), max_length=8, choices=OutboundStatus.choices, default=OutboundStatus.QUEUED
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(verbose_name=_("created at"), auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("outbound mail")
        verbose_name_plural = _("outbound mails")
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="outbound_due")]

    def __str__(self) -> str:
        return f"{self.kind} → {self.to_email}"


class Direction(models.TextChoices):
    INBOUND = "in", _("Inbound")
    OUTBOUND = "out", _("Outbound")


class ThreadMessageId(models.Model):
    """Every Message-ID we received or sent, and its ticket: how a reply finds its thread."""

    # sha256 of the Message-ID: ids may be longer than an index allows.
    digest = models.CharField(max_length=64, unique=True)
    rfc_message_id = models.CharField(_("Message-ID"), max_length=998)
    ticket = models.ForeignKey(
        Ticket, verbose_name=_("ticket"), on_delete=models.CASCADE, related_name="mail_ids"
    )
    direction = models.CharField(verbose_name=_("direction"), max_length=3, choices=Direction.choices)
    # When the mail was received or queued: the order of the thread for In-Reply-To/References.
    created_at = models.DateTimeField(verbose_name=_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("mail thread id")
        verbose_name_plural = _("mail thread ids")
        indexes = [models.Index(fields=["ticket", "created_at"], name="thread_ids_of_ticket")]

    def __str__(self) -> str:
        return self.rfc_message_id


class EmailMessageLink(models.Model):
    """A ticket message that arrived by mail, and the mail (with its full text) it came from."""

    message = models.OneToOneField(Message, on_delete=models.CASCADE, related_name="email_link")
    inbound = models.ForeignKey(InboundMail, on_delete=models.CASCADE, related_name="links")
    rfc_message_id = models.CharField(_("Message-ID"), max_length=998, blank=True)

    class Meta:
        verbose_name = _("email message link")
        verbose_name_plural = _("email message links")

    def __str__(self) -> str:
        return self.rfc_message_id
