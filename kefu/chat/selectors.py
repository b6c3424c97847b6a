"""Reads of live chat: access checks, history, queue position and wait, hours, dashboards."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from django.db.models import Count, F, Q, QuerySet
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from kefu.accounts.models import ROLE_TIER, STAFF_ROLES, Team, TeamMembership, User
from kefu.chat import hours as hours_mod
from kefu.chat.conf import chat_seconds, chat_setting
from kefu.chat.estimate import estimate_wait, mean_handling_seconds
from kefu.chat.models import (
    AgentPresence,
    CallbackRequest,
    CallbackStatus,
    ChatConversation,
    ChatStatus,
    Message,
    MessageKind,
    PresenceStatus,
    Sender,
    ServiceCalendar,
    ServiceChannel,
)
from kefu.durations import format_duration
from kefu.tickets import routing

if TYPE_CHECKING:
    from kefu.bot.models import BotConversation
    from kefu.tickets.models import Category, Ticket

FALLBACK_CATEGORY = routing.FALLBACK_CATEGORY
SECURITY_TEAM_SLUG = routing.SECURITY_TEAM_SLUG
HISTORY_LIMIT = 500
URGENT_PRIORITY = 4
HIGH_PRIORITY = 3
NORMAL_PRIORITY = 2

T = TypeVar("T")


class _TTLCache:
    """Tiny per-process cache: wait inputs and calendars are read on every queue update."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.items: dict[Any, tuple[float, Any]] = {}
        self.lock = threading.Lock()

    def get(self, key: Any, compute: Callable[[], T]) -> T:
        now = time.monotonic()
        with self.lock:
            hit = self.items.get(key)
            if hit is not None and hit[0] > now:
                return hit[1]
        value = compute()
        with self.lock:
            self.items[key] = (now + self.seconds, value)
        return value

    def clear(self) -> None:
        with self.lock:
            self.items.clear()


_wait_cache = _TTLCache(5)
_calendar_cache = _TTLCache(60)


def clear_caches() -> None:
    """Forget cached wait inputs and calendars (tests, or right after an admin change)."""
    _wait_cache.clear()
    _calendar_cache.clear()


# --- people and routing -------------------------------------------------------------------------


def agent_public_name(user: User | None) -> str:
    """What customers see for an agent: the display name, never the email address."""
    if user is None:
        return ""
    return user.display_name or _("Agent")


def security_team() -> Team | None:
    return routing.security_team()


@dataclass(frozen=True)
class Routing:
    category: Category | None
    team: Team | None
    priority: int
    security: bool


def route_for(*, intent: str | None, security: bool = False) -> Routing:
    """The queue a hand-off goes to: the one routing function (kefu.tickets.routing)."""
    from kefu.bot.intents import URGENT_INTENTS

    routed = routing.route(intent=intent, security=security, urgent=(intent or "") in URGENT_INTENTS)
    return Routing(
        category=routed.category, team=routed.team, priority=routed.priority, security=routed.security
    )


def _eligible_presences(*, team_id: int | None, language: str, tier: int) -> list[AgentPresence]:
    roles = [role for role in STAFF_ROLES if ROLE_TIER[role] >= tier]
    qs = AgentPresence.objects.filter(
        status=PresenceStatus.ONLINE, user__is_active=True, user__role__in=roles
    )
    if team_id is not None:
        qs = qs.filter(user__teams=team_id)
    return [p for p in qs if not language or p.speaks(language)]


def teams_with_free_agents() -> list[int | None]:
    """Teams with an online agent who has a free slot (None: chats without a team, if any agent is free)."""
    free = Q(
        user__chat_presence__status=PresenceStatus.ONLINE,
        user__chat_presence__active_chats__lt=F("user__chat_presence__capacity"),
        user__is_active=True,
    )
    teams: list[int | None] = list(
        TeamMembership.objects.filter(free).values_list("team_id", flat=True).distinct().order_by("team_id")
    )
    if AgentPresence.objects.filter(
        status=PresenceStatus.ONLINE, active_chats__lt=F("capacity"), user__is_active=True
    ).exists():
        teams.append(None)
    return teams


