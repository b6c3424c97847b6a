"""Reads of tickets with their permission rules. Every list is paged by keyset, never OFFSET."""

from __future__ import annotations

import base64
import binascii
import re
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from django.apps import apps as django_apps
from django.db import connection
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils.translation import pgettext_lazy

from kefu.accounts.models import STAFF_ROLES, Team, TeamMembership, User
from kefu.refcache import ReferenceCache
from kefu.tickets.models import (
    ACTIVE_Q,
    VISIBLE_Q,
    Attachment,
    CannedReply,
    Category,
    Channel,
    Message,
    MessageKind,
    Sender,
    Status,
    Tag,
    Ticket,
)

TEAM_IDS_SECONDS = 5.0


def _team_ids(user: User) -> list[int]:
    """The user's team ids, read once per user object for a few seconds: a ticket view asks three
    times within one request; a WebSocket connection's user object lives for hours and must
    still see a change of teams."""
    cached = getattr(user, "_kefu_team_ids", None)
    now = time.monotonic()
    if cached is None or cached[0] < now:
        cached = (now + TEAM_IDS_SECONDS, list(user.teams.values_list("pk", flat=True)))
        user._kefu_team_ids = cached  # type: ignore[attr-defined]
    return list(cached[1])


def tickets_visible_to(user: User) -> QuerySet[Ticket]:
    """Customers see their own; agents their teams' and their own assignments; supervisors all.

    Never a case still with the bot (``VISIBLE_Q``): until the hand-off it is nobody's work, and
    its number is not the customer's to quote.
    """
    qs = Ticket.objects.filter(VISIBLE_Q)
    if not user.is_authenticated or not user.is_active:
        return qs.none()
    if user.is_supervisor:
        return qs
    if user.is_agent:
        team_ids = _team_ids(user)
        return qs.filter(Q(team_id__in=team_ids) | Q(assignee=user))
    return qs.filter(customer=user)


def may_file_in(user: User, category: Category) -> bool:
    """May ``user`` file a ticket in ``category``, and so see it afterwards?

    Asked before anything is written: an agent who files outside their teams would create a
    ticket they cannot open (and, retrying, duplicates). Customers file anywhere, supervisors too.
    """
    if not user.is_authenticated or not user.is_active:
        return False
    if not user.is_agent or user.is_supervisor:
        return True
    team = category.routed_team()
    return team is not None and team.pk in _team_ids(user)


def created_ticket(ticket: Ticket) -> Ticket:
    """A ticket just created, with what its response shows, for the one who filed it.

    Not ``access_ticket``: the secret guard may have routed it to the security team, which its
    author (an agent of another team) cannot open; the filing itself succeeded all the same.
    """
    return Ticket.objects.select_related("category", "team", "assignee", "customer").get(pk=ticket.pk)


def access_ticket(user: User, case_number: str) -> Ticket:
    """The ticket if ``user`` may see it. Otherwise 404 — never 403, which would leak existence."""
    case_number = (case_number or "").strip().upper()
    # Sliced, not .first(): its ORDER BY id can lead PostgreSQL down the primary key instead of
    # the unique case-number index.
    found = list(
        tickets_visible_to(user)
        .select_related("category", "team", "assignee", "customer")  # few joins: planning is per request
        .filter(case_number=case_number)[:1]
    )
    if not found:
        raise Http404("No such ticket")
    return found[0]


# What a customer may read of their case: public messages written by a person or the bot's
# public answers. Internal notes, system events (whatever their kind) and anything else stay
# with staff; the page and the API both read the thread through thread_for, so one filter
# decides for both.
CUSTOMER_VISIBLE_Q = Q(kind=MessageKind.PUBLIC, sender__in=[Sender.CUSTOMER, Sender.AGENT, Sender.BOT])


def thread_for(ticket: Ticket, *, user: User) -> list[Message]:
    """Messages in their case order (``seq``) with their attachments; internal notes and system
    events only for staff."""
    qs = (
        Message.objects.filter(ticket=ticket)
        .select_related("author")
        .prefetch_related("attachments")
        .order_by("seq", "id")
    )
    if not user.is_agent:
        qs = qs.filter(CUSTOMER_VISIBLE_Q)
    return list(qs)


