"""Reads of the phone hotline: calls by CallSid, the caller's open case, a case from keyed
digits, phone hours, the honest wait, and the call-back queue agents see."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from kefu.accounts.models import Role, User
from kefu.identity.contacts import to_e164
from kefu.inbox.models import ContactIdentity, Inbox, InboxKind
from kefu.phone.models import Call, Callback, CallbackStatus, CallStatus
from kefu.rowlookup import RowLookup
from kefu.tickets.models import ACTIVE_STATUSES, Channel, Status, Ticket

# A case number is KF-YYYYMMDD-NNNNNNNN: sixteen digits once "KF-" and the dashes are gone.
CASE_DIGITS = 16
# Digits a menu ever needs; anything longer is not looked at (a 10,000-key request).
MAX_DIGITS = 32


def public_url() -> str:
    """The base URL the provider calls and signs (``KEFU_PUBLIC_URL``, else ``KEFU_BASE_URL``)."""
    return str(settings.KEFU_PUBLIC_URL or settings.KEFU_BASE_URL).rstrip("/")


def hotline_number() -> str:
    return str(settings.KEFU_PHONE_NUMBER or "")


def voice_inbox() -> Inbox | None:
    return Inbox.objects.filter(kind=InboxKind.VOICE, is_active=True).order_by("id").first()


def call_by_sid(call_sid: str) -> Call | None:
    if not call_sid or len(call_sid) > 64:
        return None
    return Call.objects.select_related("inbox", "ticket").filter(call_sid=call_sid).first()


_CONTACT = RowLookup(ContactIdentity, "inbox", "address")


def caller_contact(call: Call) -> ContactIdentity | None:
    """The caller's contact identity on the call's inbox, if Kefu has seen the number before
    (the address as ``kefu.inbox.pipeline.identify`` stores it). The SQL is built once."""
    return _CONTACT.get(call.inbox_id, call.caller.strip().lower()[:320]) if call.caller else None


def clean_digits(raw: str | None) -> str:
    """The keys pressed, or "" for anything that is not a plausible key sequence."""
    raw = (raw or "").strip()
    if len(raw) > MAX_DIGITS or any(ch not in "0123456789*#" for ch in raw):
        return ""
    return raw


def case_number_from_digits(digits: str) -> str | None:
    digits = digits.rstrip("#")
    if len(digits) != CASE_DIGITS or not digits.isdigit():
        return None
    return f"KF-{digits[:8]}-{digits[8:]}"


def customer_for_number(contact_customer: User | None, e164: str) -> User | None:
    """Whose account the caller's number is on, as far as caller ID tells (never proof): the
    contact's linked customer, else the one active customer with that number on file."""
    if contact_customer is not None:
        return contact_customer
    if not e164:
        return None
    national = e164[3:] if e164.startswith("+86") else ""
    candidates = [
        user
        for user in User.objects.filter(
            role=Role.CUSTOMER, is_active=True, phone__in=[p for p in (e164, national) if p]
        )[:2]
        if to_e164(user.phone) == e164
    ]
    return candidates[0] if len(candidates) == 1 else None


def _surviving(ticket: Ticket) -> Ticket:
    for _hop in range(10):
        if ticket.merged_into_id is None:
            break
        ticket = Ticket.objects.get(pk=ticket.merged_into_id)
    return ticket


def open_case_for(call: Call, customer: User | None) -> Ticket | None:
    """The caller's open case a new call joins: the case of an earlier call from this number,
    else the customer's open phone case; None opens a new one."""
    earlier = (
        Call.objects.filter(inbox_id=call.inbox_id, caller=call.caller, ticket__isnull=False)
        .exclude(pk=call.pk)
        .order_by("-started_at")
        .select_related("ticket")
        .first()
    )
    if call.caller and earlier is not None and earlier.ticket is not None:
        ticket = _surviving(earlier.ticket)
        # A case still in the bot's stage is an earlier call's whose hand-off job has not run
        # yet (kefu.phone.actions.do_open_case): the same open case.
        if ticket.is_active or ticket.status == Status.BOT:
            return ticket
    if customer is not None:
        return (
            Ticket.objects.filter(customer=customer, channel=Channel.PHONE, status__in=ACTIVE_STATUSES)
            .order_by("-updated_at")
            .first()
        )
    return None


def named_case(call: Call, customer: User | None, digits: str) -> Ticket | None:
    """The case the caller keyed, if this caller may reach it: the customer's own, or one an
    earlier call from this number opened. A stranger quoting someone's number reaches nothing."""
    number = case_number_from_digits(digits)
    if number is None:
        return None
    ticket = Ticket.objects.filter(case_number=number).first()
    if ticket is None:
        return None
    ticket = _surviving(ticket)
    if customer is not None and ticket.customer_id == customer.pk:
        return ticket
    if call.caller and Call.objects.filter(caller=call.caller, ticket=ticket).exists():
        return ticket
    return None