def may_take(agent: User, conversation: ChatConversation) -> bool:
    """May ``agent`` take this waiting chat from the queue? Team members of the right tier, and supervisors."""
    if not agent.is_agent:
        return False
    if agent.is_supervisor:
        return True
    if agent.tier < conversation.tier:
        return False
    return may_see(agent, conversation)


# --- access ------------------------------------------------------------------------------------


def _uuid_or_none(value: Any) -> str | None:
    import uuid

    try:
        return str(uuid.UUID(str(value)))
    except (ValueError, TypeError, AttributeError):
        return None


def access_customer_conversation(
    *, public_id: Any, customer: User | None, resume_key: str | None
) -> ChatConversation | None:
    """The customer's own conversation, or an anonymous one whose resume key they hold."""
    uid = _uuid_or_none(public_id)
    if uid is None:
        return None
    conversation = ChatConversation.objects.filter(public_id=uid).first()
    if conversation is None:
        return None
    if conversation.customer_id is not None:
        if customer is not None and customer.pk == conversation.customer_id:
            return conversation
        return None
    import secrets

    # Bytes: compare_digest refuses non-ASCII text, and a client may send any.
    if resume_key and secrets.compare_digest(str(resume_key).encode(), conversation.resume_key.encode()):
        return conversation
    return None


def open_chat_of(customer: User | None) -> ChatConversation | None:
    """The signed-in customer's chat with a human that is still open (waiting or with an agent),
    the newest if several: it follows them to every tab and device. One indexed query."""
    if customer is None or not customer.is_authenticated:
        return None
    return (
        ChatConversation.objects.filter(customer=customer, status__in=(ChatStatus.QUEUED, ChatStatus.ACTIVE))
        .order_by("-created_at")
        .first()
    )


def may_see(user: User, conversation: ChatConversation) -> bool:
    """The one rule for which chats a member of staff may open, read, note on or mark read.

    Supervisors see all; an agent sees the chats assigned to them and those in one of their
    teams' queues. A chat with no team is a customer talking to the bot: it is nobody's until
    it is handed off (then it waits in the shared queue every agent serves, see ``staff_queue``
    and ``may_take``), so before that only supervisors may look.
    """
    if not user.is_authenticated or not user.is_active or not user.is_agent:
        return False
    if user.is_supervisor or conversation.assignee_id == user.pk:
        return True
    if conversation.team_id is not None:
        from kefu.tickets.selectors import _team_ids

        return conversation.team_id in _team_ids(user)
    return conversation.queued_at is not None and conversation.status != ChatStatus.BOT


def access_staff_conversation(user: User, public_id: Any) -> ChatConversation | None:
    """A chat ``user`` may see (``may_see``), else None: callers answer "not found", never "forbidden"."""
    uid = _uuid_or_none(public_id)
    if uid is None or not user.is_authenticated or not user.is_agent:
        return None
    conversation = (
        ChatConversation.objects.select_related("team", "assignee", "customer").filter(public_id=uid).first()
    )
    if conversation is None or not may_see(user, conversation):
        return None
    return conversation


# --- messages and transcripts -------------------------------------------------------------------


def message_payload(message: Message) -> dict[str, Any]:
    author = message.author if message.author_id else None
    return {
        "seq": message.seq,
        "client_id": message.client_id,
        "sender": message.sender,
        "internal": message.kind != MessageKind.PUBLIC,
        "author": agent_public_name(author) if message.sender == Sender.AGENT else "",
        "text": message.body,
        "extra": message.extra or {},
        "created_at": message.created_at.isoformat(),
    }


def case_id(conversation: ChatConversation) -> int:
    """The chat's case; 0 (no case: no messages) only for a chat made outside the actions."""
    return conversation.ticket_id or 0


