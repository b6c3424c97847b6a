"""Service-level clocks: started, paused, resumed, met and stopped by ticket events, swept
for warnings and breaches.

Rules (issue 16):

* The first active policy that matches a ticket sets its targets; each target runs in
  business time (the policy's calendar, or the default one) or calendar (elapsed) time.
* A clock pauses while the ticket waits for the customer, and while it is on hold (waiting on
  a chain or partner) when the policy says so. Account-compromised and funds-at-risk cases
  (the security flag, or a ticket in the security team's queue) run on elapsed time, 24/7,
  and never pause.
* Only a human agent's public reply meets reply targets: never the customer's follow-ups,
  internal notes, the bot or system messages.
* First reply runs from the ticket's creation; next reply from the oldest customer message
  not yet answered (after the first reply); the periodic update from each agent reply to the
  next; resolution from creation (again from a reopening) to resolution.

Everything here runs inside the ticket action's transaction (``IN_TRANSACTION``
subscribers), so a timer exists exactly when the change that started it commits.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from kefu import events, rowlookup
from kefu.audit.actions import do_record
from kefu.calendars.arithmetic import (
    Calendar,
    NoWorkingTime,
    add_business_seconds_each,
    business_seconds_between,
)
from kefu.calendars.selectors import cached_calendar_by_id, cached_default_calendar_id
from kefu.events import (
    MessageAdded,
    SlaBreached,
    SlaWarning,
    TicketCreated,
    TicketReclassified,
    TicketStatusChanged,
)
from kefu.refcache import ReferenceCache
from kefu.sla.models import OPEN_Q, SlaPolicy, SlaTimer, TimerKind
from kefu.sla.selectors import active_policies, matching_policy, open_timers, remember_started
from kefu.tickets import routing
from kefu.tickets.models import ACTIVE_STATUSES, MessageKind, Status, Ticket

logger = logging.getLogger(__name__)

REPLY_KINDS = (TimerKind.FIRST_REPLY, TimerKind.NEXT_REPLY, TimerKind.UPDATE)


def runs_around_the_clock(ticket: Ticket) -> bool:
    """Account-compromised and funds-at-risk cases: flagged by the secret guard, or routed to
    the security team (its categories: account compromised, scams, key safety)."""
    if ticket.security_flag:
        return True
    return (
        ticket.team_id is not None
        and ticket.team is not None
        and ticket.team.slug == routing.SECURITY_TEAM_SLUG
    )


def warn_fraction() -> float:
    fraction = float(settings.KEFU_SLA_WARN_FRACTION or 0)
    return fraction if 0 < fraction < 1 else 0.0


class _Calendars:
    """Calendars loaded once per action (a policy change recalculates many timers)."""

    def __init__(self) -> None:
        self._by_id: dict[int | None, Calendar] = {}

    def get(self, pk: int | None) -> Calendar:
        if pk not in self._by_id:
            self._by_id[pk] = cached_calendar_by_id(pk)
        return self._by_id[pk]


def _default_calendar_id() -> int | None:
    return cached_default_calendar_id()


def _add(calendar: Calendar | None, start: datetime, seconds: float) -> datetime:
    return _add_each(calendar, start, [seconds])[0]


def _add_each(calendar: Calendar | None, start: datetime, amounts: list[float]) -> list[datetime]:
    """Each amount of working time from ``start``, in one walk of the calendar."""
    if calendar is None:
        return [start + timedelta(seconds=seconds) for seconds in amounts]
    try:
        return add_business_seconds_each(calendar, start, amounts)
    except NoWorkingTime:
        # A calendar without working hours must not stop the ticket action: elapsed time.
        logger.warning("calendar %s has no working time; SLA clock on elapsed time", calendar.name)
        return [start + timedelta(seconds=seconds) for seconds in amounts]


def _between(calendar: Calendar | None, start: datetime, end: datetime) -> float:
    if calendar is None:
        return max((end - start).total_seconds(), 0.0)
    return business_seconds_between(calendar, start, end)


def _timer_calendar(timer: SlaTimer, calendars: _Calendars) -> Calendar | None:
    return None if timer.calendar_id is None else calendars.get(timer.calendar_id)


def _pauses(ticket: Ticket, policy: SlaPolicy | None) -> bool:
    if ticket.status == Status.PENDING_CUSTOMER:
        return True
    return ticket.status == Status.ON_HOLD and (policy is None or policy.pause_on_hold)


@dataclass
class _Plan:
    """Where a timer's clock runs and how long its target is."""

    calendar_id: int | None
    target_seconds: int
    never_pauses: bool