# --- hours ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PhoneHours:
    open: bool
    next_opens_at: datetime | None


def phone_hours(inbox: Inbox, at: datetime | None = None) -> PhoneHours:
    """Open or closed now by the voice inbox's calendar (with its holidays); no calendar: 24/7."""
    if inbox.calendar_id is None:
        return PhoneHours(open=True, next_opens_at=None)
    from kefu.calendars.arithmetic import NoWorkingTime, add_business_seconds, open_intervals
    from kefu.calendars.selectors import cached_calendar_by_id

    calendar = cached_calendar_by_id(inbox.calendar_id)
    at = at or timezone.now()
    if calendar.always_open or open_intervals(calendar, at, at + timedelta(seconds=1)):
        return PhoneHours(open=True, next_opens_at=None)
    try:
        opens = add_business_seconds(calendar, at, 0)
    except NoWorkingTime:
        opens = None
    return PhoneHours(open=False, next_opens_at=opens.astimezone(calendar.zone) if opens else None)


# --- the queue ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Wait:
    position: int
    eta_seconds: int | None  # None: no agent who could take the call is online


def wait_for(call: Call, position: int) -> Wait:
    """The honest wait at ``position`` (the provider's QueuePosition): live chat's estimator over
    the agents online for the case's team and language (kefu.chat.estimate)."""
    from kefu.chat.estimate import estimate_wait
    from kefu.chat.selectors import wait_inputs

    team_id = call.ticket.team_id if call.ticket is not None else call.inbox.team_id
    inputs = wait_inputs(team_id=team_id, language=call.language, tier=1)
    eta = estimate_wait(position=max(position, 1), slots=inputs.slots, handle_seconds=inputs.handle_seconds)
    return Wait(position=max(position, 1), eta_seconds=None if eta is None else int(round(eta)))


def queue_position(call: Call) -> int:
    """Kefu's own count of the calls ahead (used when the provider gives no position)."""
    if call.queued_at is None:
        return 0
    ahead = Call.objects.filter(
        inbox_id=call.inbox_id, status=CallStatus.QUEUED, queued_at__lt=call.queued_at
    ).count()
    return ahead + 1


def current_calls(agent: User) -> QuerySet[Call]:
    """The calls an agent has answered that have not ended, newest first."""
    return (
        Call.objects.filter(agent=agent, answered_at__isnull=False, ended_at__isnull=True)
        .select_related("ticket")
        .order_by("-answered_at")[:5]
    )


def callback_queue() -> QuerySet[Callback]:
    """Call-backs to make, in the order the callers joined the queue (their kept place)."""
    return (
        Callback.objects.filter(status__in=[CallbackStatus.WAITING, CallbackStatus.DIALLING])
        .select_related("ticket", "customer", "call", "agent")
        .order_by("place_at", "id")
    )


def callback_number(callback: Callback) -> str | None:
    """The number a call-back dials: only the verified number on file (the customer's phone, if
    the caller proved they own the account by a code), never the caller ID itself."""
    if callback.customer is None or callback.call.verified_at is None:
        return None
    return to_e164(callback.customer.phone)


def free_agent_for(call: Call, *, ring_seconds: int = 30) -> User | None:
    """The first free agent with the skill, as live chat chooses (kefu.chat.selectors): online,
    a free slot, in the case's team, speaking the caller's language; the least loaded first, then
    the one who waited longest. Only agents with a phone line can take calls."""
    from django.db.models import F

    from kefu.accounts.models import STAFF_ROLES
    from kefu.chat.models import AgentPresence, PresenceStatus

    team_id = call.ticket.team_id if call.ticket is not None else call.inbox.team_id
    presences = AgentPresence.objects.filter(
        status=PresenceStatus.ONLINE,
        user__is_active=True,
        user__role__in=list(STAFF_ROLES),
        user__phone_line__isnull=False,
        active_chats__lt=F("capacity"),
    ).select_related("user")
    if team_id is not None:
        presences = presences.filter(user__teams=team_id)
    # Not on a call, and not being rung for another waiting call right now.
    ringing_since = timezone.now() - timedelta(seconds=ring_seconds)
    busy = Call.objects.filter(ended_at__isnull=True).filter(
        Q(agent__isnull=False, answered_at__isnull=False)
        | Q(dialled_agent__isnull=False, answered_at__isnull=True, agent_dialled_at__gte=ringing_since)
    )
    busy_ids = {pk for pair in busy.values_list("agent_id", "dialled_agent_id") for pk in pair if pk}
    presences = presences.exclude(user_id__in=busy_ids)
    ordered = presences.order_by("active_chats", F("last_assigned_at").asc(nulls_first=True), "user_id")
    for presence in ordered[:20]:
        if presence.speaks(call.language):
            return presence.user
    return None
