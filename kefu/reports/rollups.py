"""Where the report figures' aggregates come from: counts, durations and SLA results of the
tickets in a :class:`~kefu.reports.metrics.Window`, grouped by dimensions — from the rollup
tables (:mod:`kefu.reports.models`) for whole days that are built and unchanged since, and
from the live tables for the rest (today's partial day, a period's partial first or last
day, days not built yet or changed since their build), the two summed.

The figures' definitions live in :mod:`kefu.reports.metrics`; a day's rollup rows are built
by :func:`rebuild_day` from the very same live aggregates, so rollups equal the live
computation by construction (``tests/test_rollups.py`` checks it). Each rollup table has a
grain; a window filtered by something outside it (volume filtered by agent, response times
by channel) is computed live — exact, slower.

Freshness: today always comes from the live tables (a new ticket counts at once). A change to
an older ticket (a reply, a resolution, a breach, a reassignment) inserts a
:class:`~kefu.reports.models.RollupChange` for the ticket's creation day in its own
transaction (domain events, :func:`register`), which sends that day back to the live tables
until the periodic job (:func:`refresh`, every minute) rebuilds it.

Exact or approximate: counts (tickets, SLA met/breached, surveys) and duration counts are
exact either way. Percentiles are exact when every value is live; once a rolled-up day is in
the period they are read from fixed log-spaced buckets (:mod:`kefu.reports.buckets`): within
a factor of 1.259 of the exact value.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import logging
import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, F, Max, OuterRef, Q, Subquery, Sum
from django.db.models.functions import ExtractHour, TruncDate
from django.utils import timezone

from kefu.calendars.arithmetic import business_seconds_between
from kefu.calendars.selectors import cached_calendar_by_id
from kefu.reports.buckets import BUCKETS, bounds, bucket_of
from kefu.reports.models import (
    BacklogDaily,
    CsatDaily,
    DurationDaily,
    OpsDaily,
    RollupChange,
    RollupDay,
    SlaDaily,
    TicketDaily,
    TicketFact,
    TicketHourly,
)
from kefu.sla.models import BREACHED_Q, MET_Q, SlaTimer, TimerKind
from kefu.tickets.models import ACTIVE_Q

logger = logging.getLogger(__name__)


@dataclass
class Durations:
    """Durations of a group: exact values (live rows) and/or bucket counts (rolled-up days)."""

    values: list[float] = field(default_factory=list)
    buckets: list[int] = field(default_factory=lambda: [0] * BUCKETS)
    total_seconds: float = 0.0

    @property
    def count(self) -> int:
        return len(self.values) + sum(self.buckets)

    def add(self, seconds: float) -> None:
        self.values.append(seconds)
        self.total_seconds += seconds

    def merge_buckets(self, counts: Iterable[int], total: float) -> None:
        for index, n in enumerate(counts):
            self.buckets[index] += n
        self.total_seconds += total

    def bucket_counts(self) -> list[int]:
        counts = list(self.buckets)
        for value in self.values:
            counts[bucket_of(value)] += 1
        return counts

    def percentile(self, fraction: float) -> float | None:
        """Exact (interpolated at ``fraction * (n - 1)``, as ``percentile_cont``) when every
        value is known; otherwise read from the buckets (live values bucketed too)."""
        n = self.count
        if not n:
            return None
        if not any(self.buckets):
            ordered = sorted(self.values)
            position = fraction * (n - 1)
            low = math.floor(position)
            high = ordered[min(low + 1, n - 1)]
            return round(ordered[low] + (high - ordered[low]) * (position - low), 1)
        # As percentile_cont: interpolate between the values of ranks floor(p(n-1)) and the next.
        # Each is estimated inside the bucket that holds it (the c values of a bucket spread
        # evenly on its log scale), so it is within the bucket's ratio of the true value, and
        # so is their interpolation.
        counts = self.bucket_counts()
        position = fraction * (n - 1)
        low = math.floor(position)
        first, second = self._ranked(counts, low), self._ranked(counts, min(low + 1, n - 1))
        return round(first + (second - first) * (position - low), 1)

    @staticmethod
    def _ranked(counts: list[int], rank: int) -> float:
        """An estimate of the value of 0-based ``rank`` from bucket counts."""
        seen = 0
        for index, c in enumerate(counts):
            if c and rank < seen + c:
                share = (rank - seen + 0.5) / c
                lower, upper = bounds(index)
                return upper * share if index == 0 else lower * (upper / lower) ** share
            seen += c
        raise ValueError(rank)


NO_DURATIONS = Durations()

# Within one report request every panel reads the same aggregates: ``memo()`` shares them for
# its duration (outside it nothing is cached: a new ticket shows at once).
_MEMO: contextvars.ContextVar[dict[Any, Any] | None] = contextvars.ContextVar("reports_memo", default=None)


@contextlib.contextmanager
def memo() -> Iterator[None]:
    token = _MEMO.set({})
    try:
        yield
    finally:
        _MEMO.reset(token)


def _remember(key: Any, compute: Any) -> Any:
    cache = _MEMO.get()
    if cache is None:
        return compute()
    if key not in cache:
        cache[key] = compute()
    return cache[key]


# --- which days come from rollups ----------------------------------------------------------------


def midnight(day: date) -> datetime:
    """The start of ``day`` in the site's time zone."""
    return timezone.make_aware(datetime.combine(day, time.min))


def _whole_days(window: Any) -> list[tuple[date, datetime, datetime]]:
    """The days of the site's time zone that lie entirely inside the window, before today,
    with their start and end."""
    day = timezone.localdate(window.since)
    start = midnight(day)
    if start < window.since:
        day += timedelta(days=1)
        start = midnight(day)
    today = timezone.localdate()
    days = []
    while day < today:
        end = midnight(day + timedelta(days=1))
        if end > window.until:
            break
        days.append((day, start, end))
        day, start = day + timedelta(days=1), end
    return days


def day_runs(days: list[date]) -> list[tuple[date, date]]:
    """Sorted ``days`` as runs of consecutive days: (first, last) each."""
    runs: list[tuple[date, date]] = []
    for day in days:
        if runs and day == runs[-1][1] + timedelta(days=1):
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def days_q(days: list[date]) -> Q:
    """``day`` in ``days`` as a few ranges (consecutive days are one BETWEEN): a short query
    whatever the period."""
    condition = Q(pk__in=[])
    for first, last in day_runs(days):
        condition |= Q(day__gte=first, day__lte=last)
    return condition


# Raised when what a day's rows hold changes (a new column, a wider grain): days built before
# then are read live and rebuilt by the periodic job, as after a settings change.
ROLLUP_FORMAT = 4


