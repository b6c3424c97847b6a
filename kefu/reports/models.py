"""Report rollups: per day (site time zone) aggregates of the ticket figures, so a report over
a year reads a few hundred rows per day instead of a million tickets.

A day's rows are rebuilt from the live tables as a whole (:mod:`kefu.reports.rollups`), never
patched: they equal the live computation by construction. :class:`RollupDay` says which
days are built and still true; a report reads rollup rows only for those days and the live
tables for the rest (today, days not built yet, days changed since their build).
"""

from __future__ import annotations

from django.db import models

from kefu.reports.buckets import BUCKETS


class RollupDay(models.Model):
    """A day whose rollup rows exist (built from the live tables at ``built_at``). Its rows are
    true while no :class:`RollupChange` names the day."""

    day = models.DateField(primary_key=True)
    built_at = models.DateTimeField()
    # The settings the rows were computed with (:func:`kefu.reports.rollups.fingerprint`: the
    # site's time zone, the business calendars, the phone's answer limit). A day built with
    # other settings is read live and rebuilt by the periodic job.
    fingerprint = models.CharField(max_length=64, default="")

    def __str__(self) -> str:
        return f"{self.day}"


class RollupChange(models.Model):
    """Something changed about tickets created on ``day`` (a domain event, in the changing
    transaction): the day's rollup rows are stale until rebuilt. Only inserted — never a
    shared row to lock — and deleted by the rebuild *before* it reads the live tables, so a
    change committed during a rebuild leaves its row behind and the day is rebuilt again."""

    day = models.DateField(db_index=True)
    at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.day}"


class TicketDaily(models.Model):
    """Tickets created (the summary's definition) per day × channel × category × team."""

    day = models.DateField()
    channel = models.CharField(max_length=16)
    category_id = models.BigIntegerField()
    team_id = models.BigIntegerField(null=True)
    created = models.IntegerField()

    class Meta:
        indexes = [models.Index(fields=["day"], name="reports_ticketdaily_day")]

    def __str__(self) -> str:
        return f"{self.day}"


class TicketHourly(models.Model):
    """Tickets created per day × hour of the day (site time zone) × channel × team."""

    day = models.DateField()
    hour = models.SmallIntegerField()
    channel = models.CharField(max_length=16)
    team_id = models.BigIntegerField(null=True)
    created = models.IntegerField()

    class Meta:
        indexes = [models.Index(fields=["day"], name="reports_tickethourly_day")]

    def __str__(self) -> str:
        return f"{self.day}"


class DurationDaily(models.Model):
    """Durations (first reply, resolution; calendar and business time) of the tickets created
    that day, per team × assignee: their count, exact sum, and counts per fixed log-spaced
    bucket (``b0`` … ``b79``, :mod:`kefu.reports.buckets`)."""

    day = models.DateField()
    team_id = models.BigIntegerField(null=True)
    agent_id = models.BigIntegerField(null=True)
    # A slice for one channel or one category ("" / None: every one). A ticket's durations are in
    # the day's row for all channels and categories, and again in its channel's and in its
    # category's and its parent category's (a category's slice holds its sub-categories' tickets,
    # as the category filter reads them): a filter by either reads one slice, rows bounded by
    # agents a day.
    channel = models.CharField(max_length=16, blank=True, default="")
    category_id = models.BigIntegerField(null=True)
    measure = models.CharField(max_length=24)
    count = models.IntegerField()
    total_seconds = models.FloatField()
    locals().update({f"b{k}": models.IntegerField(default=0) for k in range(BUCKETS)})

    class Meta:
        indexes = [
            models.Index(fields=["day"], name="reports_durationdaily_day"),
            # The rows of every channel and category (most reads): not the slices' eight times more.
            models.Index(
                fields=["day", "measure"],
                condition=models.Q(channel="", category_id__isnull=True),
                name="reports_duration_all",
            ),
            models.Index(fields=["channel", "day"], name="reports_duration_channel"),
            models.Index(fields=["category_id", "day"], name="reports_duration_category"),
        ]

    def __str__(self) -> str:
        return f"{self.day}"


