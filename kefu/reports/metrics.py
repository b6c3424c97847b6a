"""Every reported figure, defined once.

Each metric is a function over a :class:`Window` that aggregates in the database (a fixed
number of queries, whatever the number of tickets: no per-ticket Python). Its definition is
written once, translatable, in ``definition=`` of :func:`metric` — the report pages' hover text
and the API's ``definitions`` — and not repeated in a docstring. Figures are checked in
``tests/test_summary.py`` against values computed by hand.

Shared rules:

- A *ticket* is a case past the bot's stage (``VISIBLE_Q``: a conversation with the bot
  becomes a ticket at its hand-off) that was not merged into another case (a merged duplicate
  is the same customer problem, counted once, in the surviving case).
- Tickets are counted by their creation time: ``since`` ≤ ``created_at`` < ``until``. A case
  handed off by the bot is created at its hand-off (when people were asked, as its SLA clocks
  and queues count; ``kefu.tickets.stages.do_open_to_humans``), not when its conversation began.
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
pk, ``agent`` pk, ``day`` ISO date, ``status``: "active", ``sla``: "met"/"breached",
``sla_target``: a target kind) and the column's ``narrow`` parameters (:func:`column`); a row
without ``drill`` has no link. ``marks`` are date ranges drawn over a line chart
(announcements, incidents).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import (
    Avg,
    Case,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    FloatField,
    Func,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.fields.json import KT
from django.db.models.functions import Abs
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from kefu.accounts.models import User
from kefu.bot.intents import INTENT_LABELS
from kefu.bot.models import BotConversation
from kefu.bot.models import CloseReason as BotCloseReason
from kefu.chat.models import AgentPresenceLog, ChatConversation, ChatStatus
from kefu.csat.models import CsatSurvey
from kefu.helpcenter.models import ArticleFeedback, SearchMiss
from kefu.phone.models import Call, Callback, CallbackStatus, Outcome
from kefu.reports import rollups
from kefu.sla.models import TimerKind
from kefu.tickets.models import ACTIVE_Q, VISIBLE_Q, Category, Channel, Message, Sender, Status, Ticket

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


def column(
    key: str, label: Promise | str, unit: str = "", *, drill: bool = False, narrow: dict[str, str] | None = None
) -> dict[str, Any]:
    """A panel column; ``narrow``: drill-down parameters of this column's links on top of the
    row's (e.g. ``{"sla": "breached"}``)."""
    return {"key": key, "label": str(label), "unit": unit, "drill": drill, "narrow": narrow or {}}


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


def category_ids(slug: str) -> QuerySet[Any, Any]:
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
    return _counts_table(rollups.ticket_counts(window, "channel"), "channel", _("Channel"), "bar")


@metric(
    "volume_by_category",
    family="volume",
    chart="bar",
    label=_("Tickets by category"),
    definition=_("Tickets created in the period, by their current category."),
)
def volume_by_category(window: Window) -> dict[str, Any]:
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
    return _times_table(window, "first_reply", "team", _("Team"))


@metric(
    "first_reply_by_agent",
    family="times",
    chart="bar",
    label=_("First reply by agent"),
    definition=FIRST_REPLY_BY,
)
def first_reply_by_agent(window: Window) -> dict[str, Any]:
    return _times_table(window, "first_reply", "agent", _("Agent"))


@metric(
    "resolution_by_team", family="times", chart="bar", label=_("Resolution by team"), definition=RESOLUTION_BY
)
def resolution_by_team(window: Window) -> dict[str, Any]:
    return _times_table(window, "resolution", "team", _("Team"))


