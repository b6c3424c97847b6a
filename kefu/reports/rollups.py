"""Where the report figures' aggregates come from: counts, durations and SLA results of the
tickets in a :class:`~kefu.reports.metrics.Window`, grouped by one dimension.

The figures' definitions live in :mod:`kefu.reports.metrics`; this module only answers "how
many / how long, grouped by X" for them, from the live tables.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Count, F, OuterRef, Q, Subquery
from django.db.models.functions import ExtractHour, TruncDate
from django.utils import timezone

from kefu.calendars.arithmetic import business_seconds_between
from kefu.calendars.selectors import cached_calendar_by_id
from kefu.sla.models import SlaTimer, TimerKind

# Durations are kept in fixed log-spaced buckets where they are rolled up: bucket 0 holds
# [0, 1 s), bucket k ≥ 1 holds [10^((k-1)/10), 10^(k/10)) seconds (10 a decade, each 1.259
# times the last), the last one everything above (about 2.5 years). A percentile read from
# buckets lies in the same bucket as the exact one: within a factor of 1.259 (26 %).
BUCKETS = 80
PER_DECADE = 10
EDGES = [0.0] + [10 ** (k / PER_DECADE) for k in range(BUCKETS)]  # EDGES[k] = lower edge of bucket k


def bucket_of(seconds: float) -> int:
    if seconds < 1:
        return 0
    return min(BUCKETS - 1, 1 + int(math.floor(math.log10(seconds) * PER_DECADE + 1e-9)))


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

    def merge_buckets(self, counts: list[int], total: float) -> None:
        for index, n in enumerate(counts):
            self.buckets[index] += n
        self.total_seconds += total

    def percentile(self, fraction: float) -> float | None:
        """Exact (interpolated at ``fraction * (n - 1)``, as ``percentile_cont``) when every
        value is known; otherwise read from the buckets (live values bucketed too): the value
        at that rank, interpolated geometrically inside its bucket."""
        n = self.count
        if not n:
            return None
        if not any(self.buckets):
            ordered = sorted(self.values)
            position = fraction * (n - 1)
            low = math.floor(position)
            high = ordered[min(low + 1, n - 1)]
            return round(ordered[low] + (high - ordered[low]) * (position - low), 1)
        counts = list(self.buckets)
        for value in self.values:
            counts[bucket_of(value)] += 1
        rank = fraction * (n - 1)  # 0-based position, as the exact figure
        seen = 0
        for index, c in enumerate(counts):
            if c and rank < seen + c:
                share = (rank - seen + 0.5) / c
                lower = EDGES[index] if index else 0.0
                upper = EDGES[index + 1] if index + 1 < len(EDGES) else lower * 10 ** (1 / PER_DECADE)
                if index == 0:
                    return round(upper * share, 1)
                return round(lower * (upper / lower) ** share, 1)
            seen += c
        return None


NO_DURATIONS = Durations()

# Within a report page every panel reads the same live rows: ``memo()`` shares them for the
# duration of one request (outside it nothing is cached: a new ticket shows at once).
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


# --- live aggregates --------------------------------------------------------------------------

DIMENSIONS = ("channel", "category", "team", "agent", "day", "hour")
_FIELD = {"channel": "channel", "category": "category__slug", "team": "team_id", "agent": "assignee_id"}


def _live_ticket_counts(window: Any, dimension: str) -> dict[Any, int]:
    from kefu.reports import metrics

    qs = metrics.tickets_in(window)
    zone = timezone.get_current_timezone()
    if dimension == "day":
        qs = qs.annotate(k=TruncDate("created_at", tzinfo=zone))
    elif dimension == "hour":
        qs = qs.annotate(k=ExtractHour("created_at", tzinfo=zone))
    else:
        qs = qs.annotate(k=F(_FIELD[dimension]))
    return {row["k"]: row["n"] for row in qs.values("k").annotate(n=Count("id")).order_by()}


def ticket_counts(window: Any, dimension: str) -> dict[Any, int]:
    """Tickets created in the window, by ``dimension`` (one of :data:`DIMENSIONS`; day: a
    date and hour: 0-23 in the site's time zone)."""
    return _remember(("counts", window, dimension), lambda: _live_ticket_counts(window, dimension))


MEASURES = ("first_reply", "first_reply_business", "resolution", "resolution_business")
_END = {"first_reply": "first_response_at", "resolution": "resolved_at"}
_TIMER = {"first_reply": TimerKind.FIRST_REPLY, "resolution": TimerKind.RESOLUTION}


def duration_rows(qs: Any, target: str) -> Iterator[tuple[dict[str, Any], float, float]]:
    """For each ticket of ``qs`` that reached ``target`` ("first_reply" or "resolution"): its
    row (team, agent), calendar seconds and business seconds — business time on the calendar of
    its SLA timer for that target, else the default calendar, by the SLA's own arithmetic."""
    end = _END[target]
    calendar_of = SlaTimer.objects.filter(ticket=OuterRef("pk"), kind=_TIMER[target]).order_by("-started_at")
    rows = (
        qs.filter(**{f"{end}__isnull": False})
        .annotate(calendar=Subquery(calendar_of.values("calendar_id")[:1]))
        .values("team_id", "assignee_id", "created_at", end, "calendar")
    )
    for row in rows.iterator(chunk_size=2000):
        start, stop = row["created_at"], row[end]
        calendar = cached_calendar_by_id(row["calendar"])
        seconds = max((stop - start).total_seconds(), 0.0)
        yield row, seconds, business_seconds_between(calendar, start, stop)


def _live_durations(window: Any, target: str) -> dict[str, dict[Any, Durations]]:
    from kefu.reports import metrics

    groups: dict[str, dict[Any, Durations]] = {
        f"{m}:{d}": defaultdict(Durations)
        for m in (target, f"{target}_business")
        for d in ("team", "agent", "all")
    }
    for row, seconds, business in duration_rows(metrics.tickets_in(window), target):
        for name, value in ((target, seconds), (f"{target}_business", business)):
            groups[f"{name}:team"][row["team_id"]].add(value)
            groups[f"{name}:agent"][row["assignee_id"]].add(value)
            groups[f"{name}:all"][None].add(value)
    return groups


def durations(window: Any, measure: str, dimension: str) -> dict[Any, Durations]:
    """Durations of ``measure`` (one of :data:`MEASURES`) for the window's tickets, grouped by
    ``dimension`` ("team", "agent", or "all": one group keyed None)."""
    target = measure.removesuffix("_business")
    groups = _remember(("durations", window, target), lambda: _live_durations(window, target))
    return dict(groups[f"{measure}:{dimension}"])


SLA_MET_Q = Q(met_at__isnull=False, breached_at__isnull=True, met_at__lte=F("due_at"))
SLA_BREACHED_Q = Q(breached_at__isnull=False) | Q(met_at__gt=F("due_at"))
_SLA_FIELD = {"target": "kind", "team": "ticket__team_id", "agent": "ticket__assignee_id"}


def _live_sla_counts(window: Any, dimension: str) -> dict[Any, tuple[int, int]]:
    from kefu.reports import metrics

    rows = (
        SlaTimer.objects.filter(ticket__in=metrics.tickets_in(window))
        .annotate(k=F(_SLA_FIELD[dimension]))
        .values("k")
        .annotate(met=Count("id", filter=SLA_MET_Q), breached=Count("id", filter=SLA_BREACHED_Q))
        .order_by()
    )
    return {row["k"]: (row["met"], row["breached"]) for row in rows}


def sla_counts(window: Any, dimension: str) -> dict[Any, tuple[int, int]]:
    """SLA targets of the window's tickets met and breached (the summary's definitions), by
    ``dimension``: "target" (the timer kind), "team" or "agent"."""
    return _remember(("sla", window, dimension), lambda: _live_sla_counts(window, dimension))


def local_midnight(day: Any) -> datetime:
    return timezone.make_aware(datetime.combine(day, datetime.min.time()))