def fingerprint() -> str:
    """A digest of what a day's rows are computed with: their format (:data:`ROLLUP_FORMAT`),
    the site's time zone (which instants make a day), every business calendar with its hours
    and exceptions (business times), the phone's answer limit and the category tree (which
    sub-categories a category's slice holds). Rows built with another digest are stale."""

    # The calendars as the business-time arithmetic reads them (the per-process cache: no query).
    from kefu.calendars.selectors import CALENDARS

    calendars = sorted(
        (
            pk,
            calendar.name,
            calendar.time_zone,
            calendar.always_open,
            sorted(calendar.weekly.items()),
            sorted(calendar.overrides.items()),
            type(calendar.holidays).__name__,
            sorted(vars(calendar.holidays).items()) if hasattr(calendar.holidays, "__dict__") else "",
        )
        for pk, calendar in CALENDARS.get().items()
    )
    parts = [
        ROLLUP_FORMAT,
        settings.TIME_ZONE,
        int(settings.KEFU_REPORTS_PHONE_ANSWER_SECONDS),
        calendars,
        _holiday_data(),
        _category_parents(),
    ]
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:32]


def _category_parents() -> list[tuple[int, int]]:
    """(category, parent) of every sub-category: a category's slice holds its sub-categories'
    tickets, so moving one under another parent changes what built rows mean (one small query)."""
    from kefu.tickets.models import Category

    return _remember(
        "category-parents",
        lambda: sorted(Category.objects.filter(parent__isnull=False).values_list("pk", "parent_id")),
    )


def _holiday_data() -> str:
    """The official holiday data's version (an upgrade can change business times)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("chinesecalendar")
    except PackageNotFoundError:
        return ""


def _clean_days(first: date, last: date) -> frozenset[date]:
    """Days in [first, last] with rollup rows that no change has made stale and that were
    built with the present settings (one query)."""

    def load() -> frozenset[date]:
        rows = RollupDay.objects.filter(day__gte=first, day__lte=last, fingerprint=fingerprint()).exclude(
            day__in=RollupChange.objects.filter(day__gte=first, day__lte=last).values("day")
        )
        return frozenset(rows.values_list("day", flat=True))

    return _remember(("clean", first, last), load)


# Chats, calls and bot conversations change for a while after they begin (a chat is taken,
# closed by the idle sweep; a call ends): the operations figures read a day from its rollup rows
# only when they were built after this much time past the day's end (metrics.LONGEST_CONTACT,
# the longest a chat or call is counted), and the live tables before that.
SETTLE = timedelta(days=2)


def _settled_days(first: date, last: date, settle: timedelta) -> frozenset[date]:
    """The clean days of [first, last] whose rows were built ``settle`` after the day ended."""

    def load() -> frozenset[date]:
        clean = _clean_days(first, last)
        built = RollupDay.objects.filter(day__in=clean).values_list("day", "built_at")
        return frozenset(day for day, at in built if at >= midnight(day + timedelta(days=1)) + settle)

    return _remember(("settled", first, last, settle), load)


def plan(
    window: Any, grain: frozenset[str], *, settled: timedelta | None = None
) -> tuple[list[date], list[Any]]:
    """Split ``window`` into whole days read from a rollup of ``grain`` (the filters its rows
    can apply) and the live windows covering the rest, in time order. ``settled``: only days
    whose rows were built that long after the day ended (the operations figures)."""
    if not window.active_filters() <= grain:
        return [], [window]
    return _remember(("plan", window, settled), lambda: _plan(window, settled))


def _plan(window: Any, settled: timedelta | None) -> tuple[list[date], list[Any]]:
    days = _whole_days(window)
    if not days:
        return [], [window]
    if settled is None:
        clean = _clean_days(days[0][0], days[-1][0])
    else:
        clean = _settled_days(days[0][0], days[-1][0], settled)
    rolled = []
    live = []
    cursor = window.since
    for day, start, end in days:
        if day not in clean:
            continue
        rolled.append(day)
        if cursor < start:
            live.append(replace(window, since=cursor, until=start))
        cursor = end
    if cursor < window.until:
        live.append(replace(window, since=cursor, until=window.until))
    return rolled, live


def _rollup_filters(window: Any, *, team: str = "team_id", agent: str = "agent_id") -> dict[str, Any]:
    from kefu.reports import metrics

    out: dict[str, Any] = {}
    if window.team is not None:
        out[team] = window.team
    if window.agent is not None:
        out[agent] = window.agent
    if window.channel is not None:
        out["channel"] = window.channel
    if window.category is not None:
        # The ids themselves, not a subquery: the planner then reads only their index ranges.
        out["category_id__in"] = _remember(
            ("category-ids", window.category),
            lambda: list(metrics.category_ids(window.category).values_list("pk", flat=True)),
        )
    return out


# --- ticket counts -----------------------------------------------------------------------------

DIMENSIONS = ("channel", "category", "team", "agent", "day", "hour")
_FIELD = {"channel": "channel", "category": "category__slug", "team": "team_id", "agent": "assignee_id"}
DAILY_GRAIN = frozenset({"team", "channel", "category"})
HOURLY_GRAIN = frozenset({"channel", "team"})


def _live_ticket_counts(window: Any, dims: tuple[str, ...]) -> dict[tuple[Any, ...], int]:
    from kefu.reports import metrics

    qs = metrics.tickets_in(window)
    zone = timezone.get_current_timezone()
    names = []
    for index, dim in enumerate(dims):
        name = f"k{index}"
        if dim == "day":
            qs = qs.annotate(**{name: TruncDate("created_at", tzinfo=zone)})
        elif dim == "hour":
            qs = qs.annotate(**{name: ExtractHour("created_at", tzinfo=zone)})
        else:
            qs = qs.annotate(**{name: F(_FIELD[dim])})
        names.append(name)
    rows = qs.values(*names).annotate(n=Count("id")).order_by()
    return {tuple(row[name] for name in names): row["n"] for row in rows}


# The daily groupings the pages ask for; on PostgreSQL one scan answers them all.
_CUBE = {("channel",): 3, ("category",): 5, ("day",): 6, ("channel", "category"): 1}


def _rolled_cube(window: Any, days: list[date]) -> dict[tuple[str, ...], dict[tuple[Any, ...], int]]:
    """Every grouping of :data:`_CUBE` from ``TicketDaily`` in one ``GROUPING SETS`` query
    (PostgreSQL): one pass over the rows instead of one per panel."""
    from django.db import connection

    sql, params = (
        TicketDaily.objects.filter(days_q(days), **_rollup_filters(window))
        .values_list("channel", "category_id", "day", "created")
        .query.sql_with_params()
    )
    out: dict[tuple[str, ...], dict[tuple[Any, ...], int]] = {dims: {} for dims in _CUBE}
    by_mask = {mask: dims for dims, mask in _CUBE.items()}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT channel, category_id, day, GROUPING(channel, category_id, day), SUM(created) "
            f"FROM ({sql}) AS t(channel, category_id, day, created) "
            "GROUP BY GROUPING SETS ((channel), (category_id), (day), (channel, category_id))",
            params,
        )
        for channel, category, day, mask, n in cursor.fetchall():
            dims = by_mask[mask]
            values = {"channel": channel, "category": category, "day": day}
            out[dims][tuple(values[d] for d in dims)] = int(n)
    return out


def _rolled_ticket_counts(window: Any, days: list[date], dims: tuple[str, ...]) -> dict[tuple[Any, ...], int]:
    from django.db import connection

    if dims in _CUBE and connection.vendor == "postgresql":
        out = dict(_remember(("cube", window), lambda: _rolled_cube(window, days))[dims])
        return _slugs(out, dims)
    hourly = "hour" in dims
    model = TicketHourly if hourly else TicketDaily
    columns = {
        "channel": "channel",
        "category": "category_id",
        "team": "team_id",
        "day": "day",
        "hour": "hour",
    }
    fields = [columns[dim] for dim in dims]
    filters = _rollup_filters(window)
    rows = model.objects.filter(days_q(days), **filters).values(*fields).annotate(n=Sum("created")).order_by()
    return _slugs({tuple(row[f] for f in fields): row["n"] for row in rows}, dims)


def _slugs(out: dict[tuple[Any, ...], int], dims: tuple[str, ...]) -> dict[tuple[Any, ...], int]:
    if "category" in dims:  # rows keep the category's id; the figures name its slug
        from kefu.tickets.models import Category

        index = dims.index("category")
        slugs = dict(Category.objects.filter(pk__in={key[index] for key in out}).values_list("pk", "slug"))
        renamed: dict[tuple[Any, ...], int] = defaultdict(int)
        for key, n in out.items():
            renamed[key[:index] + (slugs.get(key[index]),) + key[index + 1 :]] += n
        out = dict(renamed)
    return out


_FINE = ("channel", "category", "day", "hour")


def _live_counts(part: Any, dims: tuple[str, ...]) -> dict[tuple[Any, ...], int]:
    """The live part's counts. A short part (today's, a partial day) is read once at the finest
    grouping the pages use and summed here for each panel: one query instead of one a panel."""
    if not set(dims) <= set(_FINE) or part.until - part.since > timedelta(days=2):
        return _live_ticket_counts(part, dims)
    fine = _remember(("live-fine", part), lambda: _live_ticket_counts(part, _FINE))
    out: dict[tuple[Any, ...], int] = defaultdict(int)
    positions = [_FINE.index(dim) for dim in dims]
    for key, n in fine.items():
        out[tuple(key[i] for i in positions)] += n
    return dict(out)


def ticket_counts(window: Any, *dims: str) -> dict[Any, int]:
    """Tickets created in the window, by ``dims`` (of :data:`DIMENSIONS`; day: a date and
    hour: 0-23, in the site's time zone); keys are tuples when several dims are given."""

    def compute() -> dict[Any, int]:
        grain: frozenset[str]
        if "agent" in dims:
            grain = frozenset()
        elif "hour" in dims:
            grain = HOURLY_GRAIN if set(dims) <= {"hour", "channel", "team"} else frozenset()
        else:
            grain = DAILY_GRAIN
        days, live = plan(window, grain) if grain else ([], [window])
        facts = not days and not (window.active_filters() <= grain and set(dims) <= set(DIMENSIONS) - {"agent"})
        if facts:  # outside the daily tables' grain: the rolled-up days' per-ticket rows
            days, live = plan(window, FACT_GRAIN)
        total: dict[tuple[Any, ...], int] = defaultdict(int)
        if days:
            rolled = _fact_counts(window, days, dims) if facts else _rolled_ticket_counts(window, days, dims)
            for key, n in rolled.items():
                total[key] += n
        for part in live:
            for key, n in _live_counts(part, dims).items():
                total[key] += n
        return {key if len(dims) > 1 else key[0]: n for key, n in total.items()}

    return _remember(("counts", window, dims), compute)


# --- per-ticket rows: figures filtered outside the daily tables' grains ----------------------------

FACT_GRAIN = frozenset({"team", "channel", "category", "agent"})
_FACT_COLUMNS = {
    "channel": "channel",
    "category": "category_id",
    "team": "team_id",
    "agent": "agent_id",
    "day": "day",
    "hour": "hour",
}


def _fact_duration_rows(window: Any, days: list[date]) -> list[tuple[str, Any, Any, int, int, float]]:
    """The four measures' bucket counts per team × agent from the per-ticket rows, in one pass
    over them (PostgreSQL: each row unpivoted into its four durations)."""

    def compute() -> list[tuple[str, Any, Any, int, int, float]]:
        sql, params = (
            TicketFact.objects.filter(days_q(days), **_rollup_filters(window))
            .values_list("team_id", "agent_id", *MEASURES)
            .query.sql_with_params()
        )
        unpivot = ", ".join(f"('{measure}', f.{measure})" for measure in MEASURES)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT m, team_id, agent_id, {_BUCKET_SQL}, COUNT(*), SUM(v) "
                f"FROM ({sql}) AS f(team_id, agent_id, {', '.join(MEASURES)}) "
                f"CROSS JOIN LATERAL (VALUES {unpivot}) AS x(m, v) WHERE v IS NOT NULL GROUP BY 1, 2, 3, 4",
                params,
            )
            return list(cursor.fetchall())

    return _remember(("fact-durations", window), compute)


