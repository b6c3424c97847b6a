"""A job that failed for good: what an admin sees and may retry."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class FailedJob(models.Model):
    """Written by the engine when a job's last retry failed (or it expired unrun).

    The job's own rows stay the truth (a failed mail is also marked failed on its row); this
    record says that the machinery gave up, so an admin can look and send it round again.
    """

    task_name = models.CharField(_("task"), max_length=200)
    task_id = models.CharField(_("job id"), max_length=64, blank=True)
    args = models.JSONField(_("arguments"), default=list, blank=True)
    kwargs = models.JSONField(_("keyword arguments"), default=dict, blank=True)
    error = models.TextField(_("error"), blank=True)
    failures = models.PositiveIntegerField(_("failures"), default=1)
    failed_at = models.DateTimeField(_("failed at"), auto_now_add=True, db_index=True)
    retried_at = models.DateTimeField(_("retried at"), null=True, blank=True)

    class Meta:
        ordering = ["-failed_at", "-id"]
        verbose_name = _("failed job")
        verbose_name_plural = _("failed jobs")

    def __str__(self) -> str:
        return f"{self.task_name}{tuple(self.args)!r}"
