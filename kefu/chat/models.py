"""Live chat (在线客服): conversations and their messages, agent presence, service hours, CSAT."""

from __future__ import annotations

import secrets
import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

# The chat's messages are its case's (re-exported for the chat's code).
from kefu.tickets.models import Message as Message
from kefu.tickets.models import MessageKind as MessageKind
from kefu.tickets.models import Sender as Sender


def new_secret() -> str:
    return secrets.token_urlsafe(24)


# --- agents -----------------------------------------------------------------------------------


class PresenceStatus(models.TextChoices):
    ONLINE = "online", _("Online")
    AWAY = "away", _("Away")
    OFFLINE = "offline", _("Offline")


class AgentPresence(models.Model):
    """An agent's availability for chats. Only ``online`` agents receive chats automatically.

    ``active_chats`` is a counter kept by the actions under this row's lock, so that two
    dispatchers can never both fill an agent's last free slot.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="chat_presence",
    )
    status = models.CharField(
        _("status"), max_length=10, choices=PresenceStatus.choices, default=PresenceStatus.OFFLINE
    )
    capacity = models.PositiveSmallIntegerField(_("concurrent chats"), default=3)
    active_chats = models.PositiveIntegerField(verbose_name=_("active chats"), default=0)
    # Space-separated language codes the agent chats in; empty means any language.
    languages = models.CharField(_("languages"), max_length=100, blank=True)
    # Ties between equally loaded agents go to the one who waited longest for a chat.
    last_assigned_at = models.DateTimeField(null=True, blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField(verbose_name=_("last seen at"), null=True, blank=True)
    connections = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("agent presence")
        verbose_name_plural = _("agent presences")
        indexes = [models.Index(fields=["status", "active_chats"], name="chat_presence_free")]

    def __str__(self) -> str:
        return f"{self.user} ({self.status})"

    def speaks(self, language: str) -> bool:
        codes = self.languages.split()
        return not codes or language in codes


class AgentPresenceLog(models.Model):
    """One stretch of an agent's status: written when the status changes (the open row, with no
    ``ended_at``, is the current status). The reports' time online and occupancy read these
    intervals; a row per change keeps it cheap (a few dozen a day per agent)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="presence_log",
    )
    status = models.CharField(_("status"), max_length=10, choices=PresenceStatus.choices)
    started_at = models.DateTimeField(_("from"))
    ended_at = models.DateTimeField(_("until"), null=True, blank=True)

    class Meta:
        verbose_name = _("agent status interval")
        verbose_name_plural = _("agent status intervals")
        indexes = [
            # The open interval of an agent (closed at the next change) ...
            models.Index(fields=["user"], name="chat_presence_log_open", condition=models.Q(ended_at__isnull=True)),
            # ... and the intervals that reach into a report's period.
            models.Index(fields=["ended_at"], name="chat_presence_log_ended"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.status} {self.started_at:%Y-%m-%d %H:%M}"


# --- conversations ------------------------------------------------------------------------------


class ChatStatus(models.TextChoices):
    BOT = "bot", _("With the bot")
    QUEUED = "queued", _("Waiting for an agent")
    ACTIVE = "active", _("With an agent")
    CLOSED = "closed", _("Closed")


class CloseReason(models.TextChoices):
    RESOLVED = "resolved", _("Resolved by the agent")
    CUSTOMER = "customer", _("Ended by the customer")
    IDLE = "idle", _("Customer did not reply")
    ABANDONED = "abandoned", _("Customer left the queue")
    TICKET = "ticket", _("Continued as a ticket")
    CALLBACK = "callback", _("Call-back requested")


class ChatConversation(models.Model):
    """One chat: bot first, then (after hand-off) the queue of a team, then an agent."""

    public_id = models.UUIDField(verbose_name=_("public ID"), default=uuid.uuid4, unique=True, editable=False)
    # Lets an anonymous visitor resume their conversation; signed-in customers are matched by id.
    resume_key = models.CharField(max_length=64, default=new_secret, editable=False)
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("customer"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="chats",
    )
    bot_conversation = models.OneToOneField(
        "bot.BotConversation", null=True, blank=True, on_delete=models.SET_NULL, related_name="chat"
    )
    status = models.CharField(_("status"), max_length=10, choices=ChatStatus.choices, default=ChatStatus.BOT)
    language = models.CharField(max_length=10, default="zh-hans")
    intent = models.CharField(max_length=40, blank=True)
    slots = models.JSONField(default=dict, blank=True)
    category = models.ForeignKey(
        "tickets.Category", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    team = models.ForeignKey(
        "accounts.Team",
        verbose_name=_("team"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="chats",
    )
    priority = models.PositiveSmallIntegerField(_("priority"), default=2)
    tier = models.PositiveSmallIntegerField(_("support tier"), default=1)
    security = models.BooleanField(_("security flag"), default=False)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_chats",
    )
    # The case this chat is a session on (from its start: the bot's case when the bot talked
    # first). Its thread holds the chat's messages; closing the chat changes its status.
    ticket = models.ForeignKey(
        "tickets.Ticket", null=True, blank=True, on_delete=models.SET_NULL, related_name="chats"
    )
    # How far each side has read, in the case's message numbers (``Message.seq``).
    customer_read_seq = models.PositiveIntegerField(default=0)
    agent_read_seq = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(verbose_name=_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    assigned_at = models.DateTimeField(null=True, blank=True)
    # The reports' queue figures: when the chat entered the queue (do_enqueue), the wait the
    # customer was told then (0: an agent was free; None: no agent could take it, no estimate),
    # and when an agent first joined (``assigned_at`` moves on a transfer).
    wait_estimate_at = models.DateTimeField(null=True, blank=True)
    wait_estimate_seconds = models.PositiveIntegerField(null=True, blank=True)
    first_assigned_at = models.DateTimeField(null=True, blank=True)
    first_response_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    close_reason = models.CharField(max_length=16, choices=CloseReason.choices, blank=True)
    customer_message_at = models.DateTimeField(null=True, blank=True)
    agent_message_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    customer_connections = models.PositiveIntegerField(default=0)
    customer_seen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("chat")
        verbose_name_plural = _("chats")
        indexes = [
            # The queue: highest priority first, then first come first served.
            models.Index(
                fields=["team", "-priority", "queued_at", "id"],
                name="chat_queue",
                condition=models.Q(status="queued"),
            ),
            models.Index(fields=["assignee", "status"], name="chat_assignee"),
            models.Index(fields=["customer", "-created_at"], name="chat_customer"),
            # Recent handling times for the wait estimate.
            models.Index(
                fields=["team", "-closed_at"], name="chat_closed", condition=models.Q(status="closed")
            ),
            models.Index(fields=["status", "agent_message_at"], name="chat_status_activity"),
            # The reports: chats that entered the queue in a period, and agents' chats in one.
            models.Index(
                fields=["wait_estimate_at"],
                name="chat_entered_queue",
                condition=models.Q(wait_estimate_at__isnull=False),
            ),
            models.Index(fields=["assigned_at"], name="chat_assigned_at"),
        ]

    def __str__(self) -> str:
        return str(self.public_id)

    @property
    def is_open(self) -> bool:
        return self.status != ChatStatus.CLOSED


# A chat's messages are the messages of its case (``kefu.tickets.models.Message``, channel
# ``chat``): what the chat calls a message is a public one, a note an internal one.


# --- service hours ------------------------------------------------------------------------------


class ServiceChannel(models.TextChoices):
    # The phone hotline follows its voice inbox's calendar (kefu.phone), not a row here.
    CHAT = "chat", _("Online chat")


class ServiceCalendar(models.Model):
    """Which business calendar (kefu.calendars) gives one channel's opening hours, for one team
    or (team empty) for every team without its own. The calendar holds the hours, the holidays
    and the overrides (a holiday's name and "fewer agents today" included)."""

    name = models.CharField(_("name"), max_length=100)
    team = models.ForeignKey(
        "accounts.Team",
        verbose_name=_("team"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="service_calendars",
    )
    channel = models.CharField(_("channel"), max_length=10, choices=ServiceChannel.choices)
    business_calendar = models.ForeignKey(
        "calendars.BusinessCalendar",
        verbose_name=_("business calendar"),
        on_delete=models.PROTECT,
        related_name="service_calendars",
    )

    class Meta:
        verbose_name = _("service calendar")
        verbose_name_plural = _("service calendars")
        constraints = [
            models.UniqueConstraint(fields=["team", "channel"], name="chat_calendar_team_channel"),
            models.UniqueConstraint(
                fields=["channel"], condition=models.Q(team__isnull=True), name="chat_calendar_default"
            ),
        ]

    def __str__(self) -> str:
        return self.name


# --- after the chat -------------------------------------------------------------------------------


# The satisfaction survey after a chat lives in kefu.csat (CsatSurvey, same table).


class CallbackStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    DONE = "done", _("Done")


class CallbackRequest(models.Model):
    """The customer chose to be called back instead of waiting in the queue."""

    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="+"
    )
    conversation = models.ForeignKey(ChatConversation, null=True, blank=True, on_delete=models.SET_NULL)
    ticket = models.ForeignKey(
        "tickets.Ticket",
        verbose_name=_("ticket"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    phone = models.CharField(_("phone number"), max_length=32)
    status = models.CharField(
        verbose_name=_("status"),
        max_length=10,
        choices=CallbackStatus.choices,
        default=CallbackStatus.PENDING,
    )
    created_at = models.DateTimeField(verbose_name=_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("call-back request")
        verbose_name_plural = _("call-back requests")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.phone} ({self.status})"