def _fact_counts(window: Any, days: list[date], dims: tuple[str, ...]) -> dict[tuple[Any, ...], int]:
    fields = [_FACT_COLUMNS[dim] for dim in dims]
    rows = (
        TicketFact.objects.filter(days_q(days), **_rollup_filters(window))
        .values(*fields)
        .annotate(n=Count("ticket_id"))
        .order_by()
    )
    return _slugs({tuple(row[f] for f in fields): row["n"] for row in rows}, dims)


# The bucket of a duration in SQL: buckets.bucket_of's arithmetic.
_BUCKET_SQL = f"CASE WHEN v < 1 THEN 0 ELSE LEAST({BUCKETS - 1}, 1 + FLOOR(LOG(v) * 10 + 1e-9)::int) END"


def _fact_durations(window: Any, days: list[date], target: str) -> dict[str, dict[str, dict[Any, Durations]]]:
    """As :func:`_rolled_durations`, from the per-ticket rows of ``days`` narrowed by every
    filter of the window: bucket counts per team × agent (PostgreSQL counts them in SQL)."""
    measures = (target, f"{target}_business")
    out: dict[str, dict[str, dict[Any, Durations]]] = {measure: _grouped() for measure in measures}
    base = TicketFact.objects.filter(days_q(days), **_rollup_filters(window))
    rows: list[tuple[str, Any, Any, int, int, float]] = []
    if connection.vendor == "postgresql":
        rows = [row for row in _fact_duration_rows(window, days) if row[0] in measures]
    for measure in measures if connection.vendor != "postgresql" else ():
        qs = base.filter(**{f"{measure}__isnull": False}).values_list("team_id", "agent_id", measure)
        if connection.vendor == "postgresql":
            sql, params = qs.query.sql_with_params()
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT team_id, agent_id, {_BUCKET_SQL}, COUNT(*), SUM(v) "
                    f"FROM ({sql}) AS t(team_id, agent_id, v) GROUP BY 1, 2, 3",
                    params,
                )
                rows += [(measure, *row) for row in cursor.fetchall()]
        else:
            counted: dict[tuple[Any, Any, int], list[float]] = defaultdict(lambda: [0, 0.0])
            for team, agent, seconds in qs.iterator(chunk_size=5000):
                entry = counted[(team, agent, bucket_of(seconds))]
                entry[0] += 1
                entry[1] += seconds
            rows += [(measure, *key, int(n), total) for key, (n, total) in counted.items()]
    for measure, team, agent, bucket, n, total in rows:
        counts = [0] * BUCKETS
        counts[int(bucket)] = int(n)
        for name, key in (("team", team), ("agent", agent), ("all", None)):
            out[measure][name][key].merge_buckets(counts, float(total or 0.0))
    return out


