"""The phone hotline's rows: a call (one per provider CallSid), its call-back request, the SMS it
sends, admins' prompt overrides and the agents' phone lines.

A call's case is an ordinary case (``kefu.tickets``, channel ``phone``); the call-log lines are
system events in its thread. Every write to a :class:`Call` is keyed by its CallSid, so a
provider's retry or a replayed webhook finds the row it made the first time.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from kefu.inbox.models import Inbox
from kefu.tickets.models import Ticket


class CallStatus(models.TextChoices):
    # The provider's CallStatus values (status callbacks), plus "queued" while Kefu holds it.
    RINGING = "ringing", _("Ringing")
    IN_PROGRESS = "in-progress", _("In progress")
    QUEUED = "queued", _("In the queue")
    COMPLETED = "completed", _("Completed")
    BUSY = "busy", _("Busy")
    NO_ANSWER = "no-answer", _("No answer")
    FAILED = "failed", _("Failed")
    CANCELED = "canceled", _("Canceled")


ENDED_STATUSES = (
    CallStatus.COMPLETED,
    CallStatus.BUSY,
    CallStatus.NO_ANSWER,
    CallStatus.FAILED,
    CallStatus.CANCELED,
)


class Outcome(models.TextChoices):
    NONE = "", _("Unknown")
    AGENT = "agent", _("Talked to an agent")
    CALLBACK = "callback", _("Call-back requested")
    VOICEMAIL = "voicemail", _("Voicemail")
    SMS_LINK = "sms_link", _("Sent a link by SMS")
    ABANDONED = "abandoned", _("Hung up in the queue")
    HUNG_UP = "hung_up", _("Hung up in the menu")


class Call(models.Model):
    """One phone call through the hotline, from the provider's first webhook to its last."""

    call_sid = models.CharField(_("call SID"), max_length=64, unique=True)
    inbox = models.ForeignKey(Inbox, verbose_name=_("inbox"), on_delete=models.PROTECT, related_name="+")
    caller = models.CharField(_("caller"), max_length=32, blank=True)
    called = models.CharField(_("number called"), max_length=32, blank=True)
    language = models.CharField(_("language"), max_length=10, default="zh-hans")
    # The keys pressed in the menus, e.g. "2>2" (menu choices only: never a code or case number).
    menu_path = models.CharField(_("menu path"), max_length=64, blank=True)
    topic = models.CharField(_("topic"), max_length=32, blank=True)
    ticket = models.ForeignKey(
        Ticket, verbose_name=_("case"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(
        _("status"), max_length=16, choices=CallStatus.choices, default=CallStatus.RINGING
    )
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices, blank=True)
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("agent"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # The agent Kefu last rang for this queued call, and when (one ring at a time per call; a
    # sweep rings again once it has gone unanswered for a while).
    dialled_agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    agent_dialled_at = models.DateTimeField(null=True, blank=True)
    # Identity step-up: the open challenge (kefu.identity) and when a code was keyed in right.
    challenge_id = models.UUIDField(null=True, blank=True)
    verified_at = models.DateTimeField(_("identity verified at"), null=True, blank=True)
    retries = models.PositiveSmallIntegerField(default=0)  # wrong or missing keys in this menu
    started_at = models.DateTimeField(_("started at"), auto_now_add=True)
    queued_at = models.DateTimeField(_("queued at"), null=True, blank=True)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    duration_seconds = models.PositiveIntegerField(_("duration (seconds)"), null=True, blank=True)
    queue_seconds = models.PositiveIntegerField(_("time in queue (seconds)"), null=True, blank=True)

    class Meta:
        verbose_name = _("phone call")
        verbose_name_plural = _("phone calls")
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["caller", "-started_at"], name="phone_call_caller")]

    def __str__(self) -> str:
        return self.call_sid

    @property
    def is_over(self) -> bool:
        return self.ended_at is not None


class CallbackStatus(models.TextChoices):
    WAITING = "waiting", _("Waiting")
    DIALLING = "dialling", _("Dialling")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")
    CANCELED = "canceled", _("Canceled")