@metric(
    "resolution_by_agent",
    family="times",
    chart="bar",
    label=_("Resolution by agent"),
    definition=RESOLUTION_BY,
)
def resolution_by_agent(window: Window) -> dict[str, Any]:
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
                "drill": {dimension: key} if dimension != "target" else {"sla_target": key},
            }
        )
    return table(
        [
            column("name", label),
            column("met", _("Met"), "count", drill=True, narrow={"sla": "met"}),
            column("breached", _("Breached"), "count", drill=True, narrow={"sla": "breached"}),
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
    return _sla_table(window, "target", _("Target"))


@metric("sla_by_team", family="service_levels", chart="stacked", label=_("SLA by team"), definition=SLA_BY)
def sla_by_team(window: Window) -> dict[str, Any]:
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
AGE_HOURS = tuple(hours for hours, _label in AGE_BUCKETS)
BACKLOG = _(
    "Open tickets now (new, open, waiting for the customer or on hold; not with the bot, not "
    "merged), whatever the period: by how long ago they were created."
)


def backlog_in(window: Window) -> QuerySet[Ticket]:
    return filtered(Ticket.objects.filter(ACTIVE_Q, VISIBLE_Q, merged_into__isnull=True), window)


@metric("backlog_age", family="backlog", chart="column", label=_("Backlog by age"), definition=BACKLOG)
def backlog_age(window: Window) -> dict[str, Any]:
    # Rolled-up days that lie inside one age bucket from their rows, the rest live (rollups).
    counts: dict[int, int] = {}
    for (index, _team), n in rollups.backlog_counts(window, AGE_HOURS).items():
        counts[index] = counts.get(index, 0) + n
    rows: list[dict[str, Any]] = [
        {"name": str(label), "count": counts.get(i, 0)} for i, (_h, label) in enumerate(AGE_BUCKETS)
    ]
    total = sum(counts.values())
    rows.append({"name": str(_("All open tickets")), "count": total, "drill": {"status": "active"}})
    return table(
        [column("name", _("Age")), column("count", _("Tickets"), "count", drill=True)], rows, chart="column"
    )


@metric("backlog_by_team", family="backlog", chart="bar", label=_("Backlog by team"), definition=BACKLOG)
def backlog_by_team(window: Window) -> dict[str, Any]:
    counts: dict[Any, int] = {}
    for (_index, team), n in rollups.backlog_counts(window, AGE_HOURS).items():
        counts[team] = counts.get(team, 0) + n
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


# ==============================================================================================
# Operations families (live chat, phone, bot, help centre, CSAT, agents)
# ==============================================================================================
#
# Read from the operational rows (chats, calls, call-backs, bot turns, the help centre's search
# log, surveys, agents' status intervals). Every figure is a fixed number of aggregate queries;
# times are calendar seconds computed in the database (:class:`SecondsBetween`). The words of
# each definition are docs/reports.md's too.

LIVE_CHAT, PHONE, BOT, HELPCENTRE, CSAT, AGENTS = "live_chat", "phone", "bot", "helpcentre", "csat", "agents"
family(LIVE_CHAT, _("Live chat"))
family(PHONE, _("Phone"))
family(BOT, _("Bot"))
family(HELPCENTRE, _("Help centre"))
family(CSAT, _("Satisfaction"))
family(AGENTS, _("Agents"))

# A chat or call counts in an agent's period only if it began at most this long before the
# period: the range scan on its start stays bounded (the idle sweep ends chats long before).
LONGEST_CONTACT = timedelta(days=2)
# Chats that left the queue before an agent joined, by close reason: gone (abandoned) or
# choosing another way (a ticket, a call-back).
ABANDONED_REASONS = ("abandoned", "customer", "idle")
DIVERTED_REASONS = ("ticket", "callback")
# Bot answers that are small talk are not topics.
NOT_TOPICS = ("greeting", "thanks", "goodbye", "out_of_scope")
OUT_OF_SCOPE_INTENT = "out_of_scope"
TOP_ROWS = 20


def _sqlite_epoch(column_sql: str) -> str:
    """Seconds since 1970 of a SQLite datetime, to the millisecond and exact: whole seconds from
    strftime('%s') plus the fraction of '%f' (julianday's floating days would blur them)."""
    # %% : the SQL goes through the cursor's parameter substitution.
    return (
        f"(CAST(strftime('%%s', {column_sql}) AS REAL)"
        f" + (strftime('%%f', {column_sql}) - CAST(strftime('%%S', {column_sql}) AS REAL)))"
    )


class SecondsBetween(Func):
    """``later - earlier`` in seconds (float), computed by the database."""

    output_field = FloatField()

    def __init__(self, later: Any, earlier: Any) -> None:
        super().__init__(later, earlier)

    def _parts(self, compiler: Any, connection: Any) -> tuple[str, str, list[Any]]:
        later, earlier = self.get_source_expressions()
        later_sql, later_params = compiler.compile(later)
        earlier_sql, earlier_params = compiler.compile(earlier)
        return later_sql, earlier_sql, [*later_params, *earlier_params]

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        later, earlier = self.get_source_expressions()
        later_sql, later_params = compiler.compile(later)
        earlier_sql, earlier_params = compiler.compile(earlier)
        # Each column is read three times by _sqlite_epoch.
        return f"({_sqlite_epoch(later_sql)} - {_sqlite_epoch(earlier_sql)})", [
            *later_params * 3,
            *earlier_params * 3,
        ]

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        later, earlier, params = self._parts(compiler, connection)
        return f"EXTRACT(EPOCH FROM ({later} - {earlier}))::float8", params


def _value_percentiles(
    rows: QuerySet[Any], name: str, count: int, fractions: tuple[float, ...]
) -> list[float]:
    """Continuous percentiles of a float annotation ``name`` (as :func:`_percentiles`)."""
    if connection.vendor == "postgresql":
        sql, params = rows.values_list(name, flat=True).query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT percentile_cont(%s::float8[]) WITHIN GROUP (ORDER BY v) FROM ({sql}) AS t(v)",
                [list(fractions), *params],
            )
            return [float(value) for value in cursor.fetchone()[0]]
    values = []
    ordered = rows.order_by(name).values_list(name, flat=True)
    for fraction in fractions:
        position = fraction * (count - 1)
        low = math.floor(position)
        pair = [float(v) for v in ordered[low : low + 2]]
        high = pair[1] if len(pair) > 1 else pair[0]
        values.append(pair[0] + (high - pair[0]) * (position - low))
    return values


@contextlib.contextmanager
def without_jit() -> Iterator[None]:
    """Run the enclosed queries with PostgreSQL's JIT off (``SET LOCAL``: until the outermost
    transaction ends — this block's own when the caller has none, as a report request).

    The per-row probes of bot containment and the agents' interval pass are cheap but their
    planner cost crosses ``jit_above_cost``: compiling them took 0.6 s of a 1 s query at 30
    days, where the query itself runs in 0.3 s (docs/reports.md). Elsewhere: nothing to do."""
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL jit = off")
        yield


def _percent(part: int | float, whole: int | float) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def _rounded(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def _in(window: Window, field: str) -> Q:
    return Q(**{f"{field}__gte": window.since, f"{field}__lt": window.until})


def _user_names(ids: Any) -> dict[int, str]:
    return {
        pk: display or email
        for pk, display, email in User.objects.filter(pk__in=list(ids)).values_list(
            "pk", "display_name", "email"
        )
    }


# --- live chat ---------------------------------------------------------------------------------


def chat_queue_figures(window: Window, parts: tuple[str, ...] = ("wait", "estimate")) -> dict[str, Any]:
    """Chats that entered the queue in the period (by entry time; a hand-off from the bot or a
    request in the chat panel). Wait: from entering to the first agent joining, for those an
    agent took. Abandoned: closed before any agent joined because the customer left, ended it or
    went quiet; diverted: the customer chose a ticket or a call-back instead. Abandonment rate:
    abandoned ÷ chats whose wait is over (taken + abandoned + diverted). Estimate error: for
    chats that were told an estimate and then taken, |told − waited|; within ±50 %: the share
    where that error is at most half the actual wait. ``parts``: only these."""
    rolled = rollups.ops_parts(window, "chat_queue")
    if rolled is not None:
        return _chat_queue_from_parts(rolled, parts)
    entered = _chats_entered(window)
    taken_q = Q(first_assigned_at__isnull=False)
    waits = entered.filter(taken_q).annotate(
        wait=SecondsBetween(F("first_assigned_at"), F("wait_estimate_at"))
    )
    figures: dict[str, Any] = {}
    if "estimate" in parts:
        told = waits.filter(wait_estimate_seconds__isnull=False).annotate(
            error=Abs(ExpressionWrapper(F("wait") - F("wait_estimate_seconds"), output_field=FloatField()))
        )
        told_counts = told.aggregate(told=Count("id"), within=Count("id", filter=Q(error__lte=F("wait") * 0.5)))
        error = None
        if told_counts["told"]:
            (error,) = _value_percentiles(told, "error", told_counts["told"], (0.5,))
        figures.update(
            estimated=told_counts["told"],
            estimate_error_median=_rounded(error),
            estimate_within_half_percent=_percent(told_counts["within"], told_counts["told"]),
        )
    if "wait" not in parts:
        return figures
    not_taken_q = Q(first_assigned_at__isnull=True, status=ChatStatus.CLOSED)
    counts = entered.aggregate(
        entered=Count("id"),
        taken=Count("id", filter=taken_q),
        abandoned=Count("id", filter=not_taken_q & Q(close_reason__in=ABANDONED_REASONS)),
        diverted=Count("id", filter=not_taken_q & Q(close_reason__in=DIVERTED_REASONS)),
    )
    median = p90 = None
    if counts["taken"]:
        median, p90 = _value_percentiles(waits, "wait", counts["taken"], (0.5, 0.9))
    over = counts["taken"] + counts["abandoned"] + counts["diverted"]
    return {
        **counts,
        "wait_median": _rounded(median),
        "wait_p90": _rounded(p90),
        "abandonment_percent": _percent(counts["abandoned"], over),
        **figures,
    }


def _chats_entered(window: Window) -> QuerySet[ChatConversation]:
    entered = ChatConversation.objects.filter(_in(window, "wait_estimate_at"))
    if window.team is not None:
        entered = entered.filter(team_id=window.team)
    if window.agent is not None:
        entered = entered.filter(assignee_id=window.agent)
    return entered


_TAKEN_Q = Q(first_assigned_at__isnull=False)
_NOT_TAKEN_Q = Q(first_assigned_at__isnull=True, status=ChatStatus.CLOSED)
_TOLD_Q = _TAKEN_Q & Q(wait_estimate_seconds__isnull=False)


def _chat_waits(window: Window) -> Any:
    return _chats_entered(window).annotate(
        wait=SecondsBetween(F("first_assigned_at"), F("wait_estimate_at")),
        error=Abs(ExpressionWrapper(F("wait") - F("wait_estimate_seconds"), output_field=FloatField())),
    )


def chat_queue_parts(window: Window) -> dict[tuple[Any, Any, str], float]:
    """The counts of :func:`chat_queue_figures` per chat team × agent (rolled up per day)."""
    rows = (
        _chat_waits(window)
        .values_list("team_id", "assignee_id")
        .annotate(
            entered=Count("id"),
            taken=Count("id", filter=_TAKEN_Q),
            abandoned=Count("id", filter=_NOT_TAKEN_Q & Q(close_reason__in=ABANDONED_REASONS)),
            diverted=Count("id", filter=_NOT_TAKEN_Q & Q(close_reason__in=DIVERTED_REASONS)),
            estimated=Count("id", filter=_TOLD_Q),
            within=Count("id", filter=_TOLD_Q & Q(error__lte=F("wait") * 0.5)),
        )
        .order_by()
    )
    keys = ("entered", "taken", "abandoned", "diverted", "estimated", "within")
    out: dict[tuple[Any, Any, str], float] = {}
    for team, agent, *counts in rows:
        for key, n in zip(keys, counts, strict=True):
            if n:
                out[(team, agent, key)] = n
    return out


def chat_wait_values(window: Window) -> Iterator[tuple[Any, Any, float]]:
    yield from _chat_waits(window).filter(_TAKEN_Q).values_list("team_id", "assignee_id", "wait").iterator()


def chat_estimate_error_values(window: Window) -> Iterator[tuple[Any, Any, float]]:
    yield from _chat_waits(window).filter(_TOLD_Q).values_list("team_id", "assignee_id", "error").iterator()


rollups.ops_figure(
    rollups.OpsFigure(
        "chat_queue",
        chat_queue_parts,
        durations=(("chat_wait", chat_wait_values), ("chat_estimate_error", chat_estimate_error_values)),
        row_filters=frozenset({"team", "agent"}),
    )
)


def _chat_queue_from_parts(rolled: rollups.OpsParts, parts: tuple[str, ...]) -> dict[str, Any]:
    """:func:`chat_queue_figures` from rolled-up days and live parts (percentiles: buckets)."""
    n = {key: int(value) for key, value in rolled.totals().items()}
    figures: dict[str, Any] = {}
    if "estimate" in parts:
        told = n.get("estimated", 0)
        figures.update(
            estimated=told,
            estimate_error_median=_rounded(rolled.durations["chat_estimate_error"].percentile(0.5)),
            estimate_within_half_percent=_percent(n.get("within", 0), told),
        )
    if "wait" not in parts:
        return figures
    counts = {key: n.get(key, 0) for key in ("entered", "taken", "abandoned", "diverted")}
    waits = rolled.durations["chat_wait"]
    over = counts["taken"] + counts["abandoned"] + counts["diverted"]
    return {
        **counts,
        "wait_median": _rounded(waits.percentile(0.5)),
        "wait_p90": _rounded(waits.percentile(0.9)),
        "abandonment_percent": _percent(counts["abandoned"], over),
        **figures,
    }


@metric(
    "chat_queue",
    family=LIVE_CHAT,
    label=_("Queue wait and abandonment"),
    definition=_(
        "Chats that entered the queue in the period. Wait: from entering the queue to the first "
        "agent joining (median and 90th percentile, interpolated), for chats an agent took. "
        "Abandoned: closed before an agent joined because the customer left, ended it or went "
        "quiet; abandonment rate = abandoned ÷ chats whose wait is over (taken, abandoned or "
        "diverted). Diverted: the customer chose a ticket or a call-back instead of waiting."
    ),
    filters=frozenset({"team", "agent"}),
)
def chat_queue(window: Window) -> dict[str, Any]:
    figures = chat_queue_figures(window, ("wait",))
    return table(
        [
            column("name", _("Chats")),
            column("entered", _("Entered the queue"), "count"),
            column("taken", _("Taken by an agent"), "count"),
            column("wait_median", _("Median wait"), "seconds"),
            column("wait_p90", _("90th percentile wait"), "seconds"),
            column("abandoned", _("Abandoned"), "count"),
            column("abandonment_percent", _("Abandonment rate"), "percent"),
            column("diverted", _("Chose a ticket or call-back"), "count"),
        ],
        [
            {
                "name": str(_("All chats")),
                **{
                    k: figures[k]
                    for k in (
                        "entered",
                        "taken",
                        "wait_median",
                        "wait_p90",
                        "abandoned",
                        "abandonment_percent",
                        "diverted",
                    )
                },
            }
        ],
    )


@metric(
    "chat_estimate",
    family=LIVE_CHAT,
    label=_("Error of the shown wait estimate"),
    definition=_(
        "For chats that entered the queue in the period, were told an estimated wait (no estimate "
        'is told when no agent can take the chat; "in a moment" counts as 0 s) and were taken by '
        "an agent: the median of |estimate − actual wait|, and the share whose error was at most "
        "half the actual wait (within ±50 %)."
    ),
    filters=frozenset({"team", "agent"}),
)
def chat_estimate(window: Window) -> dict[str, Any]:
    figures = chat_queue_figures(window, ("estimate",))
    return table(
        [
            column("name", _("Chats")),
            column("estimated", _("Told an estimate and taken"), "count"),
            column("estimate_error_median", _("Median absolute error"), "seconds"),
            column("estimate_within_half_percent", _("Within ±50 %"), "percent"),
        ],
        [
            {
                "name": str(_("All chats")),
                **{
                    k: figures[k]
                    for k in ("estimated", "estimate_error_median", "estimate_within_half_percent")
                },
            }
        ],
    )


# --- agents: one pass over the period's status intervals, chats and calls -------------------------


def _epoch(column_sql: str) -> str:
    if connection.vendor == "postgresql":
        return f"EXTRACT(EPOCH FROM {column_sql})::float8"
    return _sqlite_epoch(column_sql)


def agent_activity(window: Window) -> dict[int, dict[str, float]]:
    """Per agent, in the period: seconds online (available for chats), away (signed in, no new
    chats), busy (online or away with at least one chat or call open), chatting (at least one
    chat open), chat-seconds (the sum over chats of their time open: ÷ chatting = the average
    number of chats at once) and the peak number of chats open at once.

    One query: every status interval, chat (assigned → closed, the agent holding it last) and
    answered call (answered → ended), clipped to the period (an open one to now), becomes two
    events (+1, −1); running sums per agent in time order give the state between consecutive
    events. Ties end before they start, so back-to-back chats are not counted as overlapping.
    A chat or call counts for at most :data:`LONGEST_CONTACT` from its start (so that a day's
    figures summed give the period's: rolled up per day, the peak as the days' maximum)."""
    rolled = rollups.ops_parts(window, "agent_activity")
    if rolled is None:
        return _agent_activity(window)
    out: dict[int, dict[str, float]] = {}
    for (_team, agent, key), value in rolled.values.items():
        out.setdefault(agent, dict.fromkeys(ACTIVITY_KEYS, 0.0))[key] = value
    return out


ACTIVITY_KEYS = ("online", "away", "busy", "chatting", "chat_seconds", "peak")


def _agent_activity(window: Window) -> dict[int, dict[str, float]]:
    now = min(timezone.now(), window.until)
    since_s, until_s = window.since.timestamp(), window.until.timestamp()
    now_s = max(now.timestamp(), since_s)
    greatest, least = ("GREATEST", "LEAST") if connection.vendor == "postgresql" else ("MAX", "MIN")
    earliest = window.since - LONGEST_CONTACT
    presence = AgentPresenceLog._meta.db_table
    chats = ChatConversation._meta.db_table
    calls = Call._meta.db_table
    sql = f"""
    WITH intervals AS (
        SELECT user_id AS agent, {_epoch("started_at")} AS s, COALESCE({_epoch("ended_at")}, %s) AS e,
               CASE WHEN status = 'online' THEN 1 ELSE 0 END AS on_avail,
               CASE WHEN status = 'away' THEN 1 ELSE 0 END AS on_away, 0 AS on_chat, 0 AS on_call
        FROM {presence}
        WHERE status IN ('online', 'away') AND started_at < %s AND (ended_at IS NULL OR ended_at > %s)
        UNION ALL
        SELECT assignee_id, {_epoch("assigned_at")},
               {least}(COALESCE({_epoch("closed_at")}, %s), {_epoch("assigned_at")} + %s), 0, 0, 1, 0
        FROM {chats}
        WHERE assignee_id IS NOT NULL AND assigned_at >= %s AND assigned_at < %s
              AND (closed_at IS NULL OR closed_at > %s)
        UNION ALL
        SELECT agent_id, {_epoch("answered_at")},
               {least}(COALESCE({_epoch("ended_at")}, %s), {_epoch("answered_at")} + %s), 0, 0, 0, 1
        FROM {calls}
        WHERE agent_id IS NOT NULL AND answered_at >= %s AND answered_at < %s
              AND (ended_at IS NULL OR ended_at > %s)
    ),
    clipped AS (
        SELECT agent, {greatest}(s, %s) AS s, {least}(e, %s) AS e, on_avail, on_away, on_chat, on_call
        FROM intervals
    ),
    events AS (
        SELECT agent, s AS t, on_avail AS d_avail, on_away AS d_away, on_chat AS d_chat, on_call AS d_call
        FROM clipped WHERE s < e
        UNION ALL
        SELECT agent, e, -on_avail, -on_away, -on_chat, -on_call FROM clipped WHERE s < e
    ),
    running AS (
        SELECT agent, t,
               SUM(d_avail) OVER w AS avail, SUM(d_away) OVER w AS away,
               SUM(d_chat) OVER w AS chats, SUM(d_call) OVER w AS calls,
               LEAD(t) OVER (PARTITION BY agent ORDER BY t, d_avail + d_away + d_chat + d_call) AS next_t
        FROM events
        WINDOW w AS (PARTITION BY agent ORDER BY t, d_avail + d_away + d_chat + d_call
                     ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
    )
    SELECT agent,
           SUM(CASE WHEN avail > 0 THEN COALESCE(next_t - t, 0) ELSE 0 END),
           SUM(CASE WHEN avail <= 0 AND away > 0 THEN COALESCE(next_t - t, 0) ELSE 0 END),
           SUM(CASE WHEN (avail > 0 OR away > 0) AND (chats > 0 OR calls > 0)
                    THEN COALESCE(next_t - t, 0) ELSE 0 END),
           SUM(CASE WHEN chats > 0 THEN COALESCE(next_t - t, 0) ELSE 0 END),
           SUM(chats * COALESCE(next_t - t, 0)),
           MAX(chats)
    FROM running GROUP BY agent
    """
    # Datetimes as the backend stores them (SQLite: UTC text), so the index range scans apply.
    until_db, since_db, earliest_db = (
        connection.ops.adapt_datetimefield_value(moment) for moment in (window.until, window.since, earliest)
    )
    longest = LONGEST_CONTACT.total_seconds()
    params = [
        now_s, until_db, since_db,
        now_s, longest, earliest_db, until_db, since_db,
        now_s, longest, earliest_db, until_db, since_db,
        since_s, until_s,
    ]  # fmt: skip
    with without_jit(), connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return {row[0]: {k: float(v or 0) for k, v in zip(ACTIVITY_KEYS, row[1:], strict=True)} for row in rows}


def agent_activity_parts(window: Window) -> dict[tuple[Any, Any, str], float]:
    return {
        (None, agent, key): value
        for agent, figures in _agent_activity(window).items()
        for key, value in figures.items()
        if value
    }


rollups.ops_figure(rollups.OpsFigure("agent_activity", agent_activity_parts, peaks=frozenset({"peak"})))


def _agents_in(window: Window, ids: Any) -> list[int]:
    """The agents to show: those with activity, narrowed by the window's team and agent."""
    ids = set(ids)
    if window.agent is not None:
        ids &= {window.agent}
    if window.team is not None:
        ids &= set(User.objects.filter(teams=window.team, pk__in=list(ids)).values_list("pk", flat=True))
    return sorted(ids)


@metric(
    "chat_concurrency",
    family=LIVE_CHAT,
    label=_("Chats at once per agent"),
    definition=_(
        "Per agent, over the period: the most chats open at the same moment (peak), and the "
        "average number open while at least one was (the sum of each chat's open time ÷ the time "
        "with at least one open). A chat counts from its assignment to its close, for the agent "
        "holding it last."
    ),
    filters=frozenset({"team", "agent"}),
    chart="column",
)
def chat_concurrency(window: Window) -> dict[str, Any]:
    activity = agent_activity(window)
    agents = [pk for pk in _agents_in(window, activity) if activity[pk]["chatting"] > 0]
    names = _user_names(agents)
    rows = [
        {
            "name": names.get(pk, str(pk)),
            "peak": int(activity[pk]["peak"]),
            "average": round(activity[pk]["chat_seconds"] / activity[pk]["chatting"], 2),
        }
        for pk in agents
    ]
    return table(
        [
            column("name", _("Agent")),
            column("peak", _("Peak"), "count"),
            column("average", _("Average"), "count"),
        ],
        sorted(rows, key=lambda row: row["name"]),
        chart="column",
    )


def agents_handled_figures(window: Window) -> dict[int, dict[str, int]]:
    """Per agent: cases resolved in the period (the assignee when resolved; merged duplicates
    not counted), chats assigned in the period (the agent holding the chat last) and calls
    answered in the period."""
    rolled = rollups.ops_parts(window, "agents_handled")
    if rolled is None:
        return _agents_handled(window)
    handled: dict[int, dict[str, int]] = {}
    for (_team, agent, key), value in rolled.values.items():
        handled.setdefault(agent, {"cases": 0, "chats": 0, "calls": 0})[key] = int(value)
    return handled


def _agents_handled(window: Window) -> dict[int, dict[str, int]]:
    figures: dict[int, dict[str, int]] = {}

    def add(rows: Any, key: str) -> None:
        for agent, n in rows:
            figures.setdefault(agent, {"cases": 0, "chats": 0, "calls": 0})[key] = n

    add(
        Ticket.objects.filter(_in(window, "resolved_at"), assignee__isnull=False, merged_into__isnull=True)
        .values_list("assignee_id")
        .annotate(n=Count("id"))
        .order_by(),
        "cases",
    )
    add(
        ChatConversation.objects.filter(_in(window, "assigned_at"), assignee__isnull=False)
        .values_list("assignee_id")
        .annotate(n=Count("id"))
        .order_by(),
        "chats",
    )
    add(
        Call.objects.filter(_in(window, "answered_at"), agent__isnull=False)
        .values_list("agent_id")
        .annotate(n=Count("id"))
        .order_by(),
        "calls",
    )
    return figures


rollups.ops_figure(
    rollups.OpsFigure(
        "agents_handled",
        lambda window: {
            (None, agent, key): n
            for agent, counts in _agents_handled(window).items()
            for key, n in counts.items()
            if n
        },
    )
)


@metric(
    "agents_handled",
    family=AGENTS,
    label=_("Handled per agent"),
    definition=_(
        "Per agent, in the period: cases resolved (the assignee when the case was resolved; a "
        "duplicate merged into another case is not counted), chats assigned (to the agent holding "
        "the chat last) and phone calls answered."
    ),
    filters=frozenset({"team", "agent"}),
    chart="stacked",
)
def agents_handled(window: Window) -> dict[str, Any]:
    figures = agents_handled_figures(window)
    agents = _agents_in(window, figures)
    names = _user_names(agents)
    rows = [{"name": names.get(pk, str(pk)), **figures[pk]} for pk in agents]
    return table(
        [
            column("name", _("Agent")),
            column("cases", _("Cases resolved"), "count"),
            column("chats", _("Chats"), "count"),
            column("calls", _("Calls answered"), "count"),
        ],
        sorted(rows, key=lambda row: row["name"]),
        chart="stacked",
    )


@metric(
    "agents_time",
    family=AGENTS,
    label=_("Time online and occupancy"),
    definition=_(
        "Per agent, in the period: time online (available for chats), time away (signed in, taking "
        "no new chats), and occupancy = the time with at least one chat or call open while online "
        "or away ÷ the time online or away. From the agents' status changes (each change starts "
        "an interval); a chat counts from assignment to close, a call from answer to end."
    ),
    filters=frozenset({"team", "agent"}),
    chart="column",
)
def agents_time(window: Window) -> dict[str, Any]:
    activity = agent_activity(window)
    agents = [pk for pk in _agents_in(window, activity) if activity[pk]["online"] + activity[pk]["away"] > 0]
    names = _user_names(agents)
    rows = []
    for pk in agents:
        figures = activity[pk]
        signed_in = figures["online"] + figures["away"]
        rows.append(
            {
                "name": names.get(pk, str(pk)),
                "online": round(figures["online"]),
                "away": round(figures["away"]),
                "busy": round(figures["busy"]),
                "occupancy": _percent(figures["busy"], signed_in),
            }
        )
    return table(
        [
            column("name", _("Agent")),
            column("online", _("Time online"), "seconds"),
            column("away", _("Time away"), "seconds"),
            column("busy", _("Time in chats or calls"), "seconds"),
            column("occupancy", _("Occupancy"), "percent"),
        ],
        sorted(rows, key=lambda row: row["name"]),
        chart="column",
    )


# --- phone ---------------------------------------------------------------------------------------


def phone_answer_seconds() -> int:
    return int(settings.KEFU_REPORTS_PHONE_ANSWER_SECONDS)


def phone_figures(window: Window, parts: tuple[str, ...] = ("calls", "callbacks")) -> dict[str, Any]:
    """Calls that joined the phone queue in the period (by queue time). Service level: answered
    by an agent within N seconds of queueing ÷ queued calls whose wait is over (answered, hung up,
    or left the queue for a call-back or voicemail); average speed of answer: the mean wait of
    answered calls; abandonment: hung up in the queue ÷ calls whose wait is over. Call-backs:
    requested in the period (by request time), by their status now. ``parts``: only these."""
    limit = phone_answer_seconds()
    figures: dict[str, Any] = {"answer_seconds": limit}
    if "callbacks" in parts:
        callbacks = dict(
            Callback.objects.filter(_in(window, "created_at")).values_list("status").annotate(n=Count("id")).order_by()
        )
        figures["callbacks"] = {
            "requested": sum(callbacks.values()),
            "done": callbacks.get(CallbackStatus.DONE, 0),
            "failed": callbacks.get(CallbackStatus.FAILED, 0),
            "open": callbacks.get(CallbackStatus.WAITING, 0) + callbacks.get(CallbackStatus.DIALLING, 0),
            "canceled": callbacks.get(CallbackStatus.CANCELED, 0),
        }
    if "calls" not in parts:
        return figures
    rolled = rollups.ops_parts(window, "phone_calls")
    if rolled is None:
        counts = _queued_calls(window).aggregate(**_call_counts(), asa=Avg("wait", filter=_ANSWERED_Q))
    else:
        totals = rolled.totals()
        counts = {key: int(totals.get(key, 0)) for key in ("queued", "waiting", "answered", "within", "abandoned")}
        counts["asa"] = totals.get("wait_sum", 0.0) / counts["answered"] if counts["answered"] else None
    over = counts["queued"] - counts["waiting"]
    return {
        **figures,
        "queued": counts["queued"],
        "answered": counts["answered"],
        "answered_within": counts["within"],
        "service_level_percent": _percent(counts["within"], over),
        "average_speed_of_answer": _rounded(counts["asa"]),
        "abandoned": counts["abandoned"],
        "abandonment_percent": _percent(counts["abandoned"], over),
    }


_ANSWERED_Q = Q(answered_at__isnull=False)


def _queued_calls(window: Window) -> QuerySet[Call]:
    queued = Call.objects.filter(_in(window, "queued_at"))
    if window.agent is not None:
        queued = queued.filter(agent_id=window.agent)
    return queued.annotate(wait=SecondsBetween(F("answered_at"), F("queued_at")))


def _call_counts() -> dict[str, Any]:
    return {
        "queued": Count("id"),
        "waiting": Count("id", filter=Q(answered_at__isnull=True, ended_at__isnull=True)),
        "answered": Count("id", filter=_ANSWERED_Q),
        "within": Count("id", filter=_ANSWERED_Q & Q(wait__lte=phone_answer_seconds())),
        "abandoned": Count("id", filter=Q(outcome=Outcome.ABANDONED) & ~_ANSWERED_Q),
    }


def phone_call_parts(window: Window) -> dict[tuple[Any, Any, str], float]:
    """:func:`phone_figures`' call counts and the sum of answered waits per agent."""
    rows = (
        _queued_calls(window)
        .values_list("agent_id")
        .annotate(**_call_counts(), wait_sum=Sum("wait", filter=_ANSWERED_Q))
        .order_by()
    )
    keys = ("queued", "waiting", "answered", "within", "abandoned", "wait_sum")
    return {
        (None, row[0], key): value
        for row in rows
        for key, value in zip(keys, row[1:], strict=True)
        if value
    }


rollups.ops_figure(rollups.OpsFigure("phone_calls", phone_call_parts, row_filters=frozenset({"agent"})))


@metric(
    "phone_service",
    family=PHONE,
    label=_("Service level, speed of answer, abandonment"),
    definition=_(
        "Calls that joined the phone queue in the period. Service level: calls an agent answered "
        "within N seconds of queueing (KEFU_REPORTS_PHONE_ANSWER_SECONDS, 20 by default) ÷ queued "
        "calls whose wait is over (answered, hung up in the queue, or left it for a call-back or "
        "voicemail). Average speed of answer: the mean wait of answered calls. Abandonment rate: "
        "calls hung up in the queue ÷ calls whose wait is over."
    ),
    filters=frozenset({"agent"}),
)
def phone_service(window: Window) -> dict[str, Any]:
    figures = phone_figures(window, ("calls",))
    return table(
        [
            column("name", _("Calls")),
            column("queued", _("Queued"), "count"),
            column("answered", _("Answered"), "count"),
            column(
                "answered_within", _("Answered within {n} s").format(n=figures["answer_seconds"]), "count"
            ),
            column("service_level_percent", _("Service level"), "percent"),
            column("average_speed_of_answer", _("Average speed of answer"), "seconds"),
            column("abandoned", _("Abandoned"), "count"),
            column("abandonment_percent", _("Abandonment rate"), "percent"),
        ],
        [
            {
                "name": str(_("All calls")),
                **{k: v for k, v in figures.items() if k not in ("callbacks", "answer_seconds")},
            }
        ],
    )


@metric(
    "phone_callbacks",
    family=PHONE,
    label=_("Call-backs"),
    definition=_(
        "Call-backs callers asked for in the period, by their status now: completed (the customer "
        "answered), failed (every attempt went unanswered or failed), still open (waiting or being "
        "dialled) and canceled."
    ),
    filters=NO_FILTERS,
    chart="bar",
)
def phone_callbacks(window: Window) -> dict[str, Any]:
    callbacks = phone_figures(window, ("callbacks",))["callbacks"]
    labels = {
        "requested": _("Requested"),
        "done": _("Completed"),
        "failed": _("Failed"),
        "open": _("Still open"),
        "canceled": _("Canceled"),
    }
    return table(
        [column("name", _("Call-backs")), column("count", _("Call-backs"), "count")],
        [{"name": str(label), "count": callbacks[key]} for key, label in labels.items()],
        chart="bar",
    )


# --- bot and help centre -------------------------------------------------------------------------


BOT_PARTS = ("containment", "scope", "intents", "reasons")


def bot_figures(window: Window, parts: tuple[str, ...] = BOT_PARTS) -> dict[str, Any]:
    """Conversations with the bot that began in the period (a first message; bot conversations
    on every channel). Handed to a person: their case was opened to the team, or a live chat on
    it entered the queue; contained: the others (so far). Intents and out of scope: the bot's
    answers in the period that name what the customer asked about. ``parts``: only these (a
    panel computes its own, one query each). Once days are rolled up, a conversation whose
    answers on one topic span midnight counts once a day in the top intents."""
    rolled = rollups.ops_parts(window, "bot")
    if rolled is not None:
        return _bot_from_parts(rolled.totals(), parts)
    return _bot_figures(window, parts)


def _containment(total: int, handed: int, unanswered: int) -> dict[str, Any]:
    contained = total - handed - unanswered
    return {
        "conversations": total,
        "handed_off": handed,
        "unanswered": unanswered,
        "contained": contained,
        "containment_percent": _percent(contained, total),
    }


def _bot_from_parts(totals: dict[str, float], parts: tuple[str, ...]) -> dict[str, Any]:
    n = {key: int(value) for key, value in totals.items()}
    figures: dict[str, Any] = {}
    if "containment" in parts:
        figures.update(_containment(n.get("conversations", 0), n.get("handed_off", 0), n.get("unanswered", 0)))
    if "scope" in parts:
        answers, out = n.get("answers", 0), n.get("out_of_scope", 0)
        figures.update(answers=answers, out_of_scope=out, out_of_scope_percent=_percent(out, answers))
    for part, prefix, name in (("intents", "intent:", "intents"), ("reasons", "reason:", "handoff_reasons")):
        if part in parts:
            ranked = sorted(
                ((key.removeprefix(prefix), v) for key, v in n.items() if key.startswith(prefix)),
                key=lambda item: (-item[1], item[0]),
            )
            figures[name] = dict(ranked[:TOP_ROWS] if part == "intents" else ranked)
    return figures


def bot_parts(window: Window) -> dict[tuple[Any, Any, str], float]:
    """Every part of :func:`bot_figures` (all intents, not only the top ones), for a day."""
    figures = _bot_figures(window, BOT_PARTS, top=None)
    out: dict[str, float] = {
        key: figures[key] for key in ("conversations", "handed_off", "unanswered", "answers", "out_of_scope")
    }
    out.update({f"intent:{key}": n for key, n in figures["intents"].items()})
    out.update({f"reason:{key}": n for key, n in figures["handoff_reasons"].items()})
    return {(None, None, key): value for key, value in out.items() if value}


def _bot_figures(window: Window, parts: tuple[str, ...], top: int | None = TOP_ROWS) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    if "containment" in parts:
        conversations = BotConversation.objects.filter(_in(window, "created_at"), ticket__isnull=False)
        queued_chat = ChatConversation.objects.filter(
            ticket_id=OuterRef("ticket_id"), wait_estimate_at__isnull=False
        )
        # Probed per conversation through the primary key (a join would read every ticket).
        opened = Ticket.objects.filter(pk=OuterRef("ticket_id")).exclude(status=Status.BOT)
        handed = Q(Exists(opened)) | Q(Exists(queued_chat))
        # Closed for idleness while the bot was still asking or had missed (kefu.bot.idle): the
        # customer left without an answer — among the conversations, not contained.
        left = ~handed & Q(close_reason=BotCloseReason.UNANSWERED)
        with without_jit():
            counts = conversations.aggregate(
                total=Count("id"), handed=Count("id", filter=handed), unanswered=Count("id", filter=left)
            )
        figures.update(_containment(counts["total"], counts["handed"], counts["unanswered"]))
    answers = Message.objects.filter(_in(window, "created_at"), sender=Sender.BOT).annotate(
        intent=KT("extra__intent"), reason=KT("extra__handoff_reason")
    )
    if "scope" in parts:
        scope = answers.filter(intent__isnull=False).aggregate(
            answers=Count("id"), out_of_scope=Count("id", filter=Q(intent=OUT_OF_SCOPE_INTENT))
        )
        figures.update(
            answers=scope["answers"],
            out_of_scope=scope["out_of_scope"],
            out_of_scope_percent=_percent(scope["out_of_scope"], scope["answers"]),
        )
    if "intents" in parts:
        with without_jit():
            figures["intents"] = dict(
                answers.filter(intent__isnull=False)
                .exclude(extra__intent__in=NOT_TOPICS)
                .values_list("intent")
                .annotate(n=Count("ticket_id", distinct=True))
                .order_by("-n", "intent")[:top]
            )
    if "reasons" in parts:
        figures["handoff_reasons"] = dict(
            answers.filter(reason__isnull=False).values_list("reason").annotate(n=Count("id")).order_by("-n", "reason")
        )
    return figures


def _bot_idle_close() -> timedelta:
    from kefu.bot.idle import idle_hours

    # A conversation closed for idleness (left without an answer) changes its day's figure then.
    return timedelta(hours=idle_hours())


rollups.ops_figure(rollups.OpsFigure("bot", bot_parts, settles_after=_bot_idle_close))


@metric(
    "bot_containment",
    family=BOT,
    label=_("Containment"),
    definition=_(
        "Conversations with the bot that began in the period (on every channel). Handed to a "
        "person: the case was opened to the support team, or a live chat on it entered the queue. "
        "Left without an answer: closed for idleness while the bot was still asking, had not "
        "understood or had only greeted. Contained: the others — answered without a person so "
        "far. Containment = contained ÷ conversations."
    ),
    filters=NO_FILTERS,
)
def bot_containment(window: Window) -> dict[str, Any]:
    figures = bot_figures(window, ("containment",))
    return table(
        [
            column("name", _("Conversations")),
            column("conversations", _("Conversations with the bot"), "count"),
            column("handed_off", _("Handed to a person"), "count"),
            column("unanswered", _("Left without an answer"), "count"),
            column("contained", _("Contained"), "count"),
            column("containment_percent", _("Containment"), "percent"),
        ],
        [
            {
                "name": str(_("All conversations")),
                **{
                    k: figures[k]
                    for k in ("conversations", "handed_off", "unanswered", "contained", "containment_percent")
                },
            }
        ],
    )


@metric(
    "bot_intents",
    family=BOT,
    label=_("Top intents"),
    definition=_(
        "What customers asked the bot about in the period: the topic of the bot's answers (not "
        "greetings, thanks or out-of-scope), counted once per conversation; the 20 most frequent."
    ),
    filters=NO_FILTERS,
    chart="bar",
)
def bot_intents(window: Window) -> dict[str, Any]:
    intents = bot_figures(window, ("intents",))["intents"]
    return table(
        [column("name", _("Intent")), column("conversations", _("Conversations"), "count")],
        [{"name": str(INTENT_LABELS.get(key, key)), "conversations": n} for key, n in intents.items()],
        chart="bar",
    )


HANDOFF_REASONS = {
    "requested": _("The customer asked for a person"),
    "urgent": _("Urgent topic"),
    "unsolved": _("The answer did not solve it"),
    "bot_failed": _("The bot did not understand"),
    "frustrated": _("The customer was frustrated"),
    "complaint": _("Complaint or escalation"),
}


@metric(
    "bot_handoff_reasons",
    family=BOT,
    label=_("Hand-off reasons"),
    definition=_(
        "Why the bot handed conversations to a person in the period (each hand-off once, at the "
        "time the bot's reply said so): the customer asked, an urgent topic, the answer did not "
        "solve it, the bot did not understand, frustration, or a complaint."
    ),
    filters=NO_FILTERS,
    chart="bar",
)
def bot_handoff_reasons(window: Window) -> dict[str, Any]:
    reasons = bot_figures(window, ("reasons",))["handoff_reasons"]
    return table(
        [column("name", _("Reason")), column("handoffs", _("Hand-offs"), "count")],
        [{"name": str(HANDOFF_REASONS.get(key, key)), "handoffs": n} for key, n in reasons.items()],
        chart="bar",
    )


@metric(
    "bot_out_of_scope",
    family=BOT,
    label=_("Out of scope"),
    definition=_(
        "The bot's answers in the period that name an intent, and those whose intent was \"out of "
        'scope" (a question the bot is not built for); rate = out of scope ÷ answers.'
    ),
    filters=NO_FILTERS,
)
def bot_out_of_scope(window: Window) -> dict[str, Any]:
    figures = bot_figures(window, ("scope",))
    return table(
        [
            column("name", _("Answers")),
            column("answers", _("Answers with an intent"), "count"),
            column("out_of_scope", _("Out of scope"), "count"),
            column("out_of_scope_percent", _("Out-of-scope rate"), "percent"),
        ],
        [
            {
                "name": str(_("All answers")),
                **{k: figures[k] for k in ("answers", "out_of_scope", "out_of_scope_percent")},
            }
        ],
    )


def _days(window: Window) -> tuple[date, date]:
    """The site-local days the period touches (first, last inclusive)."""
    last = timezone.localdate(window.until - timedelta(microseconds=1))
    return timezone.localdate(window.since), last


@metric(
    "helpcentre_no_results",
    family=HELPCENTRE,
    label=_("Searches with no result"),
    definition=_(
        "Readers' help-centre searches (site and API) that found no article, on the days of the "
        "period (site time zone): the 20 most repeated queries, as searched after the secret guard "
        "hid any seed phrase or key, in lower case. Kept 90 days."
    ),
    filters=NO_FILTERS,
    chart="bar",
)
def helpcentre_no_results(window: Window) -> dict[str, Any]:
    first, last = _days(window)
    rows = (
        SearchMiss.objects.filter(day__gte=first, day__lte=last)
        .values_list("query", "language")
        .annotate(n=Sum("searches"))
        .order_by("-n", "query")[:TOP_ROWS]
    )
    return table(
        [
            column("name", _("Query")),
            column("language", _("Language")),
            column("searches", _("Searches"), "count"),
        ],
        [{"name": query, "language": language, "searches": n} for query, language, n in rows],
        chart="bar",
    )


@metric(
    "helpcentre_votes",
    family=HELPCENTRE,
    label=_("Article votes"),
    definition=_(
        'Readers\' answers to "Was this helpful?" given or changed in the period, per article (one '
        "vote per reader: a changed vote counts as its latest answer); the 20 articles with most votes."
    ),
    filters=NO_FILTERS,
    chart="stacked",
)
def helpcentre_votes(window: Window) -> dict[str, Any]:
    rows = (
        ArticleFeedback.objects.filter(_in(window, "updated_at"))
        .values_list("article__title", "article__language")
        .annotate(
            votes=Count("id"),
            yes=Count("id", filter=Q(helpful=True)),
            no=Count("id", filter=Q(helpful=False)),
        )
        .order_by("-votes", "article__title")[:TOP_ROWS]
    )
    return table(
        [
            column("name", _("Article")),
            column("helpful", _("Helpful"), "count"),
            column("unhelpful", _("Not helpful"), "count"),
            column("helpful_percent", _("Helpful share"), "percent"),
        ],
        [
            {
                "name": f"{title} ({language})",
                "helpful": helpful,
                "unhelpful": unhelpful,
                "helpful_percent": _percent(helpful, helpful + unhelpful),
            }
            for title, language, _votes, helpful, unhelpful in rows
        ],
        chart="stacked",
    )


# --- satisfaction --------------------------------------------------------------------------------


def _surveys(window: Window) -> Any:  # QuerySet[CsatSurvey] with ``survey_channel`` annotated
    surveys = CsatSurvey.objects.all()
    if window.team is not None:
        surveys = surveys.filter(team_id=window.team)
    if window.agent is not None:
        surveys = surveys.filter(agent_id=window.agent)
    return surveys.annotate(
        survey_channel=Case(
            When(conversation__isnull=False, then=Value("chat")), default=F("ticket__channel")
        )
    )


def csat_by_channel_figures(window: Window) -> dict[str, dict[str, Any]]:
    """Surveys sent in the period (by sending time), by channel (a chat's survey: chat; a
    ticket's: the channel where the case started): sent, answered (by now), positive (4–5)."""
    rolled = rollups.ops_parts(window, "csat_channel")
    if rolled is None:
        rows = _csat_by_channel(window)
    else:
        merged: dict[str, list[int]] = {}
        for key, value in rolled.totals().items():
            name, channel = key.split(":", 1)
            merged.setdefault(channel, [0, 0, 0])[("sent", "responses", "positive").index(name)] = int(value)
        rows = [(channel, *counts) for channel, counts in sorted(merged.items())]
    return {
        channel or "": {
            "sent": sent,
            "responses": responses,
            "response_rate_percent": _percent(responses, sent),
            "positive": positive,
            "positive_percent": _percent(positive, responses),
        }
        for channel, sent, responses, positive in rows
    }


def _csat_by_channel(window: Window, *, by_group: bool = False) -> list[tuple[Any, ...]]:
    groups = ("survey_channel", "team_id", "agent_id") if by_group else ("survey_channel",)
    rows = (
        _surveys(window)
        .filter(_in(window, "created_at"))
        .values_list(*groups)
        .annotate(
            sent=Count("id"),
            responses=Count("id", filter=Q(rating__isnull=False)),
            positive=Count("id", filter=Q(rating__gte=POSITIVE_RATING)),
        )
        .order_by(*groups)
    )
    return list(rows)


def csat_channel_parts(window: Window) -> dict[tuple[Any, Any, str], float]:
    """Surveys sent, answered and positive per channel × the survey's team × agent."""
    out: dict[tuple[Any, Any, str], float] = {}
    for channel, team, agent, *counts in _csat_by_channel(window, by_group=True):
        for name, n in zip(("sent", "responses", "positive"), counts, strict=True):
            out[(team, agent, f"{name}:{channel or ''}")] = n
    return out


rollups.ops_figure(rollups.OpsFigure("csat_channel", csat_channel_parts, row_filters=frozenset({"team", "agent"})))


@metric(
    "csat_by_channel",
    family=CSAT,
    label=_("Response rate and positives by channel"),
    definition=_(
        "Satisfaction surveys sent in the period (chats and tickets), by channel (a chat's survey: "
        "live chat; a ticket's: the channel where the case started). Response rate = surveys "
        "answered (by now) ÷ sent; positive = rated 4 or 5 of 5, as a share of answers."
    ),
    filters=frozenset({"team", "agent"}),
    chart="column",
)
def csat_by_channel(window: Window) -> dict[str, Any]:
    figures = csat_by_channel_figures(window)
    names = {value: str(label) for value, label in Channel.choices}
    return table(
        [
            column("name", _("Channel")),
            column("sent", _("Sent"), "count"),
            column("responses", _("Answered"), "count"),
            column("response_rate_percent", _("Response rate"), "percent"),
            column("positive", _("Positive"), "count"),
            column("positive_percent", _("Positive share"), "percent"),
        ],
        [{"name": names.get(channel, channel), **values} for channel, values in figures.items()],
        chart="column",
    )


@metric(
    "csat_comments",
    family=CSAT,
    label=_("Latest comments"),
    definition=_(
        "The 20 latest survey comments answered in the period, newest first, with the rating and "
        "the case; the text as stored — the secret guard hid any seed phrase or key when it came in."
    ),
    filters=frozenset({"team", "agent"}),
)
def csat_comments(window: Window) -> dict[str, Any]:
    names = {value: str(label) for value, label in Channel.choices}
    rows = (
        _surveys(window)
        .filter(_in(window, "answered_at"), rating__isnull=False)
        .exclude(comment="")
        .order_by("-answered_at", "-id")
        .values_list("answered_at", "rating", "survey_channel", "ticket__case_number", "comment")[:TOP_ROWS]
    )
    return table(
        [
            column("name", _("Answered at")),
            column("rating", _("Rating"), "count"),
            column("channel", _("Channel")),
            column("case", _("Case")),
            column("comment", _("Comment")),
        ],
        [
            {
                "name": timezone.localtime(answered).strftime("%Y-%m-%d %H:%M"),
                "rating": rating,
                "channel": names.get(channel or "", channel or ""),
                "case": case or "",
                "comment": comment,
            }
            for answered, rating, channel, case, comment in rows
        ],
    )