# --- durations ---------------------------------------------------------------------------------

MEASURES = ("first_reply", "first_reply_business", "resolution", "resolution_business")
_END = {"first_reply": "first_response_at", "resolution": "resolved_at"}
_TIMER = {"first_reply": TimerKind.FIRST_REPLY, "resolution": TimerKind.RESOLUTION}
DURATION_GRAIN = frozenset({"team", "agent"})


def duration_rows(qs: Any, target: str, *, business: bool) -> Iterator[tuple[int | None, int | None, float]]:
    """(team, assignee, seconds) for each ticket of ``qs`` that reached ``target`` ("first_reply"
    or "resolution"): calendar seconds, or with ``business`` the working seconds on the
    calendar of its SLA timer for that target (else the default calendar) — the SLA's own
    arithmetic (``kefu.calendars``)."""
    for _pk, team, agent, seconds in _ticket_durations(qs, target, business=business):
        yield team, agent, seconds


def _ticket_durations(
    qs: Any, target: str, *, business: bool
) -> Iterator[tuple[int, int | None, int | None, float]]:
    """:func:`duration_rows` with each ticket's pk first."""
    end = _END[target]
    qs = qs.filter(**{f"{end}__isnull": False})
    if not business:
        for pk, team, agent, start, stop in qs.values_list(
            "pk", "team_id", "assignee_id", "created_at", end
        ).iterator(chunk_size=5000):
            yield pk, team, agent, max((stop - start).total_seconds(), 0.0)
        return
    calendar_of = SlaTimer.objects.filter(ticket=OuterRef("pk"), kind=_TIMER[target]).order_by("-started_at")
    rows = qs.annotate(calendar=Subquery(calendar_of.values("calendar_id")[:1])).values_list(
        "pk", "team_id", "assignee_id", "created_at", end, "calendar"
    )
    for pk, team, agent, start, stop, calendar_id in rows.iterator(chunk_size=5000):
        yield pk, team, agent, business_seconds_between(cached_calendar_by_id(calendar_id), start, stop)


def _grouped() -> dict[str, dict[Any, Durations]]:
    return {"team": defaultdict(Durations), "agent": defaultdict(Durations), "all": defaultdict(Durations)}


# The sliced daily tables (DurationDaily, SlaDaily, BacklogDaily) hold, per day, rows of every
# channel and category, and slices of one channel or one category (with its sub-categories): a
# window filtered by team, agent and one of channel or category reads one slice.
SLICE_GRAINS = (frozenset({"team", "agent", "channel"}), frozenset({"team", "agent", "category"}))


def in_slices(window: Any) -> bool:
    """Whether one slice of the sliced tables answers ``window``'s filters."""
    return any(window.active_filters() <= grain for grain in SLICE_GRAINS)


def slice_grain(window: Any) -> frozenset[str]:
    """The grain of the slice ``window`` reads (for :func:`plan`)."""
    return SLICE_GRAINS[1] if "category" in window.active_filters() else SLICE_GRAINS[0]


def _slice(window: Any) -> dict[str, Any]:
    """The sliced tables' rows a window reads: its channel's, its category's (the slug's own
    slice: its sub-categories' tickets are in it), or those of every channel and category."""
    from kefu.tickets.models import Category

    filters = _rollup_filters(window)
    filters.pop("category_id__in", None)
    filters.setdefault("channel", "")  # (BacklogDaily alone has slices of a channel × category)
    if window.category is None:
        filters["category_id__isnull"] = True
    else:
        filters["category_id"] = _remember(
            ("category-id", window.category),
            lambda: Category.objects.filter(slug=window.category).values_list("pk", flat=True).first() or 0,
        )
    return filters


def _slices_of(channel: str, category: int, parents: dict[int, int]) -> list[tuple[str, int | None]]:
    """The (channel, category) slices a ticket's figures go into: every channel and category, its
    channel's, its category's, and its parent category's."""
    keys: list[tuple[str, int | None]] = [("", None), (channel, None), ("", category)]
    if category in parents:
        keys.append(("", parents[category]))
    return keys


def _rolled_durations(
    window: Any, days: list[date], target: str
) -> dict[str, dict[str, dict[Any, Durations]]]:
    """Both measures of ``target`` (calendar and business time) from the rollup rows of
    ``days``, grouped by team, agent and all: one query for the two."""
    measures = (target, f"{target}_business")
    out: dict[str, dict[str, dict[Any, Durations]]] = {measure: _grouped() for measure in measures}
    sums = {"n": Sum("count"), "total": Sum("total_seconds")}
    sums.update({f"b{k}": Sum(f"b{k}") for k in range(BUCKETS)})
    rows = (
        DurationDaily.objects.filter(days_q(days), measure__in=measures, **_slice(window))
        .values("measure", "team_id", "agent_id")
        .annotate(**sums)
        .order_by()
    )
    for row in rows:
        counts = [row[f"b{k}"] or 0 for k in range(BUCKETS)]
        groups = out[row["measure"]]
        for name, key in (("team", row["team_id"]), ("agent", row["agent_id"]), ("all", None)):
            groups[name][key].merge_buckets(counts, row["total"] or 0.0)
    return out


def _live_durations(live: list[Any], measure: str) -> dict[str, dict[Any, Durations]]:
    """One measure's live values (business time is computed only when asked for)."""
    from kefu.reports import metrics

    target = measure.removesuffix("_business")
    groups = _grouped()
    for part in live:
        for team, agent, seconds in duration_rows(
            metrics.tickets_in(part), target, business=measure.endswith("_business")
        ):
            groups["team"][team].add(seconds)
            groups["agent"][agent].add(seconds)
            groups["all"][None].add(seconds)
    return groups


def durations(window: Any, measure: str, dimension: str) -> dict[Any, Durations]:
    """Durations of ``measure`` (one of :data:`MEASURES`) for the window's tickets, grouped by
    ``dimension`` ("team", "agent", or "all": one group keyed None, absent when empty)."""
    target = measure.removesuffix("_business")
    # DurationDaily holds slices by channel and by category: one of them at a time is in its grain.
    days, live = plan(window, slice_grain(window))
    facts = not days and not in_slices(window)
    if facts:  # outside DurationDaily's grain: the rolled-up days' per-ticket rows
        days, live = plan(window, FACT_GRAIN)
    source = _fact_durations if facts else _rolled_durations
    rolled = (
        _remember(("durations-rolled", window, target), lambda: source(window, days, target))[measure][dimension]
        if days
        else {}
    )
    values = _remember(("durations-live", window, measure), lambda: _live_durations(live, measure))[dimension]
    out = {}
    for key in rolled.keys() | values.keys():
        merged = Durations(values=list(values[key].values) if key in values else [])
        merged.total_seconds = sum(
            v.total_seconds for v in (values.get(key), rolled.get(key)) if v is not None
        )
        if key in rolled:
            merged.buckets = list(rolled[key].buckets)
        out[key] = merged
    return out