def _plan(ticket: Ticket, policy: SlaPolicy, kind: str) -> _Plan | None:
    minutes, business = policy.target(kind)
    if not minutes:
        return None
    around_the_clock = runs_around_the_clock(ticket)
    calendar_id = None
    if business and not around_the_clock:
        calendar_id = policy.calendar_id or _default_calendar_id()
    return _Plan(calendar_id=calendar_id, target_seconds=int(minutes) * 60, never_pauses=around_the_clock)


def _schedule(
    timer: SlaTimer, *, start: datetime, seconds: float, warn_seconds: float | None, calendars: _Calendars
) -> None:
    calendar = _timer_calendar(timer, calendars)
    if warn_seconds is None:
        timer.due_at, timer.warn_at = _add(calendar, start, seconds), None
    else:
        timer.due_at, timer.warn_at = _add_each(calendar, start, [seconds, warn_seconds])
    timer.paused_at = timer.remaining_seconds = timer.warn_remaining_seconds = None


def _start(
    ticket: Ticket,
    policy: SlaPolicy,
    kind: str,
    *,
    started_at: datetime,
    now: datetime,
    calendars: _Calendars,
    save: bool = True,
) -> SlaTimer | None:
    """A new running timer of ``kind`` (None when the policy sets no target for it); saved
    unless ``save`` is False (the caller inserts several in one statement)."""
    plan = _plan(ticket, policy, kind)
    if plan is None:
        return None
    timer = SlaTimer(
        ticket=ticket,
        policy=policy,
        kind=kind,
        calendar_id=plan.calendar_id,
        target_seconds=plan.target_seconds,
        started_at=started_at,
        never_pauses=plan.never_pauses,
    )
    fraction = warn_fraction()
    _schedule(
        timer,
        start=started_at,
        seconds=plan.target_seconds,
        warn_seconds=plan.target_seconds * fraction if fraction else None,
        calendars=calendars,
    )
    if _pauses(ticket, policy) and not timer.never_pauses:
        _pause(timer, now=now, calendars=calendars)
    if save:
        timer.save()
    return timer


def _pause(timer: SlaTimer, *, now: datetime, calendars: _Calendars) -> bool:
    """Stop the clock, keeping the working time left. A clock already past its deadline is
    not paused: the breach stands (the sweep records it)."""
    if timer.never_pauses or timer.due_at is None or timer.due_at <= now:
        return False
    calendar = _timer_calendar(timer, calendars)
    timer.remaining_seconds = _between(calendar, now, timer.due_at)
    timer.warn_remaining_seconds = None
    if timer.warn_at is not None and timer.warned_at is None and timer.warn_at > now:
        timer.warn_remaining_seconds = _between(calendar, now, timer.warn_at)
    timer.paused_at = now
    timer.due_at = timer.warn_at = None
    return True


def _resume(timer: SlaTimer, *, now: datetime, calendars: _Calendars) -> bool:
    if timer.paused_at is None:
        return False
    _schedule(
        timer,
        start=now,
        seconds=timer.remaining_seconds or 0,
        warn_seconds=timer.warn_remaining_seconds,
        calendars=calendars,
    )
    return True


def _save(timer: SlaTimer) -> None:
    timer.save(
        update_fields=[
            "due_at",
            "warn_at",
            "paused_at",
            "remaining_seconds",
            "warn_remaining_seconds",
            "never_pauses",
            "calendar",
            "met_at",
            "stopped_at",
        ]
    )


def _refresh_around_the_clock(
    ticket: Ticket, timers: list[SlaTimer], *, now: datetime, calendars: _Calendars
) -> None:
    """A ticket that became a security case (the guard found a secret in a later message,
    or it moved to the security team): its clocks switch to elapsed time and resume."""
    if not runs_around_the_clock(ticket):
        return
    for timer in timers:
        if timer.never_pauses:
            continue
        timer.never_pauses = True
        timer.calendar_id = None
        fraction = warn_fraction()
        # From the start, as if it had always been a security case.
        timer.paused_at = None
        _schedule(
            timer,
            start=timer.started_at,
            seconds=timer.target_seconds,
            warn_seconds=timer.target_seconds * fraction if fraction and timer.warned_at is None else None,
            calendars=calendars,
        )
        _save(timer)