def access_attachment(user: User, public_id: str) -> Attachment:
    attachment = Attachment.objects.select_related("ticket", "message").filter(public_id=public_id).first()
    if attachment is None or not tickets_visible_to(user).filter(pk=attachment.ticket_id).exists():
        raise Http404("No such file")
    if not user.is_agent and attachment.message is not None and attachment.message.kind != MessageKind.PUBLIC:
        raise Http404("No such file")
    return attachment


def _load_category_tree() -> list[Category]:
    # With their teams (and their parents' teams): routing a new ticket asks
    # ``routed_team()``, which would otherwise cost a query on every create.
    categories = list(
        Category.objects.filter(is_active=True).select_related("parent", "team", "parent__team")
    )
    by_parent: dict[int | None, list[Category]] = {}
    for category in categories:
        by_parent.setdefault(category.parent_id, []).append(category)
    ordered: list[Category] = []

    def walk(parent_id: int | None) -> None:
        for category in by_parent.get(parent_id, []):
            ordered.append(category)
            walk(category.pk)

    walk(None)
    return ordered


# Watched models are connected in TicketsConfig.ready().
CATEGORY_TREE = ReferenceCache("category-tree", _load_category_tree)
CANNED_REPLIES = ReferenceCache("canned-replies", lambda: list(CannedReply.objects.all()))


@dataclass(frozen=True)
class StaffMember:
    """Who can be picked in the "assign" list: an active staff user and their teams."""

    pk: int
    public_id: str
    email: str
    team_ids: frozenset[int]


def _load_staff() -> list[StaffMember]:
    teams: dict[int, set[int]] = {}
    for user_id, team_id in TeamMembership.objects.values_list("user_id", "team_id"):
        teams.setdefault(user_id, set()).add(team_id)
    rows = (
        User.objects.filter(is_active=True, role__in=STAFF_ROLES)
        .order_by("email")
        .values_list("pk", "public_id", "email")
    )
    return [
        StaffMember(pk, str(public_id), email, frozenset(teams.get(pk, ()))) for pk, public_id, email in rows
    ]


STAFF = ReferenceCache("staff", _load_staff)


def active_categories() -> list[Category]:
    """The tree as a flat list, parents before their children: one query, then kept for a
    minute (every ticket form and agent view needs it; it changes when an admin edits it).
    Treat the returned objects as read-only."""
    return list(CATEGORY_TREE.get())


def active_category(slug: str) -> Category | None:
    """The active category with this slug, from the cached tree (with its routed team loaded);
    read-only. One that the tree does not hold (its parent is disabled) is read from the
    database, as before the cache."""
    slug = (slug or "").strip()
    for category in CATEGORY_TREE.get():
        if category.slug == slug:
            return category
    return Category.objects.filter(slug=slug, is_active=True).first()


def canned_replies_for(user: User) -> list[CannedReply]:
    """The canned replies of the user's teams and those for everyone, by title."""
    team_ids = set(_team_ids(user))
    return [c for c in CANNED_REPLIES.get() if c.team_id is None or c.team_id in team_ids]


def canned_replies_filled(
    user: User, *, language: str, name: str, case_number: str, agent_language: str | None = None
) -> list[dict[str, str]]:
    """``{title, body}`` of the user's canned replies: the body in ``language`` (the customer's),
    placeholders filled in; the title in ``agent_language`` (the agent's page), else ``language``."""
    return [
        {
            "title": c.title_for(agent_language or language),
            "body": fill_placeholders(c.body_for(language), name=name, case_number=case_number),
        }
        for c in canned_replies_for(user)
    ]


# A clause ends at Chinese or Latin punctuation (a Latin period or comma only before a space or the
# end, so "1.5" stays whole) or at a line break.
_CLAUSE_END = re.compile(r"[，。；！？;!?\n]|[,.](?=\s|$)")
_SENTENCE_END = "。！？.!?"


