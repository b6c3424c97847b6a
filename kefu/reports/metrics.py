"""Every reported figure, defined once.

Each metric is a function over a :class:`Window` that aggregates in the database (a fixed
number of queries, whatever the number of tickets: no per-ticket Python). Its docstring is its
definition, and ``definition`` holds the same words translatable, for the report pages' hover
text and the API's ``definitions`` (a test keeps the two identical). Figures are checked in
``tests/test_summary.py`` against values computed by hand.

Shared rules:

- A *ticket* is a case past the bot's stage (``VISIBLE_Q``: a conversation with the bot
  becomes a ticket at its hand-off) that was not merged into another case (a merged duplicate
  is the same customer problem, counted once, in the surviving case).
- Tickets are counted by their creation time: ``since`` ≤ ``created_at`` < ``until``. A case
  handed off by the bot keeps the creation time of its conversation, as its SLA clocks do.
- Times are calendar (elapsed) seconds.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, QuerySet
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from kefu.csat.models import CsatSurvey
from kefu.sla.models import SlaTimer
from kefu.tickets.models import VISIBLE_Q, Ticket

# A survey answer at or above this rating (of 5) is positive.
POSITIVE_RATING = 4


@dataclass(frozen=True)
class Window:
    """``since`` ≤ t < ``until`` (both aware)."""

    since: datetime
    until: datetime


@dataclass(frozen=True)
class Metric:
    key: str
    label: Promise
    definition: Promise
    compute: Callable[[Window], dict[str, Any]]


METRICS: dict[str, Metric] = {}


def metric(key: str, *, label: Promise, definition: Promise) -> Callable[..., Any]:
    def register(fn: Callable[[Window], dict[str, Any]]) -> Callable[[Window], dict[str, Any]]:
        METRICS[key] = Metric(key=key, label=label, definition=definition, compute=fn)
        return fn

    return register


def tickets_in(window: Window) -> QuerySet[Ticket]:
    """The tickets a report counts for ``window`` (the shared rules above)."""
    return Ticket.objects.filter(
        VISIBLE_Q, merged_into__isnull=True, created_at__gte=window.since, created_at__lt=window.until
    )


@metric(
    "tickets_created",
    label=_("Tickets created"),
    definition=_(
        "Tickets opened in the period, by creation time, on every channel; a conversation with "
        "the bot counts once handed off to a person, a duplicate merged into another case does "
        "not count. By channel: where the case started; by category: its current category."
    ),
)
def tickets_created(window: Window) -> dict[str, Any]:
    """Tickets opened in the period, by creation time, on every channel; a conversation with
    the bot counts once handed off to a person, a duplicate merged into another case does
    not count. By channel: where the case started; by category: its current category."""
    # One GROUP BY (channel, category): at most channels x categories rows, summed here.
    rows = tickets_in(window).values("channel", "category__slug").annotate(n=Count("id")).order_by()
    by_channel: dict[str, int] = {}
    by_category: dict[str, int] = {}
    for row in rows:
        by_channel[row["channel"]] = by_channel.get(row["channel"], 0) + row["n"]
        by_category[row["category__slug"]] = by_category.get(row["category__slug"], 0) + row["n"]
    return {
        "total": sum(by_channel.values()),
        "by_channel": dict(sorted(by_channel.items())),
        "by_category": dict(sorted(by_category.items())),
    }


def _percentiles(durations: QuerySet[Any], count: int, fractions: tuple[float, ...]) -> list[float]:
    """Continuous percentiles (linear interpolation between the two nearest ranks, as SQL's
    ``percentile_cont`` and spreadsheets' PERCENTILE): position ``p * (n - 1)`` in ascending
    order. PostgreSQL computes them in one query; elsewhere each is one ``ORDER BY ... LIMIT
    2 OFFSET k`` query (the database sorts, two values come back)."""
    if connection.vendor == "postgresql":
        sql, params = durations.values_list("duration", flat=True).query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT percentile_cont(%s::float8[]) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM d)::float8) "
                f"FROM ({sql}) AS durations(d)",
                [list(fractions), *params],
            )
            return [float(value) for value in cursor.fetchone()[0]]
    values = []
    ordered = durations.order_by("duration").values_list("duration", flat=True)
    for fraction in fractions:
        position = fraction * (count - 1)
        low = math.floor(position)
        pair = [d.total_seconds() for d in ordered[low : low + 2]]
        high = pair[1] if len(pair) > 1 else pair[0]
        values.append(pair[0] + (high - pair[0]) * (position - low))
    return values


@metric(
    "first_reply_seconds",
    label=_("First reply time"),
    definition=_(
        "Seconds from a ticket's creation to the first public reply by a person on the support "
        "team (never the bot, a system message or an internal note: the reply that meets the "
        "SLA's first-reply target), for tickets created in the period that have one; median and "
        "90th percentile, interpolated."
    ),
)
def first_reply_seconds(window: Window) -> dict[str, Any]:
    """Seconds from a ticket's creation to the first public reply by a person on the support
    team (never the bot, a system message or an internal note: the reply that meets the
    SLA's first-reply target), for tickets created in the period that have one; median and
    90th percentile, interpolated."""
    durations = (
        tickets_in(window)
        .filter(first_response_at__isnull=False)
        .annotate(
            duration=ExpressionWrapper(F("first_response_at") - F("created_at"), output_field=DurationField())
        )
    )
    count = durations.count()
    if not count:
        return {"count": 0, "median": None, "p90": None}
    median, p90 = _percentiles(durations, count, (0.5, 0.9))
    return {"count": count, "median": round(median, 1), "p90": round(p90, 1)}


@metric(
    "sla",
    label=_("Service levels"),
    definition=_(
        "SLA targets of tickets created in the period: met means reached by its deadline; "
        "breached means its deadline passed first (reached late or not yet). Targets still "
        "running in time, and those stopped without a result (a merged case), are neither."
    ),
)
def sla(window: Window) -> dict[str, Any]:
    """SLA targets of tickets created in the period: met means reached by its deadline;
    breached means its deadline passed first (reached late or not yet). Targets still
    running in time, and those stopped without a result (a merged case), are neither."""
    met = Q(met_at__isnull=False, breached_at__isnull=True, met_at__lte=F("due_at"))
    breached = Q(breached_at__isnull=False) | Q(met_at__gt=F("due_at"))
    rows = (
        SlaTimer.objects.filter(ticket__in=tickets_in(window))
        .values("kind")
        .annotate(met=Count("id", filter=met), breached=Count("id", filter=breached))
        .order_by()
    )
    by_target = {row["kind"]: {"met": row["met"], "breached": row["breached"]} for row in rows}
    return {
        "met": sum(v["met"] for v in by_target.values()),
        "breached": sum(v["breached"] for v in by_target.values()),
        "by_target": dict(sorted(by_target.items())),
    }


@metric(
    "csat",
    label=_("Customer satisfaction"),
    definition=_(
        "Satisfaction surveys (chats and tickets) answered in the period, by answer time: "
        "responses, and positive ones (rated 4 or 5 of 5); sent: surveys offered in the period."
    ),
)
def csat(window: Window) -> dict[str, Any]:
    """Satisfaction surveys (chats and tickets) answered in the period, by answer time:
    responses, and positive ones (rated 4 or 5 of 5); sent: surveys offered in the period."""
    answered = Q(rating__isnull=False, answered_at__gte=window.since, answered_at__lt=window.until)
    offered = Q(created_at__gte=window.since, created_at__lt=window.until)
    counts = CsatSurvey.objects.filter(answered | offered).aggregate(
        responses=Count("id", filter=answered),
        positive=Count("id", filter=answered & Q(rating__gte=POSITIVE_RATING)),
        sent=Count("id", filter=offered),
    )
    return {"responses": counts["responses"], "positive": counts["positive"], "sent": counts["sent"]}


def summary(window: Window) -> dict[str, Any]:
    """Every metric for ``window`` (a fixed number of queries: about six)."""
    return {key: entry.compute(window) for key, entry in METRICS.items()}


def definitions() -> dict[str, dict[str, str]]:
    """Each metric's label and definition in the active language (the pages' hover text)."""
    return {
        key: {"label": str(entry.label), "definition": str(entry.definition)}
        for key, entry in METRICS.items()
    }


DEFAULT_DAYS = 30
# Periods are refused outside these years: date arithmetic near year 1 or 9999 (a default
# start 30 days earlier, the time zone's offset, the database's UTC) overflows.
EARLIEST_YEAR, LATEST_YEAR = 1970, 9000


def plausible(moment: date | datetime) -> bool:
    return EARLIEST_YEAR <= moment.year < LATEST_YEAR


def default_window(now: datetime) -> Window:
    return Window(since=now - timedelta(days=DEFAULT_DAYS), until=now)