# --- SLA -----------------------------------------------------------------------------------------

SLA_MET_Q = MET_Q
SLA_BREACHED_Q = BREACHED_Q
SLA_GRAIN = frozenset({"team", "agent"})


def _live_sla_rows(window: Any) -> list[tuple[str, Any, Any, int, int]]:
    from kefu.reports import metrics

    rows = (
        SlaTimer.objects.filter(ticket__in=metrics.tickets_in(window))
        .values("kind", "ticket__team_id", "ticket__assignee_id")
        .annotate(met=Count("id", filter=SLA_MET_Q), breached=Count("id", filter=SLA_BREACHED_Q))
        .order_by()
    )
    return [
        (row["kind"], row["ticket__team_id"], row["ticket__assignee_id"], row["met"], row["breached"])
        for row in rows
    ]


SLA_KINDS = tuple(TimerKind.values)


def _fact_sla_rows(window: Any, days: list[date]) -> list[tuple[str, Any, Any, int, int]]:
    """:func:`_live_sla_rows` from the per-ticket rows of ``days`` (every filter applies)."""
    sums = {
        f"{kind}_{part}": Sum(f"sla_{kind}_{part}") for kind in SLA_KINDS for part in ("timers", "met", "breached")
    }
    rows = (
        TicketFact.objects.filter(days_q(days), **_rollup_filters(window))
        .values("team_id", "agent_id")
        .annotate(**sums)
        .order_by()
    )
    return [
        (kind, row["team_id"], row["agent_id"], row[f"{kind}_met"], row[f"{kind}_breached"])
        for row in rows
        for kind in SLA_KINDS
        if row[f"{kind}_timers"]
    ]


def _live_sla_by_ticket(window: Any) -> list[tuple[int, str, int, int, int]]:
    """Per ticket of the window and target kind: timers, met, breached."""
    from kefu.reports import metrics

    return list(
        SlaTimer.objects.filter(ticket__in=metrics.tickets_in(window))
        .values_list("ticket_id", "kind")
        .annotate(timers=Count("id"), met=Count("id", filter=SLA_MET_Q), breached=Count("id", filter=SLA_BREACHED_Q))
        .order_by()
    )


def _sla_by_group(window: Any) -> dict[str, dict[Any, tuple[int, int]]]:
    # SlaDaily holds slices by channel and by category: one of them at a time is in its grain.
    days, live = plan(window, slice_grain(window))
    rows = []
    if not days and not in_slices(window):  # channel and category together: per-ticket rows
        days, live = plan(window, FACT_GRAIN)
        if days:
            rows += _fact_sla_rows(window, days)
    elif days:
        rows += [
            (r["kind"], r["team_id"], r["agent_id"], r["m"], r["b"])
            for r in SlaDaily.objects.filter(days_q(days), **_slice(window))
            .values("kind", "team_id", "agent_id")
            .annotate(m=Sum("met"), b=Sum("breached"))
            .order_by()
        ]
    for part in live:
        rows += _live_sla_rows(part)
    groups: dict[str, dict[Any, list[int]]] = {"target": {}, "team": {}, "agent": {}}
    for kind, team, agent, met, breached in rows:
        for name, key in (("target", kind), ("team", team), ("agent", agent)):
            counts = groups[name].setdefault(key, [0, 0])
            counts[0] += met
            counts[1] += breached
    return {name: {key: (v[0], v[1]) for key, v in group.items()} for name, group in groups.items()}


def sla_counts(window: Any, dimension: str) -> dict[Any, tuple[int, int]]:
    """SLA targets of the window's tickets (met, breached) — the summary's definitions — by
    ``dimension``: "target" (the timer kind), "team" or "agent"."""
    return dict(_remember(("sla", window), lambda: _sla_by_group(window))[dimension])


# --- backlog ---------------------------------------------------------------------------------------


def backlog_counts(window: Any, ages: tuple[float | None, ...]) -> dict[tuple[int, Any], int]:
    """Open tickets now (the backlog's definition: ``window``'s filters, not its period) by age
    bucket × team. Bucket ``i`` holds the tickets created in (now − ``ages[i]`` hours, now −
    ``ages[i-1]`` hours] (``ages``: the buckets' upper bounds, ascending; None: no bound).

    A rolled-up day, clean and lying wholly inside one bucket, is read from
    :class:`BacklogDaily`: the tickets open when it was built are the ones open now, since a
    change to any of its tickets (status, assignment, category, merge) marks the day. The rest —
    today, the few days across a bucket's edge, days changed since their build or not built —
    is counted on the live tables, over their ranges of creation time only: rows read grow with
    the days of the period, not with the open tickets."""
    return dict(_remember(("backlog", window, ages), lambda: _backlog_counts(window, ages)))


def _backlog_counts(window: Any, ages: tuple[float | None, ...]) -> dict[tuple[int, Any], int]:
    from kefu.reports import metrics

    now = timezone.now()
    # Bucket i: created after ``after`` (None: no bound) and at or before ``upto``.
    edges: list[tuple[datetime | None, datetime | None]] = []
    lower: float | None = None
    for hours in ages:
        edges.append(
            (
                None if hours is None else now - timedelta(hours=hours),
                None if lower is None else now - timedelta(hours=lower),
            )
        )
        lower = hours
    # BacklogDaily has a slice for every combination of filters (channel × category too).
    rolled: dict[date, int] = {}
    for day in sorted(_clean_days(date(1970, 1, 1), timezone.localdate() - timedelta(days=1))):
        start, end = midnight(day), midnight(day + timedelta(days=1))
        for index, (after, upto) in enumerate(edges):
            if (after is None or start > after) and (upto is None or end <= upto):
                rolled[day] = index
                break
    counts: dict[tuple[int, Any], int] = defaultdict(int)
    if rolled:
        rows = (
            BacklogDaily.objects.filter(days_q(sorted(rolled)), **_slice(window))
            .values_list("day", "team_id")
            .annotate(n=Sum("open"))
            .order_by()
        )
        for day, team, n in rows:
            counts[(rolled[day], team)] += n
    # The live part: tickets created outside the rolled-up days (the gaps between their runs).
    gaps = Q()
    if rolled:
        gaps = Q(pk__in=[])
        cursor: datetime | None = None
        for first, last in day_runs(sorted(rolled)):
            start = midnight(first)
            gaps |= Q(created_at__lt=start) if cursor is None else Q(created_at__gte=cursor, created_at__lt=start)
            cursor = midnight(last + timedelta(days=1))
        gaps |= Q(created_at__gte=cursor)
    buckets = {}
    for index, (after, upto) in enumerate(edges):
        condition = Q()
        if after is not None:
            condition &= Q(created_at__gt=after)
        if upto is not None:
            condition &= Q(created_at__lte=upto)
        buckets[f"b{index}"] = Count("id", filter=condition)
    live = metrics.backlog_in(window).filter(gaps).values("team_id").annotate(**buckets).order_by()
    for row in live:
        for index in range(len(edges)):
            counts[(index, row["team_id"])] += row[f"b{index}"]
    return {key: n for key, n in counts.items() if n}