def last_seq(conversation: ChatConversation, *, fresh: bool = True) -> int:
    """The number of the newest message of the chat's case. ``fresh``: read now (the chat's
    copy of its case may predate a message); otherwise a case loaded with the chat will do."""
    from kefu.tickets.models import Ticket

    if conversation.ticket_id is None:
        return 0
    if not fresh and ChatConversation.ticket.is_cached(conversation):
        return conversation.ticket.last_seq if conversation.ticket is not None else 0
    return Ticket.objects.filter(pk=conversation.ticket_id).values_list("last_seq", flat=True).first() or 0


def history(
    conversation: ChatConversation, *, after: int = 0, staff: bool = False
) -> tuple[list[dict], bool]:
    """Messages numbered above ``after`` (oldest first) and whether older ones were left out.

    The chat's case's thread, whatever the channel (a reply by mail is part of the
    conversation). Customers receive public messages only.
    """
    qs = Message.objects.filter(
        ticket_id=case_id(conversation), seq__gt=max(int(after or 0), 0)
    ).select_related("author")
    if not staff:
        qs = qs.filter(kind=MessageKind.PUBLIC)
    newest = list(qs.order_by("-seq")[: HISTORY_LIMIT + 1])
    truncated = len(newest) > HISTORY_LIMIT
    return [message_payload(m) for m in reversed(newest[:HISTORY_LIMIT])], truncated


def topic(conversation: ChatConversation) -> str:
    from kefu.bot.intents import INTENT_LABELS

    if conversation.intent and conversation.intent in INTENT_LABELS:
        return str(INTENT_LABELS[conversation.intent])
    first = Message.objects.filter(ticket_id=case_id(conversation), sender=Sender.CUSTOMER).order_by("seq").first()
    return first.body[:80] if first else _("Live chat")


def ticket_url(ticket: Ticket) -> str:
    try:
        return reverse("tickets:portal_ticket", args=[ticket.case_number])
    except NoReverseMatch:
        return ""


def opened_case(conversation: ChatConversation) -> Ticket | None:
    """The chat's case once the team has it: before, it is the bot's (its number is nobody's to
    quote yet, kefu.tickets.stages)."""
    from kefu.tickets.models import Status

    ticket = conversation.ticket if conversation.ticket_id else None
    return ticket if ticket is not None and ticket.status != Status.BOT else None


def status_payload(conversation: ChatConversation) -> dict[str, Any]:
    """What both sides are told about a conversation's state."""
    agent = conversation.assignee if conversation.assignee_id else None
    team = conversation.team if conversation.team_id else None
    ticket = opened_case(conversation)
    return {
        "status": conversation.status,
        "agent": agent_public_name(agent) if agent else "",
        "team": team.localized_name(conversation.language) if team else "",
        "tier": conversation.tier,
        "close_reason": conversation.close_reason,
        "case_number": ticket.case_number if ticket else "",
        "ticket_url": ticket_url(ticket) if ticket else "",
    }


# --- service hours ------------------------------------------------------------------------------


def calendar_for(team_id: int | None, channel: str = ServiceChannel.CHAT) -> hours_mod.Calendar | None:
    """The team's own calendar for a channel, else the default one; chat without one is 24/7."""

    def load() -> hours_mod.Calendar | None:
        row = (
            ServiceCalendar.objects.filter(channel=channel)
            .filter(Q(team_id=team_id) | Q(team__isnull=True) if team_id else Q(team__isnull=True))
            .order_by(F("team_id").asc(nulls_last=True))
            .only("name", "business_calendar_id")
            .first()
        )
        if row is None:
            return hours_mod.Calendar(always_open=True) if channel == ServiceChannel.CHAT else None
        return _from_business_calendar(row.business_calendar_id, row.name)

    return _calendar_cache.get((team_id, channel), load)


def inbox_calendar(calendar_id: int | None, name: str) -> hours_mod.Calendar:
    """An inbox's hours as chat's view shows them (the hotline's, on the hours page): its
    business calendar, or none — open around the clock."""
    if calendar_id is None:
        return hours_mod.Calendar(always_open=True, name=name)
    return _from_business_calendar(calendar_id, name)


