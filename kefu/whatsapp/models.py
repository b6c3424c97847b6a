"""WhatsApp message templates (managed by admins, approved by Meta) and the template messages
agents sent on a case."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from kefu.tickets.models import Message

PARAM = re.compile(r"\{\{\s*(\d+)\s*\}\}")


class TemplateCategory(models.TextChoices):
    UTILITY = "UTILITY", _("Utility")
    MARKETING = "MARKETING", _("Marketing")
    AUTHENTICATION = "AUTHENTICATION", _("Authentication")


class TemplateStatus(models.TextChoices):
    # As Meta's review left it; only approved templates can be sent.
    APPROVED = "approved", _("Approved")
    PENDING = "pending", _("Pending review")
    REJECTED = "rejected", _("Rejected")


class Template(models.Model):
    """A message template as registered with Meta (WhatsApp Manager): its name and language are
    what the Graph API is told; the body, with ``{{1}}`` … parameters, is what Kefu shows the
    agent and writes into the case's thread."""

    name = models.CharField(
        _("name"),
        max_length=512,
        help_text=_("Exactly as registered with Meta: lower-case letters, digits and underscores."),
    )
    language = models.CharField(
        _("language code"), max_length=15, help_text=_("Meta's code, e.g. zh_CN or en_US.")
    )
    category = models.CharField(
        _("category"), max_length=16, choices=TemplateCategory.choices, default=TemplateCategory.UTILITY
    )
    body = models.TextField(
        _("body"), help_text=_("The template's text; {{1}}, {{2}} … are filled in by the agent.")
    )
    status = models.CharField(
        _("status"), max_length=10, choices=TemplateStatus.choices, default=TemplateStatus.PENDING
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("WhatsApp template")
        verbose_name_plural = _("WhatsApp templates")
        ordering = ["name", "language"]
        constraints = [models.UniqueConstraint(fields=["name", "language"], name="uniq_whatsapp_template")]

    def __str__(self) -> str:
        return f"{self.name} ({self.language})"

    def clean(self) -> None:
        if not re.fullmatch(r"[a-z0-9_]+", self.name or ""):
            raise ValidationError({"name": _("Use lower-case letters, digits and underscores only.")})
        numbers = sorted({int(n) for n in PARAM.findall(self.body or "")})
        if numbers != list(range(1, len(numbers) + 1)):
            raise ValidationError({"body": _("Number the parameters {{1}}, {{2}} … without gaps.")})

    @property
    def param_count(self) -> int:
        return len({int(n) for n in PARAM.findall(self.body or "")})

    def render(self, params: list[str]) -> str:
        return PARAM.sub(
            lambda m: params[int(m.group(1)) - 1] if int(m.group(1)) <= len(params) else m.group(0), self.body
        )


class TemplateMessage(models.Model):
    """An agent's message on a case that goes out as a template (the delivery reads it)."""

    message = models.OneToOneField(Message, on_delete=models.CASCADE, related_name="+")
    template = models.ForeignKey(Template, on_delete=models.PROTECT, related_name="+")
    params = models.JSONField(default=list)  # screened by the secret guard before stored

    class Meta:
        verbose_name = _("template message")
        verbose_name_plural = _("template messages")

    def __str__(self) -> str:
        return f"{self.message_id}: {self.template_id}"