def fill_placeholders(body: str, *, name: str, case_number: str) -> str:
    """A canned reply with ``{name}`` and ``{case_number}`` filled in.

    A placeholder with nothing to fill (a chat before any case exists, an anonymous visitor) is
    dropped cleanly, never left as a blank: without a name the greeting loses just the name
    ("您好，" / "Hello,"); without a case number the clause that gives it goes ("…，我们已收到您的工单
    {case_number}，正在为您处理。" → "…，正在为您处理。").
    """
    if case_number:
        body = body.replace("{case_number}", case_number)
    else:
        while (at := body.find("{case_number}")) >= 0:
            body = _drop_clause(body, at)
    if name:
        return body.replace("{name}", name)
    return re.sub(r"[ \t]*\{name\}", "", body)


def _drop_clause(text: str, at: int) -> str:
    start = 0
    for match in _CLAUSE_END.finditer(text, 0, at):
        start = match.end()
    end_match = _CLAUSE_END.search(text, at)
    end = end_match.end() if end_match else len(text)
    ending = text[end - 1] if end_match else ""
    before, after = text[:start].rstrip(" \t"), text[end:].lstrip(" \t")
    if not after.strip() and ending in _SENTENCE_END and before[-1:] in "，,;；":
        before = before[:-1] + ending  # the sentence now ends where the dropped clause ended it
    joiner = " " if before and after and before[-1:] in ".!?,;" else ""
    return (before + joiner + after).strip() if before or after else ""


def assignable_staff(team_id: int | None, *, limit: int = 100) -> list[StaffMember]:
    """Active staff who can take a ticket of ``team_id`` (its members; anyone without a team)."""
    staff = STAFF.get()
    if team_id is not None:
        staff = [m for m in staff if team_id in m.team_ids]
    return staff[:limit]


# --- keyset pages ---------------------------------------------------------------------------
#
# A list is one or more "lanes": querysets that each match one index range (a team's active
# tickets, the tickets assigned to someone, ...). A page runs every lane with the cursor and
# LIMIT, then merges them. The number of queries depends on the number of lanes (an agent's
# teams), never on the page size or the table size.


@dataclass
class Page:
    items: list[Ticket]
    next_cursor: str | None


def encode_cursor(ticket: Ticket) -> str:
    raw = f"{ticket.updated_at.isoformat()}|{ticket.pk}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int] | None:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        stamp, pk = raw.split("|", 1)
        moment, number = datetime.fromisoformat(stamp), int(pk)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None
    # Only what encode_cursor writes: an aware time and a row id in the column's range. A forged
    # naive year-1 time overflowed when made aware; a 20-digit id overflowed SQLite's integers.
    if moment.tzinfo is None or not 0 <= number < 2**63:
        return None
    return moment, number


def page_of(lanes: QuerySet[Ticket] | list[QuerySet[Ticket]], *, cursor: str | None, size: int) -> Page:
    """One page ordered by latest activity, whatever the page size: one query for one lane;
    for several, two on PostgreSQL (the lanes' keys in one UNION ALL, then the winning rows),
    lanes + 1 on SQLite.

    Several lanes are merged on (updated_at, id) keys first, so only the winning rows are
    loaded with their related objects.
    """
    if isinstance(lanes, QuerySet):
        lanes = [lanes]
    position = decode_cursor(cursor) if cursor else None

    def ordered(lane: QuerySet[Ticket]) -> QuerySet[Ticket]:
        lane = lane.order_by("-updated_at", "-id")
        if position:
            stamp, pk = position
            lane = lane.filter(Q(updated_at__lt=stamp) | Q(updated_at=stamp, id__lt=pk))
        return lane

    related = ("category", "team", "assignee", "customer")
    if not lanes:
        items = []
    elif len(lanes) == 1:
        items = list(ordered(lanes[0]).select_related(*related)[: size + 1])
    else:
        key_sets = [ordered(lane).values_list("updated_at", "id")[: size + 1] for lane in lanes]
        keys: set[tuple[datetime, int]] = set()
        if connection.features.supports_slicing_ordering_in_compound:
            # PostgreSQL: one round trip, each lane still its own ordered index range.
            merged = key_sets[0].union(*key_sets[1:], all=True).order_by("-updated_at", "-id")
            keys.update(merged[: size + 1])
        else:  # SQLite cannot LIMIT inside a UNION: one query per lane
            for key_set in key_sets:
                keys.update(key_set)
        winners = sorted(keys, reverse=True)[: size + 1]
        by_id = Ticket.objects.select_related(*related).in_bulk([pk for _, pk in winners])
        items = [by_id[pk] for _, pk in winners if pk in by_id]
    next_cursor = encode_cursor(items[size - 1]) if len(items) > size else None
    return Page(items=items[:size], next_cursor=next_cursor)