def _from_business_calendar(calendar_id: int, name: str) -> hours_mod.Calendar:
    """Chat's view of a business calendar: its weekly ranges for display, and the calendar
    itself for every day's hours, holidays and overrides (``hours.Calendar.shared``)."""
    from kefu.calendars.selectors import load_calendar_by_id

    shared = load_calendar_by_id(calendar_id)
    return hours_mod.Calendar(
        time_zone=shared.time_zone,
        always_open=shared.always_open,
        weekly=tuple(
            hours_mod.WeeklyRange(weekday, opens_at, closes_at)
            for weekday, ranges in sorted(shared.weekly.items())
            for opens_at, closes_at in ranges
        ),
        name=name,
        shared=shared,
    )


def hours_status(team_id: int | None, channel: str = ServiceChannel.CHAT, at: datetime | None = None):
    calendar = calendar_for(team_id, channel)
    if calendar is None:
        return None
    return hours_mod.status_at(calendar, at or timezone.now())


def hours_payload(status: hours_mod.HoursStatus | None, language: str) -> dict[str, Any] | None:
    if status is None:
        return None
    return {
        "open": status.open,
        "closes_at": status.closes_at.isoformat() if status.closes_at else None,
        "next_opens_at": status.next_opens_at.isoformat() if status.next_opens_at else None,
        "holiday": status.holiday.name(language) if status.holiday else "",
        "reduced_staff": status.reduced_staff,
        "time_zone": status.time_zone,
    }


# --- the queue and the honest wait --------------------------------------------------------------


@dataclass(frozen=True)
class WaitInputs:
    slots: int
    agents_online: int
    handle_seconds: float
    samples: int


def recent_handling_seconds(team_id: int | None) -> list[float]:
    """Assignment-to-close times of the team's chats closed recently (all teams' if too few)."""
    since = timezone.now() - timedelta(seconds=chat_seconds("KEFU_CHAT_HANDLE_WINDOW_SECONDS"))
    limit = int(chat_setting("KEFU_CHAT_HANDLE_SAMPLE"))
    base = ChatConversation.objects.filter(
        status=ChatStatus.CLOSED, closed_at__gte=since, assigned_at__isnull=False
    ).order_by("-closed_at")
    rows = (
        list(base.filter(team_id=team_id).values_list("assigned_at", "closed_at")[:limit]) if team_id else []
    )
    if len(rows) < 5:
        rows = list(base.values_list("assigned_at", "closed_at")[:limit])
    return [
        max((closed - assigned).total_seconds(), 0.0)
        for assigned, closed in rows
        if assigned is not None and closed is not None  # both set by the filter above
    ]


def wait_inputs(*, team_id: int | None, language: str, tier: int) -> WaitInputs:
    """Agents online (their chat slots) and the mean handling time: cached a few seconds per queue."""

    def compute() -> WaitInputs:
        presences = _eligible_presences(team_id=team_id, language=language, tier=tier)
        samples = recent_handling_seconds(team_id)
        return WaitInputs(
            slots=sum(p.capacity for p in presences),
            agents_online=len(presences),
            handle_seconds=mean_handling_seconds(samples, chat_seconds("KEFU_CHAT_DEFAULT_HANDLE_SECONDS")),
            samples=len(samples),
        )

    return _wait_cache.get((team_id, language, tier), compute)


def _team_queue(team_id: int | None) -> Q:
    """The chats of one team's queue; None is the queue of chats without a team (IS NULL)."""
    return Q(team_id=team_id) if team_id is not None else Q(team__isnull=True)


def queue_position(conversation: ChatConversation) -> int:
    """1 + the chats ahead in the same team's queue (higher priority, or same and earlier)."""
    if conversation.status != ChatStatus.QUEUED or conversation.queued_at is None:
        return 0
    ahead = ChatConversation.objects.filter(_team_queue(conversation.team_id), status=ChatStatus.QUEUED).filter(
        Q(priority__gt=conversation.priority)
        | Q(priority=conversation.priority, queued_at__lt=conversation.queued_at)
        | Q(priority=conversation.priority, queued_at=conversation.queued_at, id__lt=conversation.pk)
    )
    return ahead.count() + 1


