"""Bot conversations: the transcript and the dialogue state that survives between messages."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ConversationStatus(models.TextChoices):
    BOT = "bot", _("With the bot")
    HANDED_OFF = "handed_off", _("Handed to a human")
    CLOSED = "closed", _("Closed")


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
    ticket = models.ForeignKey(
        "tickets.Ticket", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("bot conversation")
        verbose_name_plural = _("bot conversations")
        indexes = [models.Index(fields=["customer", "-updated_at"])]

    def __str__(self) -> str:
        return str(self.public_id)


class Sender(models.TextChoices):
    CUSTOMER = "customer", _("Customer")
    BOT = "bot", _("Bot")


class BotTurn(models.Model):
    conversation = models.ForeignKey(BotConversation, on_delete=models.CASCADE, related_name="turns")
    sender = models.CharField(max_length=10, choices=Sender.choices)
    text = models.TextField()
    intent = models.CharField(max_length=40, blank=True)
    confidence = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["conversation", "created_at", "id"])]

    def __str__(self) -> str:
        return f"{self.sender}: {self.text[:40]}"