QUEUES = ("mine", "unassigned", "escalated", "team", "all", "overdue")


def _status_q(status: str | None) -> Q:
    """A list's status filter as a condition on tickets."""
    if status == "active" or not status:
        return ACTIVE_Q
    if status == "any":
        return VISIBLE_Q  # every status past the bot's stage
    if status == Status.BOT:
        return Q(pk__in=[])  # nothing: a case with the bot is in no agent's list
    return Q(status=status)


def lane_filters(
    user: User,
    *,
    queue: str,
    team_slug: str | None = None,
    status: str | None = None,
    tag: str | None = None,
) -> list[Q]:
    """An agent's queue as index-friendly lanes, each a filter on tickets: ``mine``,
    ``unassigned``, ``escalated`` (tier ≥ 2), one ``team``, or ``all`` they may see. Unknown or
    foreign teams give no lane. The same lanes serve the lists by activity (:func:`queue_lanes`)
    and by deadline (:func:`due_page`), so both show exactly what the agent may see."""
    if not user.is_authenticated or not user.is_agent:
        return []

    def with_status(q: Q) -> Q:
        q &= _status_q(status)
        return q & Q(tags__slug=tag) if tag else q

    if queue == "mine":
        return [with_status(Q(assignee=user))]
    if user.is_supervisor:
        team_ids = list(Team.objects.values_list("pk", flat=True))
    else:
        team_ids = _team_ids(user)
    if queue == "team":
        team = Team.objects.filter(slug=team_slug or "").first()
        team_ids = [team.pk] if team is not None and team.pk in team_ids else []
    lanes = []
    for team_id in team_ids:
        q = with_status(Q(team_id=team_id))
        if queue == "unassigned":
            q &= Q(assignee__isnull=True)
        elif queue == "escalated":
            q &= Q(tier__gte=2)
        lanes.append(q)
    if queue == "all":
        if user.is_supervisor:
            lanes = [with_status(Q())]  # one index range instead of one per team
        else:
            lanes.append(with_status(Q(assignee=user)))
    return lanes


def queue_lanes(
    user: User,
    *,
    queue: str,
    team_slug: str | None = None,
    status: str | None = None,
    tag: str | None = None,
) -> list[QuerySet[Ticket]]:
    """:func:`lane_filters` as ticket querysets (ordered and paged by :func:`page_of`)."""
    lanes = lane_filters(user, queue=queue, team_slug=team_slug, status=status, tag=tag)
    return [Ticket.objects.filter(q) for q in lanes]


# --- by deadline ------------------------------------------------------------------------------
#
# A list sorted by what is due walks the running SLA clocks (sla.SlaTimer) in deadline order
# through their partial index ``sla_timer_running``, joined to the lane's tickets. A ticket has
# up to one running clock per target; only its earliest is listed (the NOT EXISTS below, an
# index lookup by ticket), so a page is keyset-paged on that clock's (due_at, id) like the
# activity lists on (updated_at, id). Tickets without a running clock (paused while waiting
# for the customer, no policy) have nothing due and are not in this order.


def _on_ticket(q: Q) -> Q:
    """A condition on tickets, rewritten for a query of their SLA timers."""
    out = Q()
    out.connector, out.negated = q.connector, q.negated
    for child in q.children:
        if isinstance(child, Q):
            out.children.append(_on_ticket(child))
        else:
            key, value = cast(tuple[str, Any], child)
            out.children.append((f"ticket__{key}", value))
    return out


def encode_due_cursor(due_at: datetime, timer_id: int) -> str:
    return base64.urlsafe_b64encode(f"{due_at.isoformat()}|{timer_id}".encode()).decode().rstrip("=")