# --------------------------------------------------------------------------- subscribers


def on_ticket_created(event: TicketCreated) -> None:
    ticket = event.ticket
    policy = matching_policy(ticket)
    if policy is None:
        remember_started(ticket, [])
        return
    calendars = _Calendars()
    now = timezone.now()
    timers = [
        _start(ticket, policy, kind, started_at=ticket.created_at, now=now, calendars=calendars, save=False)
        for kind in (TimerKind.FIRST_REPLY, TimerKind.RESOLUTION)
    ]
    # One INSERT for both timers of every new ticket (no signals listen to SlaTimer).
    # Its SQL built once (kefu.rowlookup.insert): Django 5.2's bulk_create compiled it each time
    # and sent the two rows as UNNEST arrays, a tenth of a create's CPU (py-spy, issue 13).
    started = rowlookup.insert(*[t for t in timers if t is not None])
    remember_started(ticket, started)  # the create's answer shows them without reading back


def on_message_added(event: MessageAdded) -> None:
    ticket, message = event.ticket, event.message
    calendars = _Calendars()
    now = timezone.now()
    timers = open_timers(ticket.pk)
    _refresh_around_the_clock(ticket, timers, now=now, calendars=calendars)
    if event.kind != MessageKind.PUBLIC:
        return  # internal notes and system events meet nothing and start nothing
    by_kind = {t.kind: t for t in timers}
    if event.author_role == "agent" and message.author is not None and message.author.is_agent:
        for kind in REPLY_KINDS:
            timer = by_kind.get(kind)
            if timer is not None:
                # The reply paused the clock a moment ago (it set "waiting for the customer",
                # announced before the message): a met clock keeps a deadline to show.
                _resume(timer, now=message.created_at, calendars=calendars)
                timer.met_at = message.created_at
                _save(timer)
        policy = _policy_of(ticket, timers)
        if policy is not None and ticket.status in ACTIVE_STATUSES:
            _start(
                ticket, policy, TimerKind.UPDATE, started_at=message.created_at, now=now, calendars=calendars
            )
    elif event.author_role == "customer":
        # The oldest unanswered customer message starts the clock; follow-ups leave it running,
        # and before the first reply the first-reply clock covers them.
        if TimerKind.FIRST_REPLY in by_kind or TimerKind.NEXT_REPLY in by_kind:
            return
        policy = _policy_of(ticket, timers)
        if policy is not None:
            _start(
                ticket,
                policy,
                TimerKind.NEXT_REPLY,
                started_at=message.created_at,
                now=now,
                calendars=calendars,
            )


def _policy_of(ticket: Ticket, timers: list[SlaTimer]) -> SlaPolicy | None:
    for timer in timers:
        if timer.policy is not None and timer.policy.is_active:
            return timer.policy
    return matching_policy(ticket)


def on_status_changed(event: TicketStatusChanged) -> None:
    ticket = event.ticket
    calendars = _Calendars()
    now = timezone.now()
    timers = open_timers(ticket.pk)
    if ticket.status not in ACTIVE_STATUSES:
        for timer in timers:
            # A clock paused while waiting for the customer ends with the deadline it would
            # have had, so the met or stopped target still shows one.
            _resume(timer, now=now, calendars=calendars)
            # A duplicate merged away was not resolved: its clocks stop (the surviving
            # ticket's run on).
            if timer.kind == TimerKind.RESOLUTION and event.reason != "merged":
                timer.met_at = now
            else:
                timer.stopped_at = now  # nothing left to reply to
            _save(timer)
        return
    _refresh_around_the_clock(ticket, timers, now=now, calendars=calendars)
    for timer in timers:
        changed = (
            _pause(timer, now=now, calendars=calendars)
            if _pauses(ticket, timer.policy)
            else (_resume(timer, now=now, calendars=calendars))
        )
        if changed:
            _save(timer)
    if event.previous not in ACTIVE_STATUSES and not any(t.kind == TimerKind.RESOLUTION for t in timers):
        policy = _policy_of(ticket, timers)
        if policy is not None:  # reopened: a new resolution clock
            _start(ticket, policy, TimerKind.RESOLUTION, started_at=now, now=now, calendars=calendars)