# --- satisfaction surveys -------------------------------------------------------------------------


def _live_csat(window: Any) -> dict[str, int]:
    from kefu.csat.models import CsatSurvey
    from kefu.reports.metrics import POSITIVE_RATING

    answered = Q(rating__isnull=False, answered_at__gte=window.since, answered_at__lt=window.until)
    offered = Q(created_at__gte=window.since, created_at__lt=window.until)
    return CsatSurvey.objects.filter(answered | offered).aggregate(
        responses=Count("id", filter=answered),
        positive=Count("id", filter=answered & Q(rating__gte=POSITIVE_RATING)),
        sent=Count("id", filter=offered),
    )


def csat_counts(window: Any) -> dict[str, int]:
    """Surveys answered in the window (and positive ones) and offered in it; no filters (a
    chat's survey has no ticket)."""
    bare = replace(window, team=None, channel=None, category=None, agent=None)
    days, live = plan(bare, frozenset())
    total = {"responses": 0, "positive": 0, "sent": 0}
    if days:
        sums = CsatDaily.objects.filter(days_q(days)).aggregate(
            responses=Sum("responses"), positive=Sum("positive"), sent=Sum("sent")
        )
        for key in total:
            total[key] += sums[key] or 0
    for part in live:
        for key, n in _live_csat(part).items():
            total[key] += n
    return total


# --- building ------------------------------------------------------------------------------------


def rebuild_day(day: date) -> None:
    """Replace ``day``'s rollup rows by the live tables' aggregates (idempotent).

    The day's change marks are deleted first, in their own transaction: a change committed
    while this runs leaves a new mark behind, so the day stays live until rebuilt again."""
    from kefu.reports import metrics

    if day >= timezone.localdate():
        raise ValueError("only days before today are rolled up")
    RollupChange.objects.filter(day=day).delete()
    window = metrics.Window(since=midnight(day), until=midnight(day + timedelta(days=1)))
    daily = [
        TicketDaily(day=day, channel=channel, category_id=category, team_id=team, created=n)
        for (channel, category, team), n in _live_counts_by_ids(window).items()
    ]
    hourly = [
        TicketHourly(day=day, hour=hour, channel=channel, team_id=team, created=n)
        for (hour, channel, team), n in _live_ticket_counts(window, ("hour", "channel", "team")).items()
    ]
    zone = timezone.get_current_timezone()
    facts = {
        pk: TicketFact(
            day=day, ticket_id=pk, hour=hour, channel=channel, category_id=category, team_id=team, agent_id=agent
        )
        for pk, hour, channel, category, team, agent in metrics.tickets_in(window)
        .annotate(local_hour=ExtractHour("created_at", tzinfo=zone))
        .values_list("pk", "local_hour", "channel", "category_id", "team_id", "assignee_id")
        .iterator(chunk_size=5000)
    }
    from kefu.tickets.models import Category

    parents = dict(Category.objects.filter(parent__isnull=False).values_list("pk", "parent_id"))
    durations_rows = []
    for measure in MEASURES:
        target = measure.removesuffix("_business")
        # (channel, category, team, agent): all channels and categories, then the ticket's
        # channel's slice, its category's and its parent category's.
        groups: dict[tuple[Any, Any, Any, Any], Durations] = defaultdict(Durations)
        for pk, team, agent, seconds in _ticket_durations(
            metrics.tickets_in(window), target, business=measure.endswith("_business")
        ):
            if pk not in facts:
                groups[("", None, team, agent)].add(seconds)
                continue
            setattr(facts[pk], measure, seconds)
            for channel, category in _slices_of(facts[pk].channel, facts[pk].category_id, parents):
                groups[(channel, category, team, agent)].add(seconds)
        for (channel, category, team, agent), values in groups.items():
            counts = values.bucket_counts()
            durations_rows.append(
                DurationDaily(
                    day=day,
                    team_id=team,
                    agent_id=agent,
                    channel=channel,
                    category_id=category,
                    measure=measure,
                    count=values.count,
                    total_seconds=values.total_seconds,
                    **{f"b{k}": counts[k] for k in range(BUCKETS)},
                )
            )
    # SLA per target × team × agent and slice, from each ticket's timers (a group exists when
    # a ticket of it has a timer of that kind, as _live_sla_rows groups them).
    sla_groups: dict[tuple[Any, ...], list[int]] = {}
    for pk, kind, timers, met, breached in _live_sla_by_ticket(window):
        if pk in facts and kind in SLA_KINDS:
            fact = facts[pk]
            for part, n in (("timers", timers), ("met", met), ("breached", breached)):
                setattr(fact, f"sla_{kind}_{part}", n)
            for channel, category in _slices_of(fact.channel, fact.category_id, parents):
                counts = sla_groups.setdefault((kind, fact.team_id, fact.agent_id, channel, category), [0, 0])
                counts[0] += met
                counts[1] += breached
    sla_rows = [
        SlaDaily(
            day=day,
            kind=kind,
            team_id=team,
            agent_id=agent,
            channel=channel,
            category_id=category,
            met=met,
            breached=breached,
        )
        for (kind, team, agent, channel, category), (met, breached) in sla_groups.items()
    ]
    backlog_rows = _backlog_rows(day, window, parents)
    csat = _live_csat(window)
    ops_rows, ops_durations = _ops_rows(day, window)
    with transaction.atomic():
        for model in (TicketDaily, TicketHourly, DurationDaily, SlaDaily, CsatDaily, TicketFact, OpsDaily):
            model.objects.filter(day=day).delete()
        BacklogDaily.objects.filter(day=day).delete()
        TicketDaily.objects.bulk_create(daily, batch_size=1000)
        TicketHourly.objects.bulk_create(hourly, batch_size=1000)
        # The sliced tables' rows of a day in slice order: a report reads one slice, a few
        # contiguous pages a day instead of a page a row (a DurationDaily row fills a tenth of one).
        DurationDaily.objects.bulk_create(
            sorted(durations_rows, key=_slice_order) + ops_durations, batch_size=200
        )
        SlaDaily.objects.bulk_create(sorted(sla_rows, key=_slice_order), batch_size=1000)
        BacklogDaily.objects.bulk_create(sorted(backlog_rows, key=_slice_order), batch_size=1000)
        CsatDaily.objects.create(day=day, **csat)
        # A day's rows in (channel, category) order: a filter by either reads a few runs of
        # pages a day through its index instead of every page.
        TicketFact.objects.bulk_create(
            sorted(facts.values(), key=lambda f: (f.channel, f.category_id, f.team_id or 0, f.agent_id or 0)),
            batch_size=2000,
        )
        OpsDaily.objects.bulk_create(ops_rows, batch_size=2000)
        RollupDay.objects.update_or_create(
            day=day, defaults={"built_at": timezone.now(), "fingerprint": fingerprint()}
        )