def queue_snapshot(team_id: int | None) -> dict[int, QueueInfo]:
    """Every waiting chat of a team → its position and estimate, in one query (plus cached inputs).

    Serves all the waiting customers connected to a process at once: a queue change reaches
    each of them, and each asking for their own position would multiply the queries.
    """
    rows = (
        ChatConversation.objects.filter(_team_queue(team_id), status=ChatStatus.QUEUED)
        .order_by("-priority", "queued_at", "id")
        .values_list("id", "language", "tier")
    )
    return {
        pk: queue_info_at(position=position, team_id=team_id, language=language, tier=tier)
        for position, (pk, language, tier) in enumerate(rows, start=1)
    }


@dataclass(frozen=True)
class QueueInfo:
    position: int
    eta_seconds: int | None
    agents_online: int
    offer: str  # "" | "long_wait" | "no_agents" | "closed"
    hours: hours_mod.HoursStatus | None


def queue_info(conversation: ChatConversation) -> QueueInfo | None:
    """Position, estimated wait and whether to offer a ticket or a call-back instead."""
    conversation = ChatConversation.objects.get(pk=conversation.pk)
    if conversation.status != ChatStatus.QUEUED:
        return None
    return queue_info_at(
        position=queue_position(conversation),
        team_id=conversation.team_id,
        language=conversation.language,
        tier=conversation.tier,
    )


def queue_info_at(*, position: int, team_id: int | None, language: str, tier: int) -> QueueInfo:
    """The estimate for a known position; its inputs (agents, handling time, hours) are cached."""
    inputs = wait_inputs(team_id=team_id, language=language, tier=tier)
    eta = estimate_wait(position=position, slots=inputs.slots, handle_seconds=inputs.handle_seconds)
    status = hours_status(team_id)
    if status is not None and not status.open:
        offer = "closed"
    elif eta is None:
        offer = "no_agents"
    elif eta > chat_seconds("KEFU_CHAT_OFFER_AFTER_SECONDS"):
        offer = "long_wait"
    else:
        offer = ""
    return QueueInfo(
        position=position,
        eta_seconds=None if eta is None else int(round(eta)),
        agents_online=inputs.agents_online,
        offer=offer,
        hours=status,
    )


def queue_payload(info: QueueInfo | None, language: str) -> dict[str, Any] | None:
    if info is None:
        return None
    return {
        "position": info.position,
        "eta_seconds": info.eta_seconds,
        "agents_online": info.agents_online,
        "offer": info.offer,
        "hours": hours_payload(info.hours, language),
    }


@dataclass(frozen=True)
class HandoffWait:
    """Where a chat stands right after the bot queued it, for the bot's reply."""

    position: int
    eta_seconds: int | None
    # An eligible agent has a free slot for it: the dispatcher assigns it when the hand-off commits.
    agent_free: bool


def handoff_wait(conversation: ChatConversation) -> HandoffWait | None:
    """Position, estimated wait and whether an agent is free, for a chat just handed to the queue.

    The hand-off's transaction has not committed yet, so the dispatcher has not run: a chat
    that an agent with a free slot will take at once still counts as queued here.
    """
    if conversation.status == ChatStatus.ACTIVE:
        return HandoffWait(position=0, eta_seconds=0, agent_free=True)
    if conversation.status != ChatStatus.QUEUED:
        return None
    position = queue_position(conversation)
    team_id, language, tier = conversation.team_id, conversation.language, conversation.tier
    inputs = wait_inputs(team_id=team_id, language=language, tier=tier)
    eta = estimate_wait(position=position, slots=inputs.slots, handle_seconds=inputs.handle_seconds)
    free = sum(
        max(p.capacity - p.active_chats, 0)
        for p in _eligible_presences(team_id=team_id, language=language, tier=tier)
    )
    return HandoffWait(
        position=position, eta_seconds=None if eta is None else int(round(eta)), agent_free=position <= free
    )