def due_page(
    user: User,
    *,
    queue: str,
    team_slug: str | None = None,
    status: str | None = None,
    cursor: str | None = None,
    size: int,
    overdue: bool = False,
    tag: str | None = None,
) -> Page:
    """A queue's tickets by their next deadline, soonest (most overdue) first; with ``overdue``
    only those past it. One query per lane, then one for the winning tickets."""
    from django.db.models import Exists, OuterRef
    from django.utils import timezone

    from kefu.sla.models import OPEN_Q, SlaTimer

    running = SlaTimer.objects.filter(OPEN_Q, due_at__isnull=False)
    earlier = running.filter(ticket_id=OuterRef("ticket_id")).filter(
        Q(due_at__lt=OuterRef("due_at")) | Q(due_at=OuterRef("due_at"), id__lt=OuterRef("id"))
    )
    position = decode_cursor(cursor) if cursor else None  # the same (time, id) shape
    keys: set[tuple[datetime, int, int]] = set()
    for lane in lane_filters(user, queue=queue, team_slug=team_slug, status=status, tag=tag):
        qs = running.filter(_on_ticket(lane)).filter(~Exists(earlier))
        if overdue:
            qs = qs.filter(due_at__lte=timezone.now())
        if position:
            stamp, pk = position
            qs = qs.filter(Q(due_at__gt=stamp) | Q(due_at=stamp, id__gt=pk))
        for due_at, timer_id, ticket_id in qs.order_by("due_at", "id").values_list(
            "due_at", "id", "ticket_id"
        )[: size + 1]:
            if due_at is not None:  # always: the lane holds running clocks only
                keys.add((due_at, timer_id, ticket_id))
    # The same clock found through two lanes (a team's ticket assigned to me) is one key.
    winners = sorted(keys)[: size + 1]
    related = ("category", "team", "assignee", "customer")
    by_id = Ticket.objects.select_related(*related).in_bulk([ticket_id for _, _, ticket_id in winners])
    items = [by_id[ticket_id] for _, _, ticket_id in winners if ticket_id in by_id]
    next_cursor = None
    if len(winners) > size:
        due_at, timer_id, _ticket_id = winners[size - 1]
        next_cursor = encode_due_cursor(due_at, timer_id)
    return Page(items=items[:size], next_cursor=next_cursor)


@dataclass(frozen=True)
class SlaMark:
    """What a list row shows of a ticket's service levels."""

    next_due_at: datetime | None
    overdue: bool
    breached: bool


def sla_marks(tickets: list[Ticket]) -> dict[int, SlaMark]:
    """Each ticket's next deadline and whether it missed a target: one query for a page."""
    from django.utils import timezone

    from kefu.sla.models import SlaTimer

    if not tickets:
        return {}
    now = timezone.now()
    due: dict[int, datetime] = {}
    breached: set[int] = set()
    rows = SlaTimer.objects.filter(ticket_id__in=[t.pk for t in tickets]).values_list(
        "ticket_id", "due_at", "met_at", "stopped_at", "breached_at"
    )
    for ticket_id, due_at, met_at, stopped_at, breached_at in rows:
        if breached_at is not None:
            breached.add(ticket_id)
        if met_at is None and stopped_at is None and due_at is not None:
            if ticket_id not in due or due_at < due[ticket_id]:
                due[ticket_id] = due_at
    return {
        t.pk: SlaMark(due.get(t.pk), t.pk in due and due[t.pk] <= now, t.pk in breached)
        for t in tickets
        if t.pk in due or t.pk in breached
    }


def cached_overdue_count(user: User) -> int:
    """:func:`overdue_count`, shared through the cache like the other views' counts."""
    from django.core.cache import cache

    key = f"tickets:overdue-count:{user.pk}:{int(user.is_supervisor)}:{','.join(map(str, sorted(_team_ids(user))))}"
    count = cache.get(key)
    if not isinstance(count, int):
        count = overdue_count(user)
        cache.set(key, count, QUEUE_COUNTS_SECONDS)
    return count


# The sidebar counts overdue tickets up to this many ("999+"): a desk far behind would otherwise
# count a long stretch of the deadline index on every refresh of the count.
OVERDUE_COUNT_CAP = 999