def _slice_order(row: Any) -> tuple[Any, ...]:
    """A sliced table's row's place in its day: by slice, then measure or target, team, agent."""
    return (
        row.channel,
        row.category_id is not None,
        row.category_id or 0,
        getattr(row, "measure", "") or getattr(row, "kind", ""),
        row.team_id or 0,
        row.agent_id or 0,
    )


def _backlog_rows(day: date, window: Any, parents: dict[int, int]) -> list[BacklogDaily]:
    """The day's tickets open now (the backlog's definition), per team × agent and slice: every
    slice of :func:`_slices_of`, and one per channel × category (and × parent category), so that
    the backlog filtered by both reads one slice too."""
    from kefu.reports import metrics

    groups: dict[tuple[Any, ...], int] = defaultdict(int)
    for team, agent, channel, category, n in (
        metrics.tickets_in(window)
        .filter(ACTIVE_Q)
        .values_list("team_id", "assignee_id", "channel", "category_id")
        .annotate(n=Count("id"))
        .order_by()
    ):
        slices = _slices_of(channel, category, parents)
        slices += [(channel, slice_category) for _all, slice_category in slices if slice_category is not None]
        for slice_channel, slice_category in slices:
            groups[(team, agent, slice_channel, slice_category)] += n
    return [
        BacklogDaily(day=day, team_id=team, agent_id=agent, channel=channel, category_id=category, open=n)
        for (team, agent, channel, category), n in groups.items()
    ]