def handed_off_chat(bot_conversation: BotConversation) -> ChatConversation | None:
    """The chat a bot conversation was handed to, while it waits for or is with an agent."""
    return (
        ChatConversation.objects.filter(
            bot_conversation=bot_conversation, status__in=(ChatStatus.QUEUED, ChatStatus.ACTIVE)
        )
        .select_related("ticket")
        .first()
    )


def chat_url(conversation: ChatConversation) -> str:
    """Where the customer continues a chat: the portal, whose chat panel opens it (``?kefu_chat=``)."""
    try:
        return reverse("tickets:portal") + "?kefu_chat=" + conversation.public_id.hex
    except NoReverseMatch:
        return ""


def live_chat_available(*, intent: str | None, language: str, security: bool = False) -> bool:
    """Whether a hand-off should queue for live chat: within chat hours and an agent online for it."""
    routing = route_for(intent=intent, security=security)
    team_id = routing.team.pk if routing.team else None
    status = hours_status(team_id)
    if status is not None and not status.open:
        return False
    return wait_inputs(team_id=team_id, language=language, tier=1).agents_online > 0


# --- staff views -------------------------------------------------------------------------------


def _seconds_since(moment: datetime | None, now: datetime) -> int | None:
    return None if moment is None else max(int((now - moment).total_seconds()), 0)


def conversation_summary(conversation: ChatConversation, *, language: str | None = None) -> dict[str, Any]:
    """One chat as the agent workspace lists it: team, topic and waiting time in ``language``
    (the reader's) when given; else the team in the chat's language."""
    if language:
        with translation.override(language):
            return _conversation_summary(conversation, language=language)
    return _conversation_summary(conversation, language=None)


def _conversation_summary(conversation: ChatConversation, *, language: str | None) -> dict[str, Any]:
    from kefu.bot.intents import INTENT_LABELS

    now = timezone.now()
    waited = _seconds_since(conversation.queued_at, now) if conversation.status == ChatStatus.QUEUED else None
    customer = conversation.customer if conversation.customer_id else None
    team = conversation.team if conversation.team_id else None
    return {
        "id": conversation.public_id.hex,
        "status": conversation.status,
        "customer": (customer.display_name or customer.email) if customer else _("Visitor"),
        "customer_email": customer.email if customer else "",
        "team": team.localized_name(language or conversation.language) if team else "",
        "team_slug": team.slug if team else "",
        "intent": str(INTENT_LABELS.get(conversation.intent, conversation.intent))
        if conversation.intent
        else "",
        "language": conversation.language,
        "priority": conversation.priority,
        "security": conversation.security,
        "tier": conversation.tier,
        "agent": agent_public_name(conversation.assignee) if conversation.assignee_id else "",
        "agent_id": conversation.assignee_id,
        "waited_seconds": waited,
        "waited_text": format_duration(waited, empty=""),
        "assigned_seconds": _seconds_since(conversation.assigned_at, now),
        "last_seq": last_seq(conversation, fresh=False),
        "customer_read_seq": conversation.customer_read_seq,
        "agent_read_seq": conversation.agent_read_seq,
        "case_number": case.case_number if (case := opened_case(conversation)) else "",
    }


def staff_queue(user: User, *, limit: int = 50, language: str | None = None) -> dict[str, Any]:
    """Waiting chats the agent may take (supervisors: all), and per-team counts; team names in
    ``language`` (the agent's)."""
    qs = ChatConversation.objects.filter(status=ChatStatus.QUEUED)
    if not user.is_supervisor:
        team_ids = list(user.teams.values_list("pk", flat=True))
        qs = qs.filter(Q(team_id__in=team_ids) | Q(team__isnull=True))
    items = list(
        qs.select_related("team", "customer", "ticket").order_by("-priority", "queued_at", "id")[:limit]
    )
    counts = qs.values("team__slug").annotate(n=Count("id")).order_by("team__slug")
    return {
        "items": [conversation_summary(c, language=language) for c in items],
        "waiting": {row["team__slug"] or "": row["n"] for row in counts},
    }