def overdue_count(user: User) -> int:
    """How many tickets the agent may see are past a deadline now (the "Overdue" view's count),
    at most OVERDUE_COUNT_CAP + 1."""
    from django.utils import timezone

    from kefu.sla.models import OPEN_Q, SlaTimer, TimerKind

    lanes = lane_filters(user, queue="all", status="active")
    if not lanes:
        return 0
    visible = lanes[0]
    for lane in lanes[1:]:
        visible |= lane
    # From the clocks' side: the overdue ones are a short range of the deadline index, where
    # the tickets' side would test every active ticket.
    late = SlaTimer.objects.filter(OPEN_Q, due_at__isnull=False, due_at__lte=timezone.now())
    late = late.filter(_on_ticket(visible)).order_by("due_at")
    # A ticket has at most one open clock per target kind, so this many clocks hold more than
    # the cap's tickets whenever there are that many.
    ids = set(late.values_list("ticket_id", flat=True)[: (OVERDUE_COUNT_CAP + 1) * len(TimerKind.values)])
    return min(len(ids), OVERDUE_COUNT_CAP + 1)


@dataclass(frozen=True)
class QueueCounts:
    """Active tickets per view of the workspace sidebar."""

    mine: int
    unassigned: int
    escalated: int
    teams: dict[int, int]
    all: int


# The sidebar's counts may be this many seconds old: counting a team's active tickets reads
# every one of them (an index range, but tens of thousands of entries on a busy install), while
# the page it sits on is a keyset read of twenty-five rows.
QUEUE_COUNTS_SECONDS = 10


def cached_queue_counts(user: User) -> QueueCounts:
    """:func:`queue_counts`, shared through the cache for QUEUE_COUNTS_SECONDS."""
    from django.core.cache import cache

    key = f"tickets:queue-counts:{user.pk}:{int(user.is_supervisor)}:{','.join(map(str, sorted(_team_ids(user))))}"
    counts = cache.get(key)
    if not isinstance(counts, QueueCounts):
        counts = queue_counts(user)
        cache.set(key, counts, QUEUE_COUNTS_SECONDS)
    return counts


def queue_counts(user: User) -> QueueCounts:
    """Counts of the agent's views in one query, whatever the number of teams.

    One UNION ALL of grouped counts, each branch the shape of one partial index (active per team,
    unassigned per team, escalated per team, the agent's own), so each is a count over an index
    range, never a pass over the ticket rows: a "group by team with FILTER" needed the assignee
    and tier of every active ticket (a quarter of a second at 100,000 tickets on SQLite).
    """
    from django.db.models import CharField, Count, Value

    team_ids = list(Team.objects.values_list("pk", flat=True)) if user.is_supervisor else _team_ids(user)
    active = Ticket.objects.filter(ACTIVE_Q).order_by()

    def grouped(kind: str, qs: QuerySet[Ticket]) -> QuerySet[Any, tuple[str, int | None, int]]:
        return (
            qs.annotate(kind=Value(kind, output_field=CharField()))
            .values("kind", "team_id")
            .annotate(n=Count("id"))
            .values_list("kind", "team_id", "n")
        )

    in_teams = active.filter(team_id__in=team_ids)
    branches = [
        grouped("team", in_teams),
        grouped("unassigned", in_teams.filter(assignee__isnull=True)),
        grouped("escalated", in_teams.filter(tier__gte=2)),
        grouped("mine", active.filter(assignee=user)),
    ]
    if user.is_supervisor:
        branches.append(grouped("no_team", active.filter(team__isnull=True)))
    counts: dict[str, int] = {"unassigned": 0, "escalated": 0, "mine": 0, "no_team": 0}
    teams: dict[int, int] = {}
    for kind, team_id, n in branches[0].union(*branches[1:], all=True):
        if kind == "team" and team_id is not None:
            teams[team_id] = n
        else:
            counts[kind] += n
    everything = sum(teams.values()) + counts["no_team"] if user.is_supervisor else 0
    return QueueCounts(
        mine=counts["mine"],
        unassigned=counts["unassigned"],
        escalated=counts["escalated"],
        teams=teams,
        all=everything,
    )


def first_queue(user: User, counts: QueueCounts) -> str:
    """The view an agent lands on: their own tickets when they have any, else the unassigned
    tickets of their teams (what needs doing first), else escalations; "mine" when all are empty."""
    if counts.mine:
        return "mine"
    if counts.unassigned:
        return "unassigned"
    if counts.escalated:
        return "escalated"
    return "mine"