class SlaDaily(models.Model):
    """SLA targets met and breached (the summary's definitions) of the tickets created that
    day, per target × team × assignee, and the same again per channel and per category (slices,
    as :class:`DurationDaily`'s)."""

    day = models.DateField()
    kind = models.CharField(max_length=20)
    team_id = models.BigIntegerField(null=True)
    agent_id = models.BigIntegerField(null=True)
    channel = models.CharField(max_length=16, blank=True, default="")
    category_id = models.BigIntegerField(null=True)
    met = models.IntegerField()
    breached = models.IntegerField()

    class Meta:
        indexes = [
            models.Index(fields=["day"], name="reports_sladaily_day"),
            models.Index(
                fields=["day"],
                condition=models.Q(channel="", category_id__isnull=True),
                name="reports_sla_all",
            ),
            models.Index(fields=["channel", "day"], name="reports_sla_channel"),
            models.Index(fields=["category_id", "day"], name="reports_sla_category"),
        ]

    def __str__(self) -> str:
        return f"{self.day}"


class BacklogDaily(models.Model):
    """Tickets created that day that were open (the backlog's definition) when the day was built,
    per team × assignee, and per channel, per category and per channel × category (slices, as
    :class:`DurationDaily`'s; a category's hold its sub-categories' tickets).
    While no :class:`RollupChange` names the day they are still open now: a status change,
    reassignment, reclassification or merge of such a ticket marks its creation day."""

    day = models.DateField()
    team_id = models.BigIntegerField(null=True)
    agent_id = models.BigIntegerField(null=True)
    channel = models.CharField(max_length=16, blank=True, default="")
    category_id = models.BigIntegerField(null=True)
    open = models.IntegerField()

    class Meta:
        indexes = [
            models.Index(
                fields=["day"],
                condition=models.Q(channel="", category_id__isnull=True),
                name="reports_backlog_all",
            ),
            models.Index(fields=["channel", "day"], name="reports_backlog_channel"),
            # A category's slice (channel "") and its slices per channel.
            models.Index(fields=["category_id", "channel", "day"], name="reports_backlog_category"),
        ]

    def __str__(self) -> str:
        return f"{self.day}"


class CsatDaily(models.Model):
    """Satisfaction surveys answered that day (and positive ones) and offered that day."""

    day = models.DateField(primary_key=True)
    responses = models.IntegerField()
    positive = models.IntegerField()
    sent = models.IntegerField()

    def __str__(self) -> str:
        return f"{self.day}"


class OpsDaily(models.Model):
    """The additive parts of an operations figure (:mod:`kefu.reports.metrics`, "Operations
    families") for one day: per figure × team × agent × key (a part's name, an intent, a
    reason, a channel), a value — summed over the days of a period (``peak``: their maximum)."""

    day = models.DateField()
    figure = models.CharField(max_length=24)
    team_id = models.BigIntegerField(null=True)
    agent_id = models.BigIntegerField(null=True)
    key = models.CharField(max_length=100)
    value = models.FloatField()

    class Meta:
        indexes = [models.Index(fields=["figure", "day"], name="reports_opsdaily_figure_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.figure}"


class TicketFact(models.Model):
    """One row per ticket of a rolled-up day (the finest grain): its dimensions and its four
    durations (first reply and resolution, calendar and business seconds; None: not reached)
    and its SLA targets. Read for the figures filtered outside the daily tables' grains
    (response times or SLA by channel or category, volume by agent), so that business times
    are never recomputed for a report."""

    day = models.DateField()
    ticket_id = models.BigIntegerField()
    hour = models.SmallIntegerField()
    channel = models.CharField(max_length=16)
    category_id = models.BigIntegerField()
    team_id = models.BigIntegerField(null=True)
    agent_id = models.BigIntegerField(null=True)
    first_reply = models.FloatField(null=True)
    first_reply_business = models.FloatField(null=True)
    resolution = models.FloatField(null=True)
    resolution_business = models.FloatField(null=True)
    # Per SLA target kind: the ticket's timers, those met and those breached (SlaDaily's
    # definitions), for SLA figures filtered by channel or category.
    locals().update(
        {
            f"sla_{kind}_{part}": models.SmallIntegerField(default=0)
            for kind in ("first_reply", "next_reply", "periodic_update", "resolution")
            for part in ("timers", "met", "breached")
        }
    )

    class Meta:
        indexes = [
            models.Index(fields=["day"], name="reports_ticketfact_day"),
            # The filters outside the daily tables' grains (a day's rows are stored in this order).
            models.Index(fields=["channel", "day"], name="reports_ticketfact_channel"),
            models.Index(fields=["category_id", "day"], name="reports_ticketfact_category"),
            models.Index(fields=["agent_id", "day"], name="reports_ticketfact_agent"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.ticket_id}"