# --------------------------------------------------------------------------- the sweep


@dataclass
class SweepResult:
    warned: int = 0
    breached: int = 0


def sweep_due_timers(*, now: datetime | None = None, batch: int | None = None) -> SweepResult:
    """Record warnings and breaches that are due, ``batch`` rows per transaction, until none
    is left. Rows are claimed with ``SELECT ... FOR UPDATE SKIP LOCKED`` (PostgreSQL), so
    sweeps running at once on several workers share the work instead of doubling it; the
    conditional update makes a second pass over the same row a no-op anyway."""
    now = now or timezone.now()
    batch = batch or int(settings.KEFU_SLA_SWEEP_BATCH) or 1000
    result = SweepResult()
    while True:
        with transaction.atomic():
            claimed = list(
                SlaTimer.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(OPEN_Q, breached_at__isnull=True, due_at__lte=now)
                .order_by("due_at")
                .values_list("pk", flat=True)[:batch]
            )
            if claimed:
                _mark(claimed, "breached_at", now, SlaBreached)
                result.breached += len(claimed)
        if len(claimed) < batch:
            break
    while True:
        with transaction.atomic():
            claimed = list(
                SlaTimer.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(OPEN_Q, warned_at__isnull=True, breached_at__isnull=True, warn_at__lte=now)
                .order_by("warn_at")
                .values_list("pk", flat=True)[:batch]
            )
            if claimed:
                _mark(claimed, "warned_at", now, SlaWarning)
                result.warned += len(claimed)
        if len(claimed) < batch:
            break
    return result


def _mark(
    ids: list[int], field: str, now: datetime, event_type: type[SlaBreached] | type[SlaWarning]
) -> None:
    # Only rows not marked yet: a second sweep over the same rows (SQLite has no SKIP LOCKED)
    # marks and announces nothing again.
    claimed = list(
        SlaTimer.objects.filter(pk__in=ids, **{f"{field}__isnull": True}).values_list("pk", flat=True)
    )
    SlaTimer.objects.filter(pk__in=claimed).update(**{field: now})
    marked = SlaTimer.objects.filter(pk__in=claimed).select_related(
        "ticket", "ticket__assignee", "ticket__team", "policy"
    )
    for timer in marked:
        events.publish(event_type(timer=timer, ticket=timer.ticket))


# --------------------------------------------------------------------------- notifications


def _load_supervisor_ids() -> list[int]:
    from kefu.accounts.models import Role, User

    return list(User.objects.filter(role=Role.SUPERVISOR, is_active=True).values_list("pk", flat=True))


# Every active supervisor hears of every breach (they oversee every queue and may assign anyone
# on staff). Kept per process: a sweep recording a thousand breaches asks once, not a thousand
# times; changing a user forgets it.
SUPERVISORS = ReferenceCache("sla.supervisors", _load_supervisor_ids, seconds=60.0)


def _notify(event: SlaWarning | SlaBreached, action: str) -> None:
    """Tell the assignee and the team's supervisors, through the audit log (what the
    supervisor view reads) and, for a breach, a system note in the thread (agents only)."""
    ticket, timer = event.ticket, event.timer
    recipients = ([ticket.assignee_id] if ticket.assignee_id else []) + SUPERVISORS.get()
    do_record(
        actor=None,
        action=action,
        target_type="ticket",
        target_id=ticket.case_number,
        data={
            "kind": timer.kind,
            "due_at": timer.due_at.isoformat() if timer.due_at else None,
            "policy": timer.policy.name if timer.policy else None,
            "notify": sorted(set(recipients)),
        },
    )


def on_sla_warning(event: SlaWarning) -> None:
    _notify(event, "sla.warning")