def customer_last_message_at(tickets: list[Ticket]) -> dict[int, datetime]:
    """When each ticket's customer last wrote (public messages): one query for a page."""
    from django.db.models import F, Max

    if not tickets:
        return {}
    rows = (
        Message.objects.filter(
            ticket_id__in=[t.pk for t in tickets], kind=MessageKind.PUBLIC, author_id=F("ticket__customer_id")
        )
        .values("ticket_id")
        .annotate(last=Max("created_at"))
        .order_by()
    )
    return {row["ticket_id"]: row["last"] for row in rows}


# --- the case's story: the agent's ticket view ------------------------------------------------
#
# Every channel writes into one thread (kefu/tickets/thread.py); the agent reads it as one story
# in case order. Everything beside the messages (mail headers, delivery states) is read for the
# whole thread at once, so the page costs the same few queries for 3 messages or 3,000.

# A run of this many messages with the bot (its turns and the customer's turns to it) folds
# behind one line: agents read the hand-off, not the small talk before it.
BOT_RUN_FOLD = 6

CHANNEL_BADGES: dict[str, Any] = {
    Channel.PORTAL: pgettext_lazy("channel badge", "Web"),
    Channel.EMAIL: pgettext_lazy("channel badge", "Email"),
    Channel.CHAT: pgettext_lazy("channel badge", "Live chat"),
    Channel.BOT: pgettext_lazy("channel badge", "Bot"),
    Channel.API: pgettext_lazy("channel badge", "API"),
    Channel.PHONE: pgettext_lazy("channel badge", "Phone"),
    Channel.TELEGRAM: pgettext_lazy("channel badge", "Telegram"),
    Channel.WHATSAPP: pgettext_lazy("channel badge", "WhatsApp"),
    Channel.AGENT: pgettext_lazy("channel badge", "Workspace"),
}


@dataclass(frozen=True)
class Delivery:
    """Where an outbound message stands on its channel: ``queued``, ``sent``, ``failed`` (or
    whatever state the delivery records of kefu.inbox name), with the last error if any."""

    status: str
    label: str
    error: str = ""


@dataclass
class StoryItem:
    message: Message
    side: str  # customer | agent | bot | system | note: how the line is drawn
    channel_label: str
    delivery: Delivery | None = None
    mail_subject: str = ""
    mail_id: str = ""
    intent: str = ""
    quick_replies: list[str] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)  # (title, url)
    event: str = ""


@dataclass
class StoryEntry:
    """One line of the story: a message, or a run of bot turns folded behind a summary."""

    item: StoryItem | None = None
    bot_run: list[StoryItem] = field(default_factory=list)


def _side(message: Message) -> str:
    if message.kind == MessageKind.INTERNAL:
        return "note"
    if message.kind == MessageKind.SYSTEM or message.sender == Sender.SYSTEM:
        return "system"
    return str(message.sender)


def _safe_url(url: object) -> str:
    """Only links the page may render as ``href``: site paths and http(s) addresses."""
    text = str(url or "")
    if text.startswith("/") and not text.startswith("//"):
        return text
    return text if re.match(r"https?://", text, re.IGNORECASE) else ""


def _bot_extras(item: StoryItem) -> None:
    extra = item.message.extra if isinstance(item.message.extra, dict) else {}
    item.intent = str(extra.get("intent") or "")
    item.event = str(extra.get("event") or "")
    for reply in extra.get("quick_replies") or ():
        label = reply.get("label") or reply.get("title") if isinstance(reply, dict) else reply
        if label:
            item.quick_replies.append(str(label))
    for link in list(extra.get("links") or ()) + list(extra.get("articles") or ()):
        if isinstance(link, dict) and (url := _safe_url(link.get("url"))):
            item.links.append((str(link.get("title") or url), url))
    if item.message.channel == Channel.EMAIL and extra.get("subject"):
        item.mail_subject = str(extra["subject"])


def _outbound(messages: list[Message]) -> list[Message]:
    """Messages that go out to the customer on a channel: public replies of agents and the bot."""
    return [m for m in messages if m.kind == MessageKind.PUBLIC and m.sender in (Sender.AGENT, Sender.BOT)]


