"""The registry of official channels: what customers can check a contact against."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class ChannelKind(models.TextChoices):
    WEBSITE = "website", _("Website")
    EMAIL = "email", _("Email")
    PHONE = "phone", _("Phone")
    TELEGRAM = "telegram", _("Telegram")
    X = "x", _("X (Twitter)")
    OTHER = "other", _("Other")


class OfficialChannel(models.Model):
    """A contact the brand really uses. ``normalized`` is what checks compare against."""

    kind = models.CharField(_("kind"), max_length=16, choices=ChannelKind.choices)
    value = models.CharField(_("value"), max_length=255, help_text=_("As entered, e.g. https://example.com"))
    normalized = models.CharField(_("normalized value"), max_length=255, db_index=True, editable=False)
    label = models.CharField(_("label"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("official channel")
        verbose_name_plural = _("official channels")
        ordering = ["kind", "normalized"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "normalized"], name="trust_officialchannel_kind_normalized"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.normalized}"
