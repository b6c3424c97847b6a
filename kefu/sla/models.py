"""Service levels: policies (which tickets, which targets) and the timers they start.

A :class:`SlaTimer` row is one running clock of one ticket: its deadline lives in the
database (``due_at``, and ``warn_at`` for the warning), so the periodic sweep finds what is
due with one indexed range query and a crash loses nothing. A paused clock has no deadline:
``remaining_seconds`` holds the working time left, and resuming computes a new ``due_at``.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from kefu.calendars.models import BusinessCalendar


class TimerKind(models.TextChoices):
    # A context of their own: "Resolution" elsewhere names the resolution mail.
    FIRST_REPLY = "first_reply", pgettext_lazy("sla target", "First reply")
    NEXT_REPLY = "next_reply", pgettext_lazy("sla target", "Next reply")
    UPDATE = "periodic_update", pgettext_lazy("sla target", "Periodic update")
    RESOLUTION = "resolution", pgettext_lazy("sla target", "Resolution")


class SlaPolicy(models.Model):
    """Targets for the tickets it matches; the first active policy (by position) that matches
    a ticket applies. An empty condition matches everything."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    position = models.PositiveIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("is active"), default=True)
    priorities = models.JSONField(
        _("priorities"), default=list, blank=True, help_text=_("Priority numbers (1-4); empty: any.")
    )
    categories = models.ManyToManyField(
        "tickets.Category",
        verbose_name=_("categories"),
        blank=True,
        help_text=_("A category also matches its subcategories; empty: any."),
    )
    channels = models.JSONField(_("channels"), default=list, blank=True, help_text=_("Empty: any."))
    calendar = models.ForeignKey(
        BusinessCalendar,
        verbose_name=_("calendar"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        help_text=_("Empty: the default calendar."),
    )
    first_reply_minutes = models.PositiveIntegerField(_("first reply (minutes)"), null=True, blank=True)
    first_reply_business = models.BooleanField(_("first reply in business hours"), default=True)
    next_reply_minutes = models.PositiveIntegerField(_("next reply (minutes)"), null=True, blank=True)
    next_reply_business = models.BooleanField(_("next reply in business hours"), default=True)
    update_minutes = models.PositiveIntegerField(_("periodic update (minutes)"), null=True, blank=True)
    update_business = models.BooleanField(_("periodic update in business hours"), default=True)
    resolution_minutes = models.PositiveIntegerField(_("resolution (minutes)"), null=True, blank=True)
    resolution_business = models.BooleanField(_("resolution in business hours"), default=True)
    pause_on_hold = models.BooleanField(
        _("pause while on hold"),
        default=True,
        help_text=_(
            "On hold means waiting on a chain or a partner; clocks always pause while waiting for the customer."
        ),
    )
    escalate_on_breach = models.BooleanField(
        _("escalate on breach"),
        default=False,
        help_text=_("Raise the priority by one step when a target is missed."),
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name

    def target(self, kind: str) -> tuple[int | None, bool]:
        """(minutes, in business time) of one timer kind."""
        prefix = {
            TimerKind.FIRST_REPLY: "first_reply",
            TimerKind.NEXT_REPLY: "next_reply",
            TimerKind.UPDATE: "update",
            TimerKind.RESOLUTION: "resolution",
        }[TimerKind(kind)]
        return getattr(self, f"{prefix}_minutes"), getattr(self, f"{prefix}_business")


# An open timer: neither met nor stopped. The one spelling used by queries and the partial
# indexes, so PostgreSQL can prove that a query's filter implies an index's predicate.
OPEN_Q = models.Q(met_at__isnull=True, stopped_at__isnull=True)
# A target's result as the reports count it (docs/reports.md, "sla"): met by its deadline, or
# breached — its deadline passed first, reached late or not yet. Shared by the reports' figures
# and the agents' list that a report's count links to.
MET_Q = models.Q(met_at__isnull=False, breached_at__isnull=True, met_at__lte=models.F("due_at"))
BREACHED_Q = models.Q(breached_at__isnull=False) | models.Q(met_at__gt=models.F("due_at"))


class SlaTimer(models.Model):
    ticket = models.ForeignKey(
        "tickets.Ticket", verbose_name=_("ticket"), on_delete=models.CASCADE, related_name="sla_timers"
    )
    policy = models.ForeignKey(
        SlaPolicy, verbose_name=_("SLA policy"), null=True, on_delete=models.SET_NULL, related_name="timers"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=TimerKind.choices)
    # The calendar the clock runs on (None: elapsed time, the 24/7 clock of security cases
    # and of targets set in calendar time).
    calendar = models.ForeignKey(
        BusinessCalendar, verbose_name=_("calendar"), null=True, blank=True, on_delete=models.SET_NULL
    )
    target_seconds = models.PositiveIntegerField(_("target (seconds)"))
    started_at = models.DateTimeField(_("started at"))
    due_at = models.DateTimeField(_("due at"), null=True, blank=True)  # None while paused
    warn_at = models.DateTimeField(_("warn at"), null=True, blank=True)
    paused_at = models.DateTimeField(_("paused at"), null=True, blank=True)
    remaining_seconds = models.FloatField(
        _("remaining (seconds)"), null=True, blank=True
    )  # working time left while paused
    warn_remaining_seconds = models.FloatField(null=True, blank=True)
    never_pauses = models.BooleanField(
        _("runs 24/7"), default=False
    )  # account-compromised / funds-at-risk cases
    met_at = models.DateTimeField(_("met at"), null=True, blank=True)
    stopped_at = models.DateTimeField(
        _("stopped at"), null=True, blank=True
    )  # no longer applies (resolved, policy gone)
    warned_at = models.DateTimeField(_("warned at"), null=True, blank=True)
    breached_at = models.DateTimeField(_("breached at"), null=True, blank=True)

    class Meta:
        verbose_name = _("SLA timer")
        verbose_name_plural = _("SLA timers")
        ordering = ["started_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["ticket", "kind"], condition=OPEN_Q, name="sla_timer_one_open"),
        ]
        indexes = [
            # The sweep: open, not yet breached, by deadline. Paused rows (due_at null) and
            # met ones are not in the index, so its size is what may still breach.
            models.Index(
                fields=["due_at"], name="sla_timer_due", condition=OPEN_Q & models.Q(breached_at__isnull=True)
            ),
            models.Index(
                fields=["warn_at"],
                name="sla_timer_warn",
                condition=OPEN_Q & models.Q(warned_at__isnull=True, breached_at__isnull=True),
            ),
            models.Index(fields=["ticket", "kind"], name="sla_timer_ticket"),
            # The agents' lists sorted by what is due (kefu/tickets/selectors.py due_page): every
            # running clock, overdue ones included, in deadline order.
            models.Index(
                fields=["due_at", "id"],
                name="sla_timer_running",
                condition=OPEN_Q & models.Q(due_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id}/{self.kind}"

    @property
    def is_open(self) -> bool:
        return self.met_at is None and self.stopped_at is None