def on_sla_breached(event: SlaBreached) -> None:
    from kefu.tickets.actions import do_add_system_note, do_raise_priority

    _notify(event, "sla.breached")
    ticket, timer = event.ticket, event.timer
    with override(ticket.language):
        note = _("Service level missed: {target} was due {due}.").format(
            target=TimerKind(timer.kind).label,
            due=timezone.localtime(timer.due_at).strftime("%Y-%m-%d %H:%M") if timer.due_at else "",
        )
    do_add_system_note(ticket=ticket, body=note)
    if timer.policy is not None and timer.policy.escalate_on_breach:
        do_raise_priority(ticket=ticket, reason=f"sla.{timer.kind}")


# --------------------------------------------------------------------------- policy changes


def recalculate_open_timers(*, policy_id: int | None = None) -> int:
    """Re-plan every open timer (of one policy, or all): the ticket's matching policy may
    have changed, and so may its targets or calendar. A timer keeps its start; its deadline
    becomes start + the new target on the new clock (paused ones keep the new remaining time).
    Returns how many timers changed."""
    calendars = _Calendars()
    now = timezone.now()
    qs = SlaTimer.objects.filter(OPEN_Q).select_related(
        "ticket", "ticket__team", "ticket__category", "policy"
    )
    if policy_id is not None:
        qs = qs.filter(policy_id=policy_id)
    policies = active_policies()
    changed = 0
    last_pk = 0
    while True:
        with transaction.atomic():
            chunk = list(qs.filter(pk__gt=last_pk).order_by("pk")[:500])
            for timer in chunk:
                changed += _recalculate(timer, policies, now=now, calendars=calendars)
        if not chunk:
            break
        last_pk = chunk[-1].pk
    return changed


def _recalculate(timer: SlaTimer, policies: list[SlaPolicy], *, now: datetime, calendars: _Calendars) -> int:
    ticket = timer.ticket
    policy = matching_policy(ticket, policies)
    plan = None if policy is None else _plan(ticket, policy, timer.kind)
    if policy is None or plan is None:
        timer.stopped_at = now
        timer.save(update_fields=["stopped_at"])
        return 1
    before = (timer.due_at, timer.remaining_seconds, timer.policy_id)
    old_calendar = _timer_calendar(timer, calendars)
    # Working time already used (pauses excluded) counts against the new target.
    if timer.paused_at is not None:
        used = timer.target_seconds - (timer.remaining_seconds or 0)
    else:
        used = timer.target_seconds - _between(old_calendar, now, timer.due_at) if timer.due_at else 0
    used = max(used, 0)
    timer.policy, timer.calendar_id = policy, plan.calendar_id
    timer.target_seconds, timer.never_pauses = plan.target_seconds, plan.never_pauses
    fraction = warn_fraction()
    left = max(plan.target_seconds - used, 0)
    warn_left = plan.target_seconds * fraction - used if fraction and timer.warned_at is None else None
    if warn_left is not None and warn_left <= 0:
        warn_left = None if timer.warned_at else 0.0
    if timer.paused_at is not None:
        timer.remaining_seconds, timer.warn_remaining_seconds = left, warn_left
    else:
        _schedule(timer, start=now, seconds=left, warn_seconds=warn_left, calendars=calendars)
    timer.save()
    return int(before != (timer.due_at, timer.remaining_seconds, timer.policy_id))


def on_ticket_reclassified(event: TicketReclassified) -> None:
    """An agent changed the priority or category: the first matching policy may be another
    one now; the ticket's open clocks are re-planned under it (time used so far counts). A
    priority raised by a breach's escalation (no actor) leaves them: re-planning then could
    breach the next clock at once and escalate again in the same sweep."""
    if event.actor is None:
        return
    policies = active_policies()
    calendars = _Calendars()
    now = timezone.now()
    for timer in open_timers(event.ticket.pk):
        timer.ticket = event.ticket
        _recalculate(timer, policies, now=now, calendars=calendars)


def register() -> None:
    events.subscribe(TicketCreated, on_ticket_created, when=events.IN_TRANSACTION)
    events.subscribe(MessageAdded, on_message_added, when=events.IN_TRANSACTION)
    events.subscribe(TicketStatusChanged, on_status_changed, when=events.IN_TRANSACTION)
    events.subscribe(TicketReclassified, on_ticket_reclassified, when=events.IN_TRANSACTION)
    events.subscribe(SlaWarning, on_sla_warning, when=events.IN_TRANSACTION)
    events.subscribe(SlaBreached, on_sla_breached, when=events.IN_TRANSACTION)