def _live_counts_by_ids(window: Any) -> dict[tuple[Any, ...], int]:
    from kefu.reports import metrics

    rows = (
        metrics.tickets_in(window)
        .values("channel", "category_id", "team_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {(row["channel"], row["category_id"], row["team_id"]): row["n"] for row in rows}


def rebuild(since: date | None = None, until: date | None = None) -> int:
    """Build every day from ``since`` (default: the first ticket's day) to ``until`` (default:
    yesterday), both included; returns the number of days built."""
    from kefu.tickets.models import Ticket

    yesterday = timezone.localdate() - timedelta(days=1)
    last = min(until or yesterday, yesterday)
    if since is None:
        first = Ticket.objects.order_by("created_at").values_list("created_at", flat=True).first()
        if first is None:
            return 0
        since = timezone.localdate(first)
    built = 0
    day = since
    while day <= last:
        rebuild_day(day)
        built += 1
        day += timedelta(days=1)
    return built


# --- operations figures ----------------------------------------------------------------------------


@dataclass(frozen=True)
class OpsFigure:
    """An operations figure's additive parts, computed by ``parts`` for any window (the live
    computation; the same function builds a day's :class:`OpsDaily` rows) as
    ``{(team, agent, key): value}``, and its durations (``measure``: a function giving
    ``(team, agent, seconds)`` of a window, kept per day in :class:`DurationDaily`'s buckets).
    ``row_filters``: the window filters that narrow rows by their ``team_id``/``agent_id`` (the
    figure ignores, or applies afterwards, the others). Keys in ``peaks`` combine by maximum."""

    name: str
    parts: Callable[[Any], dict[tuple[Any, Any, str], float]]
    durations: tuple[tuple[str, Callable[[Any], Iterable[tuple[Any, Any, float]]]], ...] = ()
    row_filters: frozenset[str] = frozenset()
    peaks: frozenset[str] = frozenset()
    # How long after a day its parts may still change (beyond SETTLE, e.g. the bot's idle close).
    settles_after: Callable[[], timedelta] = lambda: timedelta(0)  # noqa: E731

    def settle(self) -> timedelta:
        return SETTLE + self.settles_after()


OPS_FIGURES: dict[str, OpsFigure] = {}


def longest_settle() -> timedelta:
    return max([SETTLE, *(figure.settle() for figure in OPS_FIGURES.values())])


def ops_figure(figure: OpsFigure) -> OpsFigure:
    OPS_FIGURES[figure.name] = figure
    return figure


@dataclass
class OpsParts:
    """An operations figure's parts over a window: values by (team, agent, key), durations by
    measure (every group together)."""

    values: dict[tuple[Any, Any, str], float]
    durations: dict[str, Durations]

    def totals(self) -> dict[str, float]:
        """Each key summed over teams and agents."""
        out: dict[str, float] = defaultdict(float)
        for (_team, _agent, key), value in self.values.items():
            out[key] += value
        return out


def _combine(figure: OpsFigure, into: dict[tuple[Any, Any, str], float], key: Any, value: float) -> None:
    if key[2] in figure.peaks:
        into[key] = max(into.get(key, 0.0), value)
    else:
        into[key] = into.get(key, 0.0) + value


def ops_parts(window: Any, name: str) -> OpsParts | None:
    """The figure's parts over ``window``: rolled-up settled days from :class:`OpsDaily` and
    :class:`DurationDaily`, the rest from ``parts`` on the live tables. None when no day of the
    window is rolled up (the figure then computes itself live, exact)."""
    figure = OPS_FIGURES[name]
    days, live = plan(window, FACT_GRAIN, settled=figure.settle())
    if not days:
        return None

    def compute() -> OpsParts:
        filters = {}
        if "team" in figure.row_filters and window.team is not None:
            filters["team_id"] = window.team
        if "agent" in figure.row_filters and window.agent is not None:
            filters["agent_id"] = window.agent
        values: dict[tuple[Any, Any, str], float] = {}
        rows = (
            OpsDaily.objects.filter(days_q(days), figure=name, **filters)
            .values_list("team_id", "agent_id", "key")
            .annotate(total=Sum("value"), peak=Max("value"))
            .order_by()
        )
        for team, agent, key, total, peak in rows:
            values[(team, agent, key)] = peak if key in figure.peaks else total
        for part in live:
            for key, value in figure.parts(part).items():
                _combine(figure, values, key, value)
        durations: dict[str, Durations] = {}
        for measure, source in figure.durations:
            merged = Durations()
            sums: dict[str, Any] = {"n": Sum("count"), "total": Sum("total_seconds")}
            sums.update({f"b{k}": Sum(f"b{k}") for k in range(BUCKETS)})
            row = DurationDaily.objects.filter(
                days_q(days), measure=measure, channel="", category_id__isnull=True, **filters
            ).aggregate(**sums)
            merged.merge_buckets([row[f"b{k}"] or 0 for k in range(BUCKETS)], row["total"] or 0.0)
            for part in live:
                for _team, _agent, seconds in source(part):
                    merged.add(seconds)
            durations[measure] = merged
        return OpsParts(values=values, durations=durations)

    return _remember(("ops", window, name), compute)


def _ops_rows(day: date, window: Any) -> tuple[list[OpsDaily], list[DurationDaily]]:
    """A day's rows of every operations figure: its parts and durations over the day."""
    from kefu.reports import metrics  # noqa: F401 - registers the figures

    rows = []
    durations_rows = []
    for figure in OPS_FIGURES.values():
        rows += [
            OpsDaily(day=day, figure=figure.name, team_id=team, agent_id=agent, key=key, value=value)
            for (team, agent, key), value in figure.parts(window).items()
        ]
        for measure, source in figure.durations:
            groups: dict[tuple[Any, Any], Durations] = defaultdict(Durations)
            for team, agent, seconds in source(window):
                groups[(team, agent)].add(seconds)
            for (team, agent), values in groups.items():
                counts = values.bucket_counts()
                durations_rows.append(
                    DurationDaily(
                        day=day,
                        team_id=team,
                        agent_id=agent,
                        measure=measure,
                        count=values.count,
                        total_seconds=values.total_seconds,
                        **{f"b{k}": counts[k] for k in range(BUCKETS)},
                    )
                )
    return rows, durations_rows


# --- chats from before the queue figures' fields --------------------------------------------------

UPGRADE_MIGRATION = ("chat", "0011_reports_queue_and_presence_log")


def derive_old_chats() -> int:
    """Fill the live-chat figures' fields of chats that began before they existed (chat
    migration 0011), from the audit log, which recorded both moments: *entered the queue*
    (``wait_estimate_at``) is the chat's first ``chat.queued`` event and *first agent joined*
    (``first_assigned_at``) its first ``chat.assigned`` event. The estimate the customer was told
    then was never kept: ``wait_estimate_seconds`` stays empty (such chats are not in the
    estimate's error), and agents' status intervals before the upgrade do not exist. Returns the
    number of chats changed; idempotent (a chat with the fields set is left alone)."""
    from django.db.migrations.recorder import MigrationRecorder
    from django.db.models import Min

    from kefu.audit.models import AuditEvent
    from kefu.chat.models import ChatConversation

    applied = (
        MigrationRecorder.Migration.objects.filter(app=UPGRADE_MIGRATION[0], name=UPGRADE_MIGRATION[1])
        .values_list("applied", flat=True)
        .first()
    )
    if applied is None:
        return 0
    old = ChatConversation.objects.filter(created_at__lt=applied).filter(
        Q(wait_estimate_at__isnull=True) | Q(first_assigned_at__isnull=True)
    )
    changed = 0
    last = 0
    while True:
        chats = list(
            old.filter(pk__gt=last)
            .order_by("pk")
            .values_list("pk", "public_id", "wait_estimate_at", "first_assigned_at")[:1000]
        )
        if not chats:
            break
        last = chats[-1][0]
        ids = {str(public_id): pk for pk, public_id, _queued, _assigned in chats}
        firsts = (
            AuditEvent.objects.filter(
                target_type="chat", target_id__in=list(ids), action__in=["chat.queued", "chat.assigned"]
            )
            .values_list("target_id", "action")
            .annotate(first=Min("created_at"))
            .order_by()
        )
        moments: dict[int, dict[str, datetime]] = defaultdict(dict)
        for target, action, first in firsts:
            moments[ids[target]]["wait_estimate_at" if action == "chat.queued" else "first_assigned_at"] = first
        for pk, _public_id, queued, assigned in chats:
            fields = {
                name: moment
                for name, moment in moments.get(pk, {}).items()
                if (queued if name == "wait_estimate_at" else assigned) is None
            }
            if fields:
                ChatConversation.objects.filter(pk=pk).update(**fields)
                changed += 1
    return changed


# The periodic job builds at most this many days a run (newest first); ``kefu reports
# rebuild`` backfills a long history.
REFRESH_BATCH = 31
RECENT_DAYS = 7


def refresh(*, batch: int = REFRESH_BATCH) -> list[date]:
    """Rebuild the days that changed since their build and the recent days not built yet
    (yesterday after midnight); returns them."""
    today = timezone.localdate()
    stale = set(RollupChange.objects.filter(day__lt=today).values_list("day", flat=True).distinct())
    # Built with other settings (time zone, business calendars): rebuilt too, newest first.
    stale |= set(RollupDay.objects.exclude(fingerprint=fingerprint()).values_list("day", flat=True))
    from kefu.reports import metrics  # noqa: F401 - registers the operations figures

    settle = longest_settle()
    recent = {today - timedelta(days=n) for n in range(1, max(RECENT_DAYS, settle.days + 2) + 1)}
    # Recent days not built yet, or built before they settled (the operations figures).
    settled = {
        day
        for day, at in RollupDay.objects.filter(day__in=recent).values_list("day", "built_at")
        if at >= midnight(day + timedelta(days=1)) + settle
        or midnight(day + timedelta(days=1)) + settle > timezone.now()
    }
    todo = sorted(stale | (recent - settled), reverse=True)[:batch]
    for day in todo:
        rebuild_day(day)
    return todo


# --- freshness: domain events mark the day of the ticket they changed ---------------------------


def _touched(ticket: Any) -> None:
    touch(getattr(ticket, "created_at", None))


def touch(moment: datetime | None) -> None:
    """Mark the day of ``moment`` changed (nothing for today, never rolled up)."""
    if moment is None:
        return
    day = timezone.localdate(moment)
    if day < timezone.localdate():
        RollupChange.objects.create(day=day)


def register() -> None:
    """Subscribe to the domain events that change a past day's figures (called once, at app
    start): in the changing transaction, so the mark commits with the change."""
    from kefu import events

    def ticket_of(event: Any) -> None:
        _touched(event.ticket)

    def handed_off(event: Any) -> None:
        # A bot conversation handed to people: its containment counts on the day it began.
        from kefu.bot.models import BotConversation

        # Only a hand-off (stages.do_open_to_humans: its system message says so) had a bot
        # stage: a case filed any other way costs no query here.
        if isinstance(event, events.TicketCreated):
            extra = getattr(event.message, "extra", None) or {}
            if extra.get("event") != "handed_off":
                return
        elif event.previous != "bot":
            return
        for began in BotConversation.objects.filter(ticket_id=event.ticket.pk).values_list("created_at", flat=True):
            touch(began)

    def answered(event: Any) -> None:
        # The satisfaction figures count an answer on the day the survey was sent (by channel)
        # and on the day it was answered (the summary): a re-rating on a later day moves the
        # answer out of its first day. The instance still holds the previous answer's time
        # (check_answer_survey writes the new one with an UPDATE).
        touch(event.survey.created_at)
        touch(event.survey.answered_at)

    def merged(event: Any) -> None:
        _touched(event.source)
        _touched(event.target)

    for event_type in (
        events.TicketCreated,
        events.MessageAdded,
        events.TicketStatusChanged,
        events.TicketAssigned,
        events.TicketReclassified,
        events.SlaBreached,
    ):
        events.subscribe(event_type, ticket_of, when=events.IN_TRANSACTION)
    events.subscribe(events.TicketMerged, merged, when=events.IN_TRANSACTION)
    events.subscribe(events.TicketCreated, handed_off, when=events.IN_TRANSACTION)
    events.subscribe(events.TicketStatusChanged, handed_off, when=events.IN_TRANSACTION)
    events.subscribe(events.SurveyAnswered, answered, when=events.IN_TRANSACTION)
