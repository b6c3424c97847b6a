"""An append-only record of every change: who, what, when."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditEvent(models.Model):
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    action = models.CharField(_("action"), max_length=64)
    # The object changed, e.g. ("ticket", "KF-20261122-12345678"); a string so any app can log.
    target_type = models.CharField(verbose_name=_("target type"), max_length=32)
    target_id = models.CharField(verbose_name=_("target ID"), max_length=64)
    data = models.JSONField(default=dict, blank=True)
    ip_address = models.GenericIPAddressField(verbose_name=_("IP address"), null=True, blank=True)
    created_at = models.DateTimeField(verbose_name=_("created at"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["target_type", "target_id", "created_at"])]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.action} {self.target_type}:{self.target_id}"

    @property
    def label(self) -> str:
        return str(ACTION_LABELS.get(self.action, self.action))


# Human-readable names for the actions agents see in a ticket's history.
ACTION_LABELS = {
    "ticket.created": _("created the ticket"),
    "ticket.replied": _("replied"),
    "ticket.note_added": _("added an internal note"),
    "ticket.status_changed": _("changed the status"),
    "ticket.priority_changed": _("changed the priority"),
    "ticket.category_changed": _("changed the category"),
    "ticket.assigned": _("changed the assignee"),
    "ticket.escalated": _("escalated the ticket"),
    "ticket.merged": _("merged tickets"),
    "ticket.secret_redacted": _("secret guard hid a secret"),
    "ticket.tagged": _("added a tag"),
    "ticket.untagged": _("removed a tag"),
}