def _inbox_deliveries(outbound: list[Message]) -> dict[int, Delivery] | None:
    """The channel inboxes' delivery records (``kefu.inbox.selectors.deliveries_for``: message
    id → its deliveries, one per channel), one state per message; None without that app.

    A message sent on several channels shows the state that needs attention first: a failed
    delivery, else one still queued, else sent.
    """
    if not outbound or not django_apps.is_installed("kefu.inbox"):
        return None
    try:
        from kefu.inbox.models import DeliveryStatus
        from kefu.inbox.selectors import deliveries_for
    except ImportError:
        return None
    labels = dict(DeliveryStatus.choices)
    urgency: dict[str, int] = {DeliveryStatus.FAILED: 0, DeliveryStatus.QUEUED: 1}
    found: dict[int, Delivery] = {}
    for pk, records in deliveries_for(outbound).items():
        if not records:
            continue
        record = min(records, key=lambda r: urgency.get(r.status, 2))
        found[pk] = Delivery(
            status=str(record.status),
            label=str(labels.get(record.status, record.status)),
            error=str(record.last_error or ""),
        )
    return found


def delivery_states(messages: list[Message]) -> dict[int, Delivery]:
    """The delivery state of each outbound message that has one (one query for the thread):
    the channel inboxes' delivery records, which every channel's sender writes (mail's outbox
    included)."""
    return _inbox_deliveries(_outbound(messages)) or {}


def case_story(ticket: Ticket, *, user: User) -> list[StoryEntry]:
    """The thread as the agent's ticket view tells it: every message in case order with its
    channel and sender, bot turns with their intent and offered quick replies, mail with its
    subject and Message-ID, outbound messages with their delivery state, long bot runs folded.
    A constant number of queries whatever the thread's length."""
    messages = thread_for(ticket, user=user)
    items = [
        StoryItem(
            message=m,
            side=_side(m),
            channel_label=str(CHANNEL_BADGES.get(m.channel, m.channel)),
            mail_id=m.external_id if m.channel == Channel.EMAIL else "",
        )
        for m in messages
    ]
    for item in items:
        _bot_extras(item)
    deliveries = delivery_states(messages)
    for item in items:
        item.delivery = deliveries.get(item.message.pk)
    return fold_bot_runs(items)


def _with_bot(item: StoryItem) -> bool:
    # The bot's own turns, and what the customer wrote to the bot (its channel is the bot's).
    return item.side == "bot" or (item.side == "customer" and item.message.channel == Channel.BOT)


def fold_bot_runs(items: list[StoryItem], *, fold: int = BOT_RUN_FOLD) -> list[StoryEntry]:
    """Consecutive turns with the bot, ``fold`` or more of them, become one folded entry."""
    entries: list[StoryEntry] = []
    run: list[StoryItem] = []

    def flush() -> None:
        if len(run) >= fold:
            entries.append(StoryEntry(bot_run=list(run)))
        else:
            entries.extend(StoryEntry(item=i) for i in run)
        run.clear()

    for item in items:
        if _with_bot(item):
            run.append(item)
            continue
        flush()
        entries.append(StoryEntry(item=item))
    flush()
    return entries


# --- tags -------------------------------------------------------------------------------------

TAGS = ReferenceCache("tags", lambda: list(Tag.objects.order_by("slug")))


def all_tags() -> list[Tag]:
    """Every tag, by slug (kept a minute per process, forgotten when an admin edits one)."""
    return list(TAGS.get())


def tag_names(tickets: list[Ticket], *, language: str | None) -> dict[int, list[str]]:
    """Each ticket's tag names in ``language``: one query for a page."""
    if not tickets:
        return {}
    names: dict[int, list[str]] = {}
    english = (language or "").startswith("en")
    rows = (
        Tag.tickets.through.objects.filter(ticket_id__in=[t.pk for t in tickets])
        .order_by("tag__slug")
        .values_list("ticket_id", "tag__name_zh", "tag__name_en")
    )
    for ticket_id, name_zh, name_en in rows:
        names.setdefault(ticket_id, []).append(name_en if english else name_zh)
    return names


def tags_of(ticket: Ticket) -> list[Tag]:
    return list(Tag.objects.filter(tickets=ticket).order_by("slug"))