class Callback(models.Model):
    """A caller asked to be called back. It keeps the caller's place: the queue of call-backs is
    ordered by when the call joined the phone queue (or asked, if it never queued)."""

    call = models.OneToOneField(
        Call, verbose_name=_("call"), on_delete=models.CASCADE, related_name="callback"
    )
    ticket = models.ForeignKey(Ticket, verbose_name=_("case"), on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("customer"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    place_at = models.DateTimeField(_("place in the queue"))
    queue_position = models.PositiveIntegerField(_("position when asked"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=CallbackStatus.choices, default=CallbackStatus.WAITING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_outcome = models.CharField(_("last outcome"), max_length=32, blank=True)
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("agent"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("call-back")
        verbose_name_plural = _("call-backs")
        ordering = ["place_at", "id"]

    def __str__(self) -> str:
        return f"{self.ticket_id} ({self.status})"


class SmsStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class PhoneSms(models.Model):
    """A text the hotline sends (the case number, the freeze link), sent by a job: the row is
    the truth, the job is retried, and a webhook never waits for the provider."""

    call = models.ForeignKey(Call, verbose_name=_("call"), on_delete=models.CASCADE, related_name="texts")
    purpose = models.CharField(_("purpose"), max_length=20)
    to = models.CharField(_("to"), max_length=32)
    body = models.TextField(_("text"))
    status = models.CharField(_("status"), max_length=8, choices=SmsStatus.choices, default=SmsStatus.QUEUED)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    # When a sender took it (kefu.phone.actions.claim_sms): one sender at a time.
    claimed_at = models.DateTimeField(_("sending since"), null=True, blank=True)
    provider_id = models.CharField(_("provider id"), max_length=64, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("SMS")
        verbose_name_plural = _("SMS")
        constraints = [models.UniqueConstraint(fields=["call", "purpose"], name="phone_sms_once")]
        # The sweep's look for texts whose job was lost: only the few still queued are indexed.
        indexes = [
            models.Index(fields=["created_at"], condition=models.Q(status="queued"), name="phone_sms_queued")
        ]

    def __str__(self) -> str:
        return f"{self.purpose} → {self.to}"


class PromptKey(models.TextChoices):
    LANGUAGE = "language", _("Language choice")
    WARNING = "warning", _("Seed phrase warning")
    MENU = "menu", _("Main menu")
    ACCOUNT_MENU = "account_menu", _("Account and security menu")
    CASE_NUMBER = "case_number", _("Existing case: key the number")
    CLOSED = "closed", _("Out of hours")
    QUEUE = "queue", _("Entering the queue")
    VOICEMAIL = "voicemail", _("Voicemail")
    GOODBYE = "goodbye", _("Goodbye")


class Prompt(models.Model):
    """An admin's wording of one prompt of the default flow in one language (the built-in,
    translated wording is used where there is none)."""

    inbox = models.ForeignKey(Inbox, verbose_name=_("inbox"), on_delete=models.CASCADE, related_name="+")
    key = models.CharField(_("prompt"), max_length=20, choices=PromptKey.choices)
    language = models.CharField(
        _("language"), max_length=10, choices=[("zh-hans", "中文"), ("en", "English")]
    )
    text = models.TextField(_("text"))

    class Meta:
        verbose_name = _("phone prompt")
        verbose_name_plural = _("phone prompts")
        constraints = [models.UniqueConstraint(fields=["inbox", "key", "language"], name="phone_prompt_once")]

    def __str__(self) -> str:
        return f"{self.key} ({self.language})"


class AgentLine(models.Model):
    """Where an agent takes calls: a phone number (E.164) or a SIP address (``sip:...``)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name=_("agent"), on_delete=models.CASCADE, related_name="phone_line"
    )
    address = models.CharField(_("phone or SIP address"), max_length=200)

    class Meta:
        verbose_name = _("agent phone line")
        verbose_name_plural = _("agent phone lines")

    def __str__(self) -> str:
        return self.address
