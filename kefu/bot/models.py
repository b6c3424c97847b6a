"""Bot conversations: the dialogue state that survives between messages.

The conversation itself is a case (``kefu.tickets``) in the bot's stage: every turn, the
customer's and the bot's, is a message of that case's thread, so a hand-off opens the same case
to humans and nothing is copied. This row keeps only what the dialogue needs between messages
(like a live chat is a session on a case): its state, language, and who may continue it.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ConversationStatus(models.TextChoices):
    BOT = "bot", _("With the bot")
    HANDED_OFF = "handed_off", _("Handed to a human")
    CLOSED = "closed", _("Closed")


class CloseReason(models.TextChoices):
    """Why a conversation still with the bot was closed for idleness (``kefu.bot.idle``), read
    by the reports: the bot's containment counts ``answered`` as contained, ``unanswered`` not."""

    ANSWERED = "answered", _("Answered by the bot")
    UNANSWERED = "unanswered", _("Left without an answer")


class BotConversation(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="bot_conversations",
    )
    language = models.CharField(max_length=10, default="zh-hans")
    status = models.CharField(
        max_length=16, choices=ConversationStatus.choices, default=ConversationStatus.BOT
    )
    # Dialogue state: current flow, slot being asked, slots, failure count, pending feedback.
    state = models.JSONField(default=dict, blank=True)
    # The case this conversation is (from its first message; status ``bot`` until the hand-off).
    ticket = models.ForeignKey(
        "tickets.Ticket", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Closed while still with the bot because the customer went quiet (``kefu.bot.idle``);
    # cleared when they write again (the conversation reopens, its dialogue starts over).
    closed_at = models.DateTimeField(null=True, blank=True)
    close_reason = models.CharField(max_length=16, choices=CloseReason.choices, blank=True)

    class Meta:
        verbose_name = _("bot conversation")
        verbose_name_plural = _("bot conversations")
        indexes = [
            models.Index(fields=["customer", "-updated_at"]),
            # The idle sweep's: only conversations still with the bot, oldest activity first.
            models.Index(
                fields=["updated_at"], name="botconv_with_bot", condition=models.Q(status="bot")
            ),
        ]

    def __str__(self) -> str:
        return str(self.public_id)