def active_chat_ids_for(user: User) -> list[Any]:
    """The public ids of the chats ``user`` is handling now."""
    return list(
        ChatConversation.objects.filter(assignee=user, status=ChatStatus.ACTIVE).values_list("public_id", flat=True)
    )


def active_chats_for(user: User) -> list[ChatConversation]:
    return list(
        ChatConversation.objects.filter(assignee=user, status=ChatStatus.ACTIVE)
        .select_related("team", "customer", "ticket", "assignee")
        .order_by("assigned_at")
    )


def presence_payload(presence: AgentPresence | None) -> dict[str, Any]:
    if presence is None:
        return {"status": PresenceStatus.OFFLINE, "capacity": int(chat_setting("KEFU_CHAT_DEFAULT_CAPACITY")),
                "active": 0, "languages": ""}  # fmt: skip
    return {
        "status": presence.status,
        "capacity": presence.capacity,
        "active": presence.active_chats,
        "languages": presence.languages,
    }


def customer_context(conversation: ChatConversation, *, viewer: User) -> dict[str, Any]:
    """What the agent sees beside the chat: who, verified or not, their tickets, the bot's facts."""
    from kefu.bot.flows import slot_label
    from kefu.tickets.selectors import tickets_visible_to

    customer = conversation.customer if conversation.customer_id else None
    context: dict[str, Any] = {
        "customer": None,
        "verification": None,
        "tickets": [],
        "previous_chats": 0,
        "facts": [{"label": str(slot_label(k)), "value": v} for k, v in (conversation.slots or {}).items()],
    }
    if customer is None:
        return context
    context["customer"] = {
        "name": customer.display_name,
        "email": customer.email,
        "language": customer.language,
        "since": customer.date_joined.date().isoformat(),
    }
    context["verification"] = _verification(customer)
    tickets = (
        tickets_visible_to(viewer)
        .filter(customer=customer)
        .select_related("category")
        .order_by("-updated_at")[:5]
    )
    context["tickets"] = [
        {
            "case_number": t.case_number,
            "title": t.title,
            "status": t.get_status_display(),
            "url": _workspace_ticket_url(t.case_number),
        }
        for t in tickets
    ]
    context["previous_chats"] = (
        ChatConversation.objects.filter(customer=customer).exclude(pk=conversation.pk).count()
    )
    return context


def _verification(customer: User) -> dict[str, Any] | None:
    try:  # the identity app is optional
        from kefu.identity.selectors import verification_status
    except ImportError:
        return None
    try:
        status = verification_status(customer)
    except Exception:  # a broken identity backend must not hide the chat
        return None
    # One status line ("label"), shown under the heading "Identity": the state and, for a
    # verification on file, its method and time (as the ticket view's identity card says it).
    if status is None:
        return {"verified": False, "label": _("Not verified")}
    when = timezone.localtime(status.verified_at).strftime("%m-%d %H:%M")
    if status.still_valid:
        label = _("Verified ({method}, {when})").format(method=status.method_label, when=when)
    else:
        label = _("Verification expired ({method}, {when})").format(method=status.method_label, when=when)
    return {
        "verified": bool(status.still_valid),
        "label": label,
        "verified_at": status.verified_at.isoformat(),
        "still_valid": bool(status.still_valid),
    }


def _workspace_ticket_url(case_number: str) -> str:
    try:
        return reverse("tickets:workspace_ticket", args=[case_number])
    except NoReverseMatch:
        return ""


def canned_for(
    user: User, conversation: ChatConversation, *, agent_language: str | None = None
) -> list[dict[str, str]]:
    from kefu.tickets.selectors import canned_replies_filled

    customer = conversation.customer if conversation.customer_id else None
    return canned_replies_filled(
        user,
        language=conversation.language,
        name=(customer.display_name or customer.email) if customer else "",
        case_number=case.case_number if (case := opened_case(conversation)) else "",
        agent_language=agent_language,
    )


