"""Satisfaction surveys (CSAT) for chats and tickets.

Moved here from live chat (the table keeps its name, ``chat_csatsurvey``, so the move
copied no data): rating is asked for after any channel's conversation, not only chat's.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


def new_token() -> str:
    return secrets.token_urlsafe(24)


class CsatSurvey(models.Model):
    """A satisfaction survey (1–5 and a comment) for a chat or a ticket, reached by an unguessable token."""

    token = models.CharField(max_length=64, unique=True, default=new_token, editable=False)
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="csat_surveys",
    )
    # By model name, not import: csat knows chats exist, never chat's code.
    conversation = models.OneToOneField(
        "chat.ChatConversation", null=True, blank=True, on_delete=models.CASCADE, related_name="survey"
    )
    ticket = models.ForeignKey(
        "tickets.Ticket",
        verbose_name=_("ticket"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("agent"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    team = models.ForeignKey(
        "accounts.Team",
        verbose_name=_("team"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    rating = models.PositiveSmallIntegerField(_("rating"), null=True, blank=True)
    comment = models.TextField(_("comment"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    answered_at = models.DateTimeField(verbose_name=_("answered at"), null=True, blank=True)

    class Meta:
        db_table = "chat_csatsurvey"
        verbose_name = _("satisfaction survey")
        verbose_name_plural = _("satisfaction surveys")
        indexes = [models.Index(fields=["-answered_at"], name="chat_csat_answered")]

    def __str__(self) -> str:
        return f"CSAT {self.rating or '-'}"
