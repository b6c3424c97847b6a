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
- Times are calendar (elapsed) seconds unless a figure says business time: the seconds inside
  the business calendar of the ticket's SLA timer for that target (its policy's calendar), or
  the default calendar when the timer has none (a 24/7 target) or there is no timer — measured
  by the same arithmetic the SLA clocks use (``kefu.calendars.arithmetic``).

The framework (for every report family, this section's and the operations' ones):

**Filters.** :class:`Window` carries the period and optional filters: ``team`` (a Team pk),
``channel`` (a Channel value), ``category`` (a category slug; its sub-categories too) and
``agent`` (the assignee's User pk). A metric declares the filters it honours
(``filters=...`` in :func:`metric`, default :data:`ALL_FILTERS`); the page says which filters
a figure ignored. :func:`tickets_in` applies every filter the window carries.

**Families.** :func:`family` registers a report page, ``/reports/<key>/`` (tabs in
registration order; the summary stays the first page, ``/reports/``). A metric with
``family="<key>"`` is a panel on that page, in registration order; one without a family is a
summary figure (the summary API and page). To add a family: ``family("chat", _("Live
chat"))`` then ``@metric("chat_wait", family="chat", chart="bar", label=..., definition=...,
filters=frozenset())``.

**Result contract of a family panel** (what the page, its charts, the drill-down and the
CSV/Excel exports read generically — build it with :func:`table` and :func:`column`)::

    {"columns": [{"key": "name", "label": "Channel", "unit": ""},
                 {"key": "count", "label": "Tickets", "unit": "count", "drill": True}],
     "rows": [{"name": "Email", "count": 3, "drill": {"channel": "email"}}, ...],
     "chart": "bar" | "column" | "line" | "stacked" | "",   # "" = table only
     "marks": [{"name": "Outage", "start": "2026-11-03", "end": "2026-11-04"}],  # line charts
     "note": ""}

The first column names the row (the chart's category axis, the x of a line); every column
with a ``unit`` (``count``, ``seconds``, ``percent``) is a number and a series of the chart
(seconds are drawn in minutes, shown as durations in tables); ``None`` is "no value". A
column with ``drill`` links each cell to the tickets behind it: the page's filters and
period, narrowed by the row's ``drill`` parameters (``channel``, ``category`` slug, ``team``
pk, ``agent`` pk, ``day`` ISO date, ``status``: "active"); a row without ``drill`` has no
link. ``marks`` are date ranges drawn over a line chart (announcements, incidents).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from kefu.reports import rollups
from kefu.sla.models import TimerKind
from kefu.tickets.models import ACTIVE_Q, VISIBLE_Q, Category, Channel, Ticket

# A survey answer at or above this rating (of 5) is positive.
POSITIVE_RATING = 4


FILTER_NAMES = ("team", "channel", "category", "agent")
ALL_FILTERS: frozenset[str] = frozenset(FILTER_NAMES)
NO_FILTERS: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Window:
    """``since`` ≤ t < ``until`` (both aware), and optional filters (None: everything)."""

    since: datetime
    until: datetime
    team: int | None = None  # Team pk
    channel: str | None = None  # Channel value
    category: str | None = None  # category slug (its sub-categories too)
    agent: int | None = None  # the assignee's User pk

    def active_filters(self) -> frozenset[str]:
        return frozenset(name for name in FILTER_NAMES if getattr(self, name) is not None)


@dataclass(frozen=True)
class Family:
    key: str
    label: Promise


FAMILIES: dict[str, Family] = {}


def family(key: str, label: Promise) -> Family:
    """Register a report page ``/reports/<key>/`` (tabs in registration order)."""
    FAMILIES[key] = Family(key=key, label=label)
    return FAMILIES[key]


@dataclass(frozen=True)
class Metric:
    key: str
    label: Promise
    definition: Promise
    compute: Callable[[Window], dict[str, Any]]
    filters: frozenset[str] = ALL_FILTERS  # the Window filters this figure honours
    family: str = ""  # "" = a summary figure
    chart: str = ""


METRICS: dict[str, Metric] = {}


def metric(
    key: str,
    *,
    label: Promise,
    definition: Promise,
    filters: frozenset[str] = ALL_FILTERS,
    family: str = "",
    chart: str = "",
) -> Callable[..., Any]:
    def register(fn: Callable[[Window], dict[str, Any]]) -> Callable[[Window], dict[str, Any]]:
        METRICS[key] = Metric(
            key=key,
            label=label,
            definition=definition,
            compute=fn,
            filters=filters,
            family=family,
            chart=chart,
        )
        return fn

    return register


def panels(family_key: str) -> list[Metric]:
    """The metrics shown on a family's page, in registration order."""
    return [entry for entry in METRICS.values() if entry.family == family_key]


def column(key: str, label: Promise | str, unit: str = "", *, drill: bool = False) -> dict[str, Any]:
    return {"key": key, "label": str(label), "unit": unit, "drill": drill}


def table(
    columns: list[dict[str, Any]],
    rows: list[dict[str, Any]],
    *,
    chart: str = "",
    marks: list[dict[str, Any]] | None = None,
    note: str = "",
) -> dict[str, Any]:
    """A family panel's result (the contract in the module docstring)."""
    return {"columns": columns, "rows": rows, "chart": chart, "marks": marks or [], "note": note}


def category_ids(slug: str) -> QuerySet[Category]:
    """A category and its sub-categories (as the agents' search filter reads a category)."""
    return Category.objects.filter(Q(slug=slug) | Q(parent__slug=slug)).values("pk")


def filtered(qs: QuerySet[Ticket], window: Window, prefix: str = "") -> QuerySet[Ticket]:
    """``qs`` (tickets, or rows reaching a ticket through ``prefix``) narrowed by the window's
    filters."""
    if window.team is not None:
        qs = qs.filter(**{f"{prefix}team_id": window.team})
    if window.channel is not None:
        qs = qs.filter(**{f"{prefix}channel": window.channel})
    if window.category is not None:
        qs = qs.filter(**{f"{prefix}category_id__in": category_ids(window.category)})
    if window.agent is not None:
        qs = qs.filter(**{f"{prefix}assignee_id": window.agent})
    return qs


def tickets_in(window: Window) -> QuerySet[Ticket]:
    """The tickets a report counts for ``window`` (the shared rules above), filtered."""
    return filtered(
        Ticket.objects.filter(
            VISIBLE_Q, merged_into__isnull=True, created_at__gte=window.since, created_at__lt=window.until
        ),
        window,
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
    # One GROUP BY (channel, category) of the live part, rollup rows for whole days: summed here.
    by_channel: dict[str, int] = {}
    by_category: dict[str, int] = {}
    for (channel, category), n in rollups.ticket_counts(window, "channel", "category").items():
        by_channel[channel] = by_channel.get(channel, 0) + n
        by_category[category] = by_category.get(category, 0) + n
    return {
        "total": sum(by_channel.values()),
        "by_channel": dict(sorted(by_channel.items())),
        "by_category": dict(sorted(by_category.items())),
    }


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
    # Exact percentiles (interpolated) over live rows; from buckets once rolled-up days count.
    durations = rollups.durations(window, "first_reply", "all").get(None, rollups.NO_DURATIONS)
    return {"count": durations.count, "median": durations.percentile(0.5), "p90": durations.percentile(0.9)}


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
    by_target = {
        kind: {"met": met, "breached": breached}
        for kind, (met, breached) in rollups.sla_counts(window, "target").items()
    }
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
    # A chat's survey has no ticket to filter by; the filters apply to the ticket figures.
    filters=NO_FILTERS,
)
def csat(window: Window) -> dict[str, Any]:
    """Satisfaction surveys (chats and tickets) answered in the period, by answer time:
    responses, and positive ones (rated 4 or 5 of 5); sent: surveys offered in the period."""
    return rollups.csat_counts(window)


# --- ticket families: volume, response times, service levels, backlog ---------------------------
#
# Each figure reads its aggregates through kefu.reports.rollups: whole days already rolled up
# come from the rollup tables, the rest (today, days not built yet or changed since) from the
# live tables, with the same definitions (tests/test_rollups.py checks both agree).

family("volume", _("Volume"))
family("times", _("Response times"))
family("service_levels", _("Service levels"))
family("backlog", _("Backlog"))


def _names(dimension: str, keys: list[Any]) -> dict[Any, str]:
    """Display names, in the active language, of a dimension's keys."""
    from kefu.accounts.models import Team, User

    language = get_language() or "en"
    if dimension == "channel":
        labels = {value: str(label) for value, label in Channel.choices}
        return {key: labels.get(key, key) for key in keys}
    if dimension == "category":
        rows = Category.objects.filter(slug__in=[k for k in keys if k])
        return {c.slug: c.localized_name(language) for c in rows}
    if dimension == "team":
        return {t.pk: t.localized_name(language) for t in Team.objects.filter(pk__in=[k for k in keys if k])}
    if dimension == "agent":
        return {
            u.pk: (u.get_full_name() or u.email) for u in User.objects.filter(pk__in=[k for k in keys if k])
        }
    if dimension == "target":
        labels = {value: str(label) for value, label in TimerKind.choices}
        return {key: labels.get(key, key) for key in keys}
    return {key: str(key) for key in keys}


def _nobody(dimension: str) -> str:
    return str(_("No team")) if dimension == "team" else str(_("Unassigned"))


def _counts_table(counts: dict[Any, int], dimension: str, label: Promise, chart: str) -> dict[str, Any]:
    names = _names(dimension, list(counts))
    rows = [
        {
            "name": names.get(key) or (_nobody(dimension) if key is None else str(key)),
            "count": n,
            "drill": {dimension: key},
        }
        for key, n in sorted(counts.items(), key=lambda item: (-item[1], str(item[0])))
    ]
    return table(
        [column("name", label), column("count", _("Tickets"), "count", drill=True)], rows, chart=chart
    )


@metric(
    "volume_by_channel",
    family="volume",
    chart="bar",
    label=_("Tickets by channel"),
    definition=_(
        "Tickets created in the period (as counted in the summary), by the channel where the case started."
    ),
)
def volume_by_channel(window: Window) -> dict[str, Any]:
    """Tickets created in the period (as counted in the summary), by the channel where the case started."""
    return _counts_table(rollups.ticket_counts(window, "channel"), "channel", _("Channel"), "bar")


@metric(
    "volume_by_category",
    family="volume",
    chart="bar",
    label=_("Tickets by category"),
    definition=_("Tickets created in the period, by their current category."),
)
def volume_by_category(window: Window) -> dict[str, Any]:
    """Tickets created in the period, by their current category."""
    return _counts_table(rollups.ticket_counts(window, "category"), "category", _("Category"), "bar")


def _announcement_marks(window: Window) -> list[dict[str, Any]]:
    """Published announcements and incidents overlapping the period, as date ranges (site zone)."""
    from kefu.helpcenter.models import Announcement

    language = get_language() or "en"
    rows = Announcement.objects.filter(is_published=True, starts_at__lt=window.until).filter(
        Q(ends_at__isnull=True) | Q(ends_at__gt=window.since)
    )
    last_day = timezone.localdate(window.until - timedelta(microseconds=1))
    marks = []
    for row in rows.order_by("starts_at")[:20]:
        start = max(timezone.localdate(row.starts_at), timezone.localdate(window.since))
        end = min(timezone.localdate(row.ends_at), last_day) if row.ends_at else last_day
        marks.append(
            {
                "name": row.title_for(language),
                "kind": row.kind,
                "start": start.isoformat(),
                "end": end.isoformat(),
            }
        )
    return marks


@metric(
    "volume_by_day",
    family="volume",
    chart="line",
    label=_("Tickets by day"),
    definition=_(
        "Tickets created on each day of the period (days in the site's time zone); announcements "
        "and incidents published for customers are shaded over the days they ran."
    ),
)
def volume_by_day(window: Window) -> dict[str, Any]:
    """Tickets created on each day of the period (days in the site's time zone); announcements
    and incidents published for customers are shaded over the days they ran."""
    counts = rollups.ticket_counts(window, "day")
    rows = []
    day = timezone.localdate(window.since)
    last = timezone.localdate(window.until - timedelta(microseconds=1))
    while day <= last:
        rows.append({"name": day.isoformat(), "count": counts.get(day, 0), "drill": {"day": day.isoformat()}})
        day += timedelta(days=1)
    return table(
        [column("name", _("Day")), column("count", _("Tickets"), "count", drill=True)],
        rows,
        chart="line",
        marks=_announcement_marks(window),
    )


@metric(
    "volume_by_hour",
    family="volume",
    chart="column",
    label=_("Tickets by hour of day"),
    definition=_(
        "Tickets created in the period by the hour of the day (site's time zone) they were opened, all days together."
    ),
)
def volume_by_hour(window: Window) -> dict[str, Any]:
    """Tickets created in the period by the hour of the day (site's time zone) they were opened, all days together."""
    counts = rollups.ticket_counts(window, "hour")
    rows = [{"name": f"{hour:02d}:00", "count": counts.get(hour, 0)} for hour in range(24)]
    return table([column("name", _("Hour")), column("count", _("Tickets"), "count")], rows, chart="column")


def _times_table(window: Window, measure: str, dimension: str, label: Promise) -> dict[str, Any]:
    calendar = rollups.durations(window, measure, dimension)
    business = rollups.durations(window, measure + "_business", dimension)
    names = _names(dimension, list(calendar))
    rows = []
    for key, stats in sorted(calendar.items(), key=lambda item: (names.get(item[0]) or "", str(item[0]))):
        other = business.get(key) or rollups.NO_DURATIONS
        rows.append(
            {
                "name": names.get(key) or _nobody(dimension),
                "count": stats.count,
                "median": stats.percentile(0.5),
                "p90": stats.percentile(0.9),
                "business_median": other.percentile(0.5),
                "business_p90": other.percentile(0.9),
                "drill": {dimension: key},
            }
        )
    return table(
        [
            column("name", label),
            column("count", _("Tickets"), "count", drill=True),
            column("median", _("Median"), "seconds"),
            column("p90", _("90th percentile"), "seconds"),
            column("business_median", _("Median, business time"), "seconds"),
            column("business_p90", _("90th percentile, business time"), "seconds"),
        ],
        rows,
        chart="bar",
    )


FIRST_REPLY_BY = _(
    "Tickets created in the period that have a first reply; time from creation to the first "
    "public reply by a person on the support team, in calendar time and in business time (the "
    "calendar of the ticket's first-reply SLA target, else the default calendar); median and "
    "90th percentile. By team and by agent: the case's team and assignee now."
)
RESOLUTION_BY = _(
    "Tickets created in the period that are resolved (or closed after resolution); time from "
    "creation to the latest resolution, in calendar time and in business time (the calendar "
    "of the ticket's resolution SLA target, else the default calendar); median and 90th "
    "percentile. By team and by agent: the case's team and assignee now."
)


@metric(
    "first_reply_by_team",
    family="times",
    chart="bar",
    label=_("First reply by team"),
    definition=FIRST_REPLY_BY,
)
def first_reply_by_team(window: Window) -> dict[str, Any]:
    """Tickets created in the period that have a first reply; time from creation to the first public reply
    by a person on the support team, in calendar time and in business time (the calendar of the ticket's
    first-reply SLA target, else the default calendar); median and 90th percentile. By team and by
    agent: the case's team and assignee now."""
    return _times_table(window, "first_reply", "team", _("Team"))


@metric(
    "first_reply_by_agent",
    family="times",
    chart="bar",
    label=_("First reply by agent"),
    definition=FIRST_REPLY_BY,
)
def first_reply_by_agent(window: Window) -> dict[str, Any]:
    """Tickets created in the period that have a first reply; time from creation to the first public reply
    by a person on the support team, in calendar time and in business time (the calendar of the ticket's
    first-reply SLA target, else the default calendar); median and 90th percentile. By team and by
    agent: the case's team and assignee now."""
    return _times_table(window, "first_reply", "agent", _("Agent"))


@metric(
    "resolution_by_team", family="times", chart="bar", label=_("Resolution by team"), definition=RESOLUTION_BY
)
def resolution_by_team(window: Window) -> dict[str, Any]:
    """Tickets created in the period that are resolved (or closed after resolution); time from creation to
    the latest resolution, in calendar time and in business time (the calendar of the ticket's
    resolution SLA target, else the default calendar); median and 90th percentile. By team and by agent:
    the case's team and assignee now."""
    return _times_table(window, "resolution", "team", _("Team"))


@metric(
    "resolution_by_agent",
    family="times",
    chart="bar",
    label=_("Resolution by agent"),
    definition=RESOLUTION_BY,
)
def resolution_by_agent(window: Window) -> dict[str, Any]:
    """Tickets created in the period that are resolved (or closed after resolution); time from creation to
    the latest resolution, in calendar time and in business time (the calendar of the ticket's
    resolution SLA target, else the default calendar); median and 90th percentile. By team and by agent:
    the case's team and assignee now."""
    return _times_table(window, "resolution", "agent", _("Agent"))


def _sla_table(window: Window, dimension: str, label: Promise) -> dict[str, Any]:
    counts = rollups.sla_counts(window, dimension)
    names = _names(dimension, list(counts))
    rows = []
    for key, (met, breached) in sorted(
        counts.items(), key=lambda item: (names.get(item[0]) or "", str(item[0]))
    ):
        decided = met + breached
        rows.append(
            {
                "name": names.get(key) or _nobody(dimension),
                "met": met,
                "breached": breached,
                "achievement": round(100 * met / decided, 1) if decided else None,
                "drill": {dimension: key} if dimension != "target" else None,
            }
        )
    return table(
        [
            column("name", label),
            column("met", _("Met"), "count"),
            column("breached", _("Breached"), "count"),
            column("achievement", _("Achievement"), "percent"),
        ],
        rows,
        chart="stacked",
    )


SLA_BY = _(
    "SLA targets of tickets created in the period (as in the summary): met by the deadline, or "
    "breached; achievement is met ÷ (met + breached). Targets still running are neither."
)


@metric(
    "sla_by_target", family="service_levels", chart="stacked", label=_("SLA by target"), definition=SLA_BY
)
def sla_by_target(window: Window) -> dict[str, Any]:
    """SLA targets of tickets created in the period (as in the summary): met by the deadline, or breached;
    achievement is met ÷ (met + breached). Targets still running are neither."""
    return _sla_table(window, "target", _("Target"))


@metric("sla_by_team", family="service_levels", chart="stacked", label=_("SLA by team"), definition=SLA_BY)
def sla_by_team(window: Window) -> dict[str, Any]:
    """SLA targets of tickets created in the period (as in the summary): met by the deadline, or breached;
    achievement is met ÷ (met + breached). Targets still running are neither."""
    return _sla_table(window, "team", _("Team"))


# Backlog age buckets: (upper bound in hours, label); the last has no bound.
AGE_BUCKETS: tuple[tuple[float | None, Promise], ...] = (
    (1, _("under 1 hour")),
    (4, _("1–4 hours")),
    (24, _("4–24 hours")),
    (72, _("1–3 days")),
    (168, _("3–7 days")),
    (None, _("over 7 days")),
)
BACKLOG = _(
    "Open tickets now (new, open, waiting for the customer or on hold; not with the bot, not "
    "merged), whatever the period: by how long ago they were created."
)


def backlog_in(window: Window) -> QuerySet[Ticket]:
    return filtered(Ticket.objects.filter(ACTIVE_Q, VISIBLE_Q, merged_into__isnull=True), window)


@metric("backlog_age", family="backlog", chart="column", label=_("Backlog by age"), definition=BACKLOG)
def backlog_age(window: Window) -> dict[str, Any]:
    """Open tickets now (new, open, waiting for the customer or on hold; not with the bot, not merged),
    whatever the period: by how long ago they were created."""
    now = timezone.now()
    aggregates: dict[str, Any] = {}
    lower = None
    for index, (hours, _label) in enumerate(AGE_BUCKETS):
        condition = Q()
        if hours is not None:
            condition &= Q(created_at__gt=now - timedelta(hours=hours))
        if lower is not None:
            condition &= Q(created_at__lte=now - timedelta(hours=lower))
        aggregates[f"b{index}"] = Count("id", filter=condition)
        lower = hours
    counts = backlog_in(window).aggregate(**aggregates)  # one query, one pass
    rows = [{"name": str(label), "count": counts[f"b{i}"]} for i, (_h, label) in enumerate(AGE_BUCKETS)]
    total = sum(row["count"] for row in rows)
    rows.append({"name": str(_("All open tickets")), "count": total, "drill": {"status": "active"}})
    return table(
        [column("name", _("Age")), column("count", _("Tickets"), "count", drill=True)], rows, chart="column"
    )


@metric("backlog_by_team", family="backlog", chart="bar", label=_("Backlog by team"), definition=BACKLOG)
def backlog_by_team(window: Window) -> dict[str, Any]:
    """Open tickets now (new, open, waiting for the customer or on hold; not with the bot, not merged),
    whatever the period: by how long ago they were created."""
    counts = {
        row["team_id"]: row["n"]
        for row in backlog_in(window).values("team_id").annotate(n=Count("id")).order_by()
    }
    result = _counts_table(counts, "team", _("Team"), "bar")
    for row in result["rows"]:
        row["drill"] = {**row["drill"], "status": "active"}
    return result


def summary(window: Window) -> dict[str, Any]:
    """Every summary figure for ``window`` (a fixed number of queries: about six)."""
    return {key: entry.compute(window) for key, entry in METRICS.items() if not entry.family}


def definitions() -> dict[str, dict[str, str]]:
    """Each summary figure's label and definition in the active language (the hover text)."""
    return {
        key: {"label": str(entry.label), "definition": str(entry.definition)}
        for key, entry in METRICS.items()
        if not entry.family
    }


DEFAULT_DAYS = 30
# Periods are refused outside these years: date arithmetic near year 1 or 9999 (a default
# start 30 days earlier, the time zone's offset, the database's UTC) overflows.
EARLIEST_YEAR, LATEST_YEAR = 1970, 9000


def plausible(moment: date | datetime) -> bool:
    return EARLIEST_YEAR <= moment.year < LATEST_YEAR


def default_window(now: datetime) -> Window:
    return Window(since=now - timedelta(days=DEFAULT_DAYS), until=now)