def transfer_targets(user: User) -> dict[str, list[dict[str, str]]]:
    agents = (
        User.objects.filter(role__in=STAFF_ROLES, is_active=True).exclude(pk=user.pk).order_by("email")[:200]
    )
    return {
        "agents": [{"id": str(a.public_id), "name": a.display_name or a.email} for a in agents],
        "teams": [{"slug": t.slug, "name": t.localized_name(user.language)} for t in Team.objects.all()],
    }


def dashboard(*, language: str) -> dict[str, Any]:
    """The supervisor's live view: queues, agents' load, chats in progress, call-backs, CSAT.

    Names, statuses and durations come in ``language`` (the supervisor's page), also when the
    socket's worker thread has no language of its own.
    """
    with translation.override(language):
        return _dashboard(language=language)


def _dashboard(*, language: str) -> dict[str, Any]:
    now = timezone.now()
    teams = []
    for team in Team.objects.all():
        queued = ChatConversation.objects.filter(status=ChatStatus.QUEUED, team=team)
        oldest = queued.order_by("queued_at").values_list("queued_at", flat=True).first()
        inputs = wait_inputs(team_id=team.pk, language="", tier=1)
        waiting = queued.count()
        longest = _seconds_since(oldest, now)
        next_eta = _round(estimate_wait(position=1, slots=inputs.slots, handle_seconds=inputs.handle_seconds))
        teams.append(
            {
                "slug": team.slug,
                "name": team.localized_name(language),
                "waiting": waiting,
                "longest_wait_seconds": longest,
                "longest_wait": format_duration(longest),
                "next_eta_seconds": next_eta,
                "next_eta": format_duration(next_eta),
                "agents_online": inputs.agents_online,
                "slots": inputs.slots,
                "active": ChatConversation.objects.filter(status=ChatStatus.ACTIVE, team=team).count(),
                "handle_seconds": int(inputs.handle_seconds),
                "handle_time": format_duration(inputs.handle_seconds),
            }
        )
    presences = AgentPresence.objects.select_related("user").order_by(
        "status", "-active_chats", "user__email"
    )
    agents = [
        {
            "id": str(p.user.public_id),
            "name": p.user.display_name or p.user.email,
            "status": p.status,
            "status_label": _presence_label(p.status),
            "active": p.active_chats,
            "capacity": p.capacity,
            "last_assigned_seconds": _seconds_since(p.last_assigned_at, now),
            "since_last_chat": format_duration(_seconds_since(p.last_assigned_at, now)),
        }
        for p in presences
    ]
    chats = [
        _dashboard_chat(conversation_summary(c, language=language))
        for c in ChatConversation.objects.filter(status__in=[ChatStatus.ACTIVE, ChatStatus.QUEUED])
        .select_related("team", "customer", "assignee", "ticket")
        .order_by("status", "queued_at")[:200]
    ]
    return {
        "teams": teams,
        "agents": agents,
        "chats": chats,
        "callbacks": CallbackRequest.objects.filter(status=CallbackStatus.PENDING).count(),
    }


def _presence_label(status: str) -> str:
    return str(PresenceStatus(status).label) if status in PresenceStatus.values else status


def _dashboard_chat(summary: dict[str, Any]) -> dict[str, Any]:
    """A chat row of the supervisor's view: its status and the time that matters, for people."""
    queued = summary["status"] == ChatStatus.QUEUED
    seconds = summary["waited_seconds"] if queued else summary["assigned_seconds"]
    return {
        **summary,
        "status_label": _("Waiting") if queued else _("With an agent"),
        "elapsed": format_duration(seconds),
    }


def _round(value: float | None) -> int | None:
    return None if value is None else int(round(value))


def queued_conversations(team_id: int | None) -> QuerySet[ChatConversation]:
    return ChatConversation.objects.filter(_team_queue(team_id), status=ChatStatus.QUEUED)
