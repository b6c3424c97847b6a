"""Reading service levels: which policy applies, a ticket's due times for the API and pages."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone

from kefu.refcache import ReferenceCache
from kefu.sla.models import OPEN_Q, SlaPolicy, SlaTimer, TimerKind
from kefu.tickets.models import Ticket


def _load_policies() -> list[SlaPolicy]:
    return list(
        SlaPolicy.objects.filter(is_active=True).prefetch_related("categories").order_by("position", "id")
    )


# Every ticket created asks which policy applies: the few policies are kept per process and
# forgotten when one is saved or deleted (other processes within the minute; the
# recalculation job that a policy change enqueues re-plans what they started meanwhile).
POLICIES = ReferenceCache("sla.policies", _load_policies, seconds=60.0)


def active_policies() -> list[SlaPolicy]:
    """Active policies in order, with their categories (read-only; cached, see POLICIES)."""
    return list(POLICIES.get())


def policy_matches(policy: SlaPolicy, ticket: Ticket) -> bool:
    if policy.priorities and ticket.priority not in {int(p) for p in policy.priorities}:
        return False
    if policy.channels and ticket.channel not in set(policy.channels):
        return False
    category_ids = {c.pk for c in policy.categories.all()}
    if category_ids:
        # A parent category matches its subcategories (the tree is two levels deep).
        parent_id = ticket.category.parent_id if ticket.category_id else None
        if ticket.category_id not in category_ids and parent_id not in category_ids:
            return False
    return True


def matching_policy(ticket: Ticket, policies: Iterable[SlaPolicy] | None = None) -> SlaPolicy | None:
    """The first active policy (by position) whose conditions the ticket meets."""
    for policy in active_policies() if policies is None else policies:
        if policy_matches(policy, ticket):
            return policy
    return None


@dataclass
class SlaSummary:
    """What the API's ``sla`` object and the ticket header show."""

    policy: str | None = None
    first_reply_due_at: datetime | None = None
    first_reply_at: datetime | None = None
    resolution_due_at: datetime | None = None
    next_due_at: datetime | None = None  # the earliest running deadline of any kind
    next_due_kind: str | None = None
    paused: bool = False
    overdue: bool = False
    breached: list[str] = field(default_factory=list)

    @property
    def next_due_label(self) -> str:
        return str(TimerKind(self.next_due_kind).label) if self.next_due_kind else ""

    @property
    def breached_labels(self) -> list[str]:
        return [str(TimerKind(kind).label) for kind in self.breached]

    def as_json(self) -> dict[str, object]:
        def iso(value: datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {
            "policy": self.policy,
            "first_reply_due_at": iso(self.first_reply_due_at),
            "first_reply_at": iso(self.first_reply_at),
            "resolution_due_at": iso(self.resolution_due_at),
            "breached": self.breached,
        }


# A new ticket's timers as its create wrote them (``kefu.sla.actions.on_ticket_created``, in the
# create's transaction), kept on the instance so that the create's answer needs no read-back.
STARTED_TIMERS = "_sla_started_timers"


def remember_started(ticket: Ticket, timers: list[SlaTimer]) -> None:
    setattr(ticket, STARTED_TIMERS, list(timers))


def sla_summary(ticket: Ticket, *, new: bool = False) -> SlaSummary:
    """A ticket's service-level state in one query (its timers, with the policy's name).

    ``new``: the ticket was created by this unit of work and has had no other change: the
    timers its create started (:func:`remember_started`) are all it has, no query.
    """
    known = getattr(ticket, STARTED_TIMERS, None) if new else None
    if known is not None:
        timers = sorted(known, key=lambda t: (t.started_at, t.pk or 0))
    else:
        timers = list(
            SlaTimer.objects.filter(ticket_id=ticket.pk).select_related("policy").order_by("started_at", "id")
        )
    summary = SlaSummary()
    latest: dict[str, SlaTimer] = {}
    for timer in timers:
        latest[timer.kind] = timer  # the newest cycle of each kind
        if timer.breached_at is not None and timer.kind not in summary.breached:
            summary.breached.append(timer.kind)
    for timer in reversed(timers):
        if timer.policy is not None:
            summary.policy = timer.policy.name
            break
    first = latest.get(TimerKind.FIRST_REPLY)
    if first is not None:
        summary.first_reply_due_at = first.due_at
        summary.first_reply_at = first.met_at
    resolution = latest.get(TimerKind.RESOLUTION)
    if resolution is not None:
        summary.resolution_due_at = resolution.due_at
    running = [t for t in latest.values() if t.is_open]
    summary.paused = bool(running) and all(t.due_at is None for t in running)
    due = sorted((t.due_at, t.kind) for t in running if t.due_at is not None)
    if due:
        summary.next_due_at, summary.next_due_kind = due[0]
        summary.overdue = summary.next_due_at <= timezone.now()
    return summary


def open_timers(ticket_id: int) -> list[SlaTimer]:
    return list(SlaTimer.objects.filter(OPEN_Q, ticket_id=ticket_id).select_related("policy"))
