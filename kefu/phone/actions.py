"""State changes of the phone hotline. Every one is keyed by the call's CallSid and idempotent:
the provider retries webhooks, and a replayed request must find what the first one did.

Lock order: the call row (``select_for_update``), then the case row (its thread's number).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from kefu.accounts.models import User
from kefu.identity.contacts import mask_email, mask_phone, to_e164
from kefu.inbox.models import Inbox
from kefu.jobs.engine import enqueue_on_commit
from kefu.phone import selectors
from kefu.phone.models import (
    ENDED_STATUSES,
    AgentLine,
    Call,
    Callback,
    CallbackStatus,
    CallStatus,
    Outcome,
    PhoneSms,
    SmsStatus,
)
from kefu.tickets import stages, thread
from kefu.tickets.models import Category, Channel, MessageKind, Sender, Status, Ticket

logger = logging.getLogger(__name__)

SMS_MAX_ATTEMPTS = 5
# A text claimed by a sender that has not finished after this long is taken to be lost (the
# process died mid-send) and may be claimed again: well above the provider call's timeout.
SMS_CLAIM_SECONDS = 60
# A queued text nobody has sent after this long lost its job (the process died after the
# commit, before the job ran); the sweep queues it again.
SMS_LOST_SECONDS = 120


# The main menu's choices and what they are about: (category slug, urgent, security).
TOPICS: dict[str, tuple[str | None, bool, bool]] = {
    "deposits": ("assets", False, False),
    "lost_access": ("account-recovery", False, False),
    "stolen": ("account-compromised", True, True),
    "freeze": ("account-compromised", False, True),
    "other": (None, False, False),
    "agent": (None, False, False),
    "callback": (None, False, False),
    "voicemail": (None, False, False),
    "case": (None, False, False),
}


def topic_label(topic: str) -> str:
    labels = {
        "deposits": _("deposits and withdrawals"),
        "lost_access": _("lost access or password"),
        "stolen": _("stolen account or unauthorised withdrawal"),
        "freeze": _("freeze the account"),
        "other": _("other questions"),
        "agent": _("an agent"),
        "callback": _("a call-back"),
        "voicemail": _("a voicemail"),
        "case": _("an existing case"),
    }
    return str(labels.get(topic, _("a phone call")))


# --- the follow-up job -------------------------------------------------------------------------


class _Webhook:
    """What a webhook's steps leave for its end: the calls whose follow-up job they asked for,
    and the calls' bookkeeping fields not written yet (:func:`do_note_call`)."""

    def __init__(self) -> None:
        self.follow_ups: set[int] = set()
        self.notes: dict[int, tuple[Call, dict[str, object]]] = {}


# The webhook running in this context (None outside a webhook).
_running: ContextVar[_Webhook | None] = ContextVar("kefu_phone_webhook", default=None)


@contextmanager
def one_job_per_call() -> Iterator[None]:
    """Around a webhook: what its steps leave for later — hand a new case over, ring an agent for
    a queued call, send the call's texts — is one job per call (``tasks.finish_case``), queued
    when the webhook's work is done, however many steps asked (a case opened and a text queued
    in one answer used to be two jobs: two writes to the embedded queue's file per answer).
    The bookkeeping fields the steps noted and no later write of the call took along are
    written here, in one UPDATE."""
    hook = _Webhook()
    token = _running.set(hook)
    try:
        yield
        for call, changes in list(hook.notes.values()):
            if changes:
                do_update_call(call, **changes)
    finally:
        _running.reset(token)
        for pk in sorted(hook.follow_ups):
            _enqueue_follow_up(pk)


def _enqueue_follow_up(call_pk: int) -> None:
    from kefu.phone.tasks import finish_case

    enqueue_on_commit(finish_case, call_pk)


def _follow_up(call: Call) -> None:
    """Ask for the call's follow-up job: at the end of the webhook, or after this commit when no
    webhook is running (the job does everything pending for the call, so asking twice is
    harmless)."""
    hook = _running.get()
    if hook is None:
        _enqueue_follow_up(call.pk)
    else:
        hook.follow_ups.add(call.pk)


def do_note_call(call: Call, **changes: object) -> None:
    """The call's bookkeeping (language, menu path, retries, topic): set on the call at once, and
    inside a webhook written with the call's next write — the case-opening transaction's one
    UPDATE of the call — or at the webhook's end. A step that opens the case used to write the
    call three times before its transaction (menu path, topic, then the case), three turns at
    SQLite's one write lock, where py-spy found the case-opening step waiting (issue 14)."""
    for name, value in changes.items():
        setattr(call, name, value)
    hook = _running.get()
    if hook is None:
        do_update_call(call, **changes)
        return
    hook.notes.setdefault(call.pk, (call, {}))[1].update(changes)


def _take_notes(call: Call) -> dict[str, object]:
    """The call's noted fields not written yet, now to be written by the caller's UPDATE."""
    hook = _running.get()
    if hook is None or call.pk not in hook.notes:
        return {}
    return dict(hook.notes.pop(call.pk)[1])


def do_follow_up(call_pk: int) -> None:
    """The follow-up job: hand a new case to humans, ring an agent for a call still waiting for
    one, send the call's queued texts. Each part checks its rows first, so a rerun does nothing
    twice; a text the provider refused makes the job fail after the rest is done (and retried)."""
    from kefu.identity.sms import SmsError

    call = Call.objects.select_related("inbox").filter(pk=call_pk).first()
    if call is not None:
        do_record_contact(call)
    do_finish_case(call_pk)
    do_connect_agent(call_pk)  # rings only a call still waiting for an agent
    failed: SmsError | None = None
    for pk in PhoneSms.objects.filter(call_id=call_pk, status=SmsStatus.QUEUED).values_list("pk", flat=True):
        try:
            send_sms(pk)
        except SmsError as exc:
            failed = exc
    if failed is not None:
        raise failed


# --- the call -----------------------------------------------------------------------------------


def do_start_call(*, inbox: Inbox, call_sid: str, caller: str, called: str) -> Call:
    """The call's row, made on the first webhook (a retry or a replay finds it)."""
    call = selectors.call_by_sid(call_sid)
    if call is not None:
        return call
    # Caller ID is stored only as a valid E.164 number: anything else (a withheld number, text
    # the provider passed through) is not kept.
    called = called.strip()
    values = {
        "inbox": inbox,
        "caller": to_e164(caller) or "",
        "called": called if re.fullmatch(r"\+?[0-9]{3,20}", called) else "",
    }
    try:
        with transaction.atomic():
            return Call.objects.create(call_sid=call_sid, **values)
    except IntegrityError:  # the same CallSid twice at once: the other request made it
        return Call.objects.select_related("inbox", "ticket").get(call_sid=call_sid)


def do_update_call(call: Call, **changes: object) -> None:
    Call.objects.filter(pk=call.pk).update(**changes)
    for name, value in changes.items():
        setattr(call, name, value)


def customer_of(call: Call) -> User | None:
    """Whose account the caller's number is on (caller ID: threads the call, never proves).
    Looked up once per request: a step asks several times (step-up, the case, the code)."""
    if "_customer" in call.__dict__:
        return call.__dict__["_customer"]
    customer = None
    if call.caller:
        # A read: the contact's first sight (or its "last seen") is written by the follow-up
        # job (do_record_contact), not at SQLite's write lock while the caller waits.
        contact = selectors.caller_contact(call)
        customer = selectors.customer_for_number(contact.customer if contact else None, call.caller)
    call.__dict__["_customer"] = customer
    return customer


def do_record_contact(call: Call) -> None:
    """The caller's contact identity on the voice inbox, made on first sight and its "last
    seen" kept (``kefu.inbox.pipeline.identify``): by the follow-up job, off the webhook."""
    if call.caller:
        from kefu.inbox.pipeline import identify

        identify(call.inbox, address=call.caller)


def _log(ticket: Ticket, call: Call, event: str, body: str, *, first: bool = False, **extra: object) -> None:
    """A call-log line on the case. ``first``: the case was just inserted with this line's number
    reserved (``last_seq=1``), so no UPDATE takes it."""
    thread.append(
        ticket,
        kind=MessageKind.SYSTEM,
        sender=Sender.SYSTEM,
        body=body,
        channel=Channel.PHONE,
        extra={"event": f"phone.{event}", "call_sid": call.call_sid, **extra},
        first=first,
    )


def do_open_case(call: Call, *, topic: str = "", named: Ticket | None = None, queue: bool = False) -> Ticket:
    """The call's case: made (or the caller's open case joined) the first time the call needs
    one — it enters the queue, asks for a call-back, takes the stolen-account path, leaves a
    voicemail — and at the latest when it ends. Idempotent per call. ``named``: the case the
    caller keyed in (already checked to be theirs). ``queue``: the call joins the phone queue
    in the same transaction (:func:`do_enqueue`).

    The webhook waits only for what the caller hears: the case row with its number (said at
    once) and the call-log line. Handing a new case to humans — routing's side effects, the
    audit line, ``TicketCreated`` (SLA clocks, acknowledgement, search index) — costs tens of
    milliseconds of CPU and is :func:`do_finish_case`, a job queued on commit. The row is the
    truth: until that job has run the case is in the bot's stage (``Status.BOT``, outside the
    agents' queues), and the phone sweep finishes any such case, so a process that dies after
    the commit loses nothing; every later step that rings an agent finishes it first.

    The transaction is short: on SQLite it holds the database's one write lock (Kefu begins
    ``IMMEDIATE``) and every other webhook's write waits for it, so the reads (the caller's
    account, an open case to join, the route) come before it, and inside it the call is
    written once (its noted fields, the case, the queue) — py-spy found the case-opening step
    waiting for that lock, not computing (issue 14)."""
    prepared = _prepare_case(call, topic) if call.ticket_id is None and named is None else None
    new = False
    with transaction.atomic():
        # Only the call's row: FOR UPDATE over the join would lock the inbox row too, which every
        # call shares, and queue every case-opening webhook of the hotline behind each other
        # (PostgreSQL: 0.3-1 s waits under 50 calls, pg_stat_activity showed them on that row).
        locked = Call.objects.select_for_update(of=("self",)).select_related("inbox").get(pk=call.pk)
        changes = _take_notes(call)
        for name, value in changes.items():
            setattr(locked, name, value)
        if queue and locked.queued_at is None:
            changes.update(queued_at=timezone.now(), status=CallStatus.QUEUED)
        if locked.ticket_id is not None:
            ticket = Ticket.objects.get(pk=locked.ticket_id)
        else:
            from kefu.tickets.actions import create_case

            topic = topic or locked.topic or "agent"
            joined: Ticket | None = named
            fields: dict[str, object] = {}
            if named is None:
                if prepared is None or prepared[0] != topic:
                    prepared = _prepare_case(locked, topic)  # the reads before were for another topic
                _topic, joined, fields = prepared
            with override(locked.language):
                if joined is None:
                    ticket = create_case(**fields)
                    new = True
                else:
                    ticket = joined
                    _log(
                        ticket,
                        locked,
                        "joined",
                        _("Phone call from {caller} joined this case.").format(
                            caller=locked.caller or _("a withheld number")
                        ),
                    )
                _log(
                    ticket,
                    locked,
                    "started",
                    _("Call started at {time}; menu: {path}; identity: {identity}.").format(
                        time=timezone.localtime(locked.started_at).strftime("%Y-%m-%d %H:%M:%S"),
                        path=locked.menu_path or "-",
                        identity=_("verified by a one-time code")
                        if locked.verified_at
                        else _("not verified"),
                    ),
                    menu_path=locked.menu_path,
                    verified=locked.verified_at is not None,
                    first=new,
                )
            changes.update(ticket=ticket, topic=topic)
        if changes:
            do_update_call(locked, **changes)
        for name in ("ticket", "topic", "queued_at", "status"):
            if name in changes:
                setattr(call, name, changes[name])
        call.ticket, call.ticket_id = ticket, ticket.pk
        if new:
            _follow_up(call)
        if queue and "queued_at" in changes:
            do_queue_sms(call, purpose="case_number")
            _follow_up(call)  # rings an agent (after the hand-over of a new case)
        return ticket


def _prepare_case(call: Call, topic: str) -> tuple[str, Ticket | None, dict[str, object]]:
    """What opening the call's case needs to read, read before its transaction: the caller's open
    case to join, else the new case's fields (the account, the route). ``(topic, case to join,
    fields)``."""
    topic = topic or call.topic or "agent"
    customer = customer_of(call)
    joined = selectors.open_case_for(call, customer)
    return topic, joined, ({} if joined is not None else _new_case_fields(call, customer, topic))


def _new_case_fields(call: Call, customer: User | None, topic: str) -> dict[str, object]:
    """The new case's row, routed (its team names the provider's queue the call waits in) but
    still in the bot's stage: :func:`do_finish_case` hands it to humans. The category comes from
    the per-process category tree (``kefu.tickets.selectors.active_category``)."""
    from kefu.tickets import routing
    from kefu.tickets.selectors import active_category

    slug, urgent, security = TOPICS.get(topic, (None, False, False))
    category = active_category(slug) if slug else None
    routed = routing.route(category=category, urgent=urgent, security=security)
    category = routed.category or Category.objects.order_by("id").first()
    if category is None:
        raise RuntimeError("no ticket category exists: run the migrations' seed")
    with override(call.language or "zh-hans"):
        return {
            "customer": customer,
            "category": category,
            "team": routed.team,
            "priority": routed.priority,
            "security_flag": routed.security,
            "title": str(_("Phone call: {topic}").format(topic=topic_label(topic)))[: stages.TITLE_LIMIT],
            "description": _("Phone call from {caller} about {topic}.").format(
                caller=call.caller or _("a withheld number"), topic=topic_label(topic)
            ),
            "status": Status.BOT,
            "channel": Channel.PHONE,
            "language": call.language or "zh-hans",
            # The call-log's first line is numbered with the insert (thread.append(first=True)).
            "last_seq": 1,
        }


def do_finish_case(call_pk: int) -> bool:
    """Hand the call's new case to humans (``kefu.tickets.stages.do_open_to_humans``: routing,
    the hand-off note, audit, ``TicketCreated``, the search index). Idempotent: a case already
    handed over (by this job's other run, the sweep, or the step that rang an agent) is left
    as it is. True when this call did it."""
    call = Call.objects.select_related("ticket").filter(pk=call_pk).first()
    if call is None or call.ticket is None or call.ticket.status != Status.BOT:
        return False
    ticket = call.ticket
    _slug, urgent, security = TOPICS.get(call.topic, (None, False, False))
    with transaction.atomic():
        # The hand-off locks the case; it returns a case already handed over unchanged.
        handed = stages.do_open_to_humans(
            ticket=ticket,
            title=ticket.title,
            description=ticket.description,
            channel=Channel.PHONE,
            category=ticket.category,
            urgent=urgent,
            security=security,
            note=ticket.description,
        )
    return handed.status != Status.BOT


def do_finish_pending_cases(limit: int = 100) -> int:
    """The sweep's reconcile: finish the cases whose job was lost (a process died between the
    webhook's commit and the job's run), and record their callers' contacts, which that job
    would have. How many it finished."""
    pending = list(
        Call.objects.filter(ticket__status=Status.BOT).select_related("inbox").order_by("started_at")[:limit]
    )
    for call in pending:
        do_record_contact(call)
    return sum(1 for call in pending if do_finish_case(call.pk))


def do_enqueue(call: Call) -> Ticket:
    """The call joins the phone queue: its case exists from now on and its number goes by SMS.
    One transaction (:func:`do_open_case` with ``queue``), so the jobs it queues see the call
    queued: a new case's hand-off job rings an agent once the case is in the agents' queues; a
    joined case's call rings one at once."""
    return do_open_case(call, queue=True)


def do_request_callback(call: Call, *, position: int | None = None) -> Callback:
    """The caller asked to be called back, keeping their place: the call-back's place is when
    the call joined the queue (or now, if it never did)."""
    ticket = do_open_case(call, topic=call.topic or "callback")
    with transaction.atomic():
        try:
            with transaction.atomic():
                callback = Callback.objects.create(
                    call=call,
                    ticket=ticket,
                    customer=ticket.customer,
                    place_at=call.queued_at or timezone.now(),
                    queue_position=position,
                )
        except IntegrityError:  # a replayed request: the first one's call-back
            return Callback.objects.get(call=call)
        do_update_call(call, outcome=Outcome.CALLBACK)
        with override(ticket.language):
            _log(
                ticket,
                call,
                "callback_requested",
                _("The caller asked to be called back (position in the queue: {position}).").format(
                    position=position or "-"
                ),
            )
        do_queue_sms(call, purpose="case_number")
    return callback


def do_record_voicemail(call: Call, *, recording_url: str, recording_sid: str, duration: str) -> Ticket:
    """A voicemail becomes (or joins) the call's case, with the recording's link."""
    ticket = do_open_case(call, topic=call.topic or "voicemail")
    with transaction.atomic():
        locked = Call.objects.select_for_update().get(pk=call.pk)
        if locked.outcome == Outcome.VOICEMAIL:
            return ticket  # replayed: recorded once
        do_update_call(locked, outcome=Outcome.VOICEMAIL)
        call.outcome = Outcome.VOICEMAIL
        with override(ticket.language):
            _log(
                ticket,
                call,
                "voicemail",
                _("Voicemail ({seconds} s): {url}").format(seconds=duration or "0", url=recording_url),
                recording_url=recording_url,
                recording_sid=recording_sid,
            )
        do_queue_sms(call, purpose="case_number")
    return ticket


def do_record_conversation(call: Call, *, recording_url: str, recording_sid: str, duration: str) -> None:
    """The recording of the conversation with the agent (KEFU_PHONE_RECORD_CALLS): its link in
    the call log, once per recording."""
    ticket = do_open_case(call)
    with transaction.atomic():
        if recording_sid and ticket.messages.filter(extra__recording_sid=recording_sid).exists():
            return  # the provider retried the callback
        with override(ticket.language):
            _log(
                ticket,
                call,
                "recording",
                _("Call recording ({seconds} s): {url}").format(seconds=duration or "0", url=recording_url),
                recording_url=recording_url,
                recording_sid=recording_sid,
            )


def do_mark_status(call: Call, *, status: str, duration: str = "") -> None:
    """A status callback: ringing, in-progress, or an end (completed, busy, no-answer, failed,
    canceled). The end is recorded once: queue time, agent, duration and outcome as the call-log's
    last line, on the call's case (made now if nothing made it before)."""
    now = timezone.now()
    if status not in ENDED_STATUSES:
        if (
            status in (CallStatus.RINGING, CallStatus.IN_PROGRESS)
            and call.ended_at is None
            and call.queued_at is None
        ):
            Call.objects.filter(pk=call.pk, ended_at__isnull=True).update(status=status)
        return
    with transaction.atomic():
        locked = Call.objects.select_for_update().get(pk=call.pk)
        if locked.ended_at is not None:
            return  # a retry or a replay of the end
        seconds = int(duration) if duration.isdigit() else int((now - locked.started_at).total_seconds())
        outcome = locked.outcome
        if not outcome:
            if locked.agent_id is not None:
                outcome = Outcome.AGENT
            elif locked.queued_at is not None:
                outcome = Outcome.ABANDONED
            else:
                outcome = Outcome.HUNG_UP
        queue_seconds = None
        if locked.queued_at is not None:
            queue_end = locked.answered_at or now
            queue_seconds = max(int((queue_end - locked.queued_at).total_seconds()), 0)
        do_update_call(
            locked,
            status=status,
            ended_at=now,
            duration_seconds=seconds,
            outcome=outcome,
            queue_seconds=queue_seconds,
        )
    ticket = do_open_case(locked)
    with transaction.atomic(), override(ticket.language):
        _log(
            ticket,
            locked,
            "ended",
            _(
                "Call ended ({status}) after {seconds} s; time in queue: {queue}; agent: {agent}; outcome: {outcome}."
            ).format(
                status=status,
                seconds=seconds,
                queue=f"{queue_seconds} s" if queue_seconds is not None else "-",
                agent=(locked.agent.display_name or locked.agent.email) if locked.agent else "-",
                outcome=Outcome(outcome).label,
            ),
            outcome=outcome,
            duration=seconds,
            queue_seconds=queue_seconds,
        )


# --- identity step-up ---------------------------------------------------------------------------


def do_send_code(call: Call, customer: User) -> str | None:
    """Send a one-time code to the account's registered contact: email first (a SIM swap, the
    reason caller ID proves nothing, hands the attacker the phone, not the mailbox), else SMS.
    Returns where it went (masked) or None when no code could be sent."""
    from kefu.identity.actions import check_send_code
    from kefu.identity.exceptions import IdentityError

    for channel in ("email", "sms"):
        try:
            challenge = check_send_code(user=customer, channel=channel, language=call.language)
        except IdentityError:
            continue
        do_update_call(call, challenge_id=challenge.public_id)
        if channel == "email":
            return mask_email(customer.email)
        return mask_phone(to_e164(customer.phone) or "")
    return None


def do_check_code(call: Call, customer: User, code: str) -> bool:
    """Check the code the caller keyed in (never stored or logged). True when it was right."""
    from kefu.identity.actions import check_verify_code
    from kefu.identity.exceptions import IdentityError

    if call.challenge_id is None:
        return False
    try:
        check_verify_code(user=customer, challenge_id=call.challenge_id, code=code)
    except IdentityError:
        return False
    do_update_call(call, verified_at=timezone.now(), challenge_id=None)
    if call.ticket_id is not None:
        with override(call.language):
            _log(call.ticket, call, "verified", _("The caller keyed in a one-time code: identity verified."))  # type: ignore[arg-type]
    return True


# --- SMS ------------------------------------------------------------------------------------------


def _absolute(path: str) -> str:
    return str(settings.KEFU_BASE_URL).rstrip("/") + path


def sms_text(call: Call, purpose: str) -> str:
    brand = settings.KEFU_BRAND_NAME
    with override(call.language):
        if purpose == "case_number" and call.ticket is not None:
            return _("{brand}: your case number is {case}. Follow it at {url}").format(
                brand=brand,
                case=call.ticket.case_number,
                url=_absolute(reverse("tickets:portal_ticket", args=[call.ticket.case_number])),
            )
        if purpose == "freeze":
            return _(
                "{brand}: to freeze your account now, open {url} (you sign in and confirm with a "
                "one-time code). We never ask for your seed phrase."
            ).format(brand=brand, url=_absolute(reverse("identity:freeze")))
        return _("{brand}: open a ticket here and we will answer you: {url}").format(
            brand=brand, url=_absolute(reverse("tickets:portal_new"))
        )


def do_queue_sms(call: Call, *, purpose: str) -> PhoneSms | None:
    """One text per call and purpose, to the caller's number, sent by a job after commit."""
    if not call.caller:
        return None
    try:
        with transaction.atomic():
            sms = PhoneSms.objects.create(
                call=call, purpose=purpose, to=call.caller, body=sms_text(call, purpose)
            )
    except IntegrityError:
        return None  # already queued for this call
    _follow_up(call)
    return sms


def claim_sms(pk: int) -> PhoneSms | None:
    """Take a queued text for sending, exclusively: one conditional UPDATE, so of two workers
    running its job at once (a retry and the sweep's, a job run twice) only one gets it — on
    PostgreSQL the second waits for the first's row lock and then no longer matches. A claim
    older than SMS_CLAIM_SECONDS is a sender that died mid-send: it may be taken again."""
    now = timezone.now()
    claimed = (
        PhoneSms.objects.filter(pk=pk, status=SmsStatus.QUEUED)
        .filter(Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - timedelta(seconds=SMS_CLAIM_SECONDS)))
        .update(claimed_at=now, attempts=F("attempts") + 1)
    )
    return PhoneSms.objects.get(pk=pk) if claimed else None


def send_sms(pk: int) -> bool:
    """Send one queued text through the provider's REST API, if this worker claims it (the
    follow-up job, and ``tasks.send_sms`` for the sweep's; a failure is retried by the engine)."""
    from kefu.identity.sms import SmsError
    from kefu.phone.provider import provider

    sms = claim_sms(pk)
    if sms is None:
        return False
    do_finish_case(sms.call_id)  # the text links the case: the customer may open it at once
    try:
        sid = provider().send_sms(to=sms.to, body=sms.body)
    except SmsError as exc:
        failed = sms.attempts >= SMS_MAX_ATTEMPTS
        # Released (claimed_at cleared) for the engine's retry of this job.
        PhoneSms.objects.filter(pk=pk).update(
            last_error=str(exc)[:500],
            status=SmsStatus.FAILED if failed else SmsStatus.QUEUED,
            claimed_at=None,
        )
        if failed:
            return False
        raise
    PhoneSms.objects.filter(pk=pk).update(
        status=SmsStatus.SENT, provider_id=sid, sent_at=timezone.now(), last_error=""
    )
    return True


def do_requeue_lost_sms(limit: int = 100) -> int:
    """The sweep's reconcile for texts: a text still queued SMS_LOST_SECONDS after it was written
    and not being sent (unclaimed, or its claim expired) lost its job — the process died after
    the commit, before the job ran, or during the send. Queue its job again; the claim makes a
    second job for the same text do nothing. How many were queued."""
    from kefu.jobs.engine import enqueue
    from kefu.phone.tasks import send_sms as send_sms_job

    now = timezone.now()
    lost = list(
        PhoneSms.objects.filter(
            status=SmsStatus.QUEUED, created_at__lt=now - timedelta(seconds=SMS_LOST_SECONDS)
        )
        .filter(Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - timedelta(seconds=SMS_CLAIM_SECONDS)))
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
    for pk in lost:
        enqueue(send_sms_job, pk)
    return len(lost)


# --- agents: connect and call back ---------------------------------------------------------------


CALLBACK_MAX_ATTEMPTS = 3


class CallbackRefused(Exception):
    """A call-back cannot be dialled now; ``message`` is translated for the agent."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def do_set_agent_line(*, user: User, address: str) -> AgentLine | None:
    """The agent's phone number (E.164) or SIP address (``sip:...``) where calls reach them;
    empty removes it. Raises CallbackRefused for anything else."""
    address = address.strip()
    if not address:
        AgentLine.objects.filter(user=user).delete()
        return None
    if address.startswith("sip:"):
        if not re.fullmatch(r"sip:[A-Za-z0-9._~+-]+@[A-Za-z0-9.-]+(:[0-9]{1,5})?", address):
            raise CallbackRefused(_("Write a SIP address as sip:name@host."))
        value = address
    else:
        number = to_e164(address)
        if number is None:
            raise CallbackRefused(_("This is not a valid phone number."))
        value = number
    line, _created = AgentLine.objects.update_or_create(user=user, defaults={"address": value})
    return line


def _webhook(path: str) -> str:
    return selectors.public_url() + path


def do_dial_callback(callback: Callback, *, agent: User) -> Callback:
    """Dial a call-back, the agent first: the provider calls the agent's line and, when they
    answer, whispers the case and dials the customer's verified number on file (never the caller
    ID of the call that asked). Each try is counted and logged on the case."""
    number = selectors.callback_number(callback)
    if number is None:
        raise CallbackRefused(
            _("There is no verified number on file for this caller: reach them another way (the case).")
        )
    line = AgentLine.objects.filter(user=agent).first()
    if line is None:
        raise CallbackRefused(_("Add your phone line first: the call reaches you before the customer."))
    with transaction.atomic():
        locked = Callback.objects.select_for_update().get(pk=callback.pk)
        if locked.status not in (CallbackStatus.WAITING, CallbackStatus.DIALLING):
            raise CallbackRefused(_("This call-back is already closed."))
        if locked.status == CallbackStatus.DIALLING and locked.agent_id not in (None, agent.pk):
            raise CallbackRefused(_("Another agent is calling this customer back."))
        from kefu.identity.sms import SmsError
        from kefu.phone.provider import provider

        try:
            provider().create_call(
                to=line.address,
                url=_webhook(reverse("phone:callback_agent", args=[locked.pk])),
                status_callback=_webhook(reverse("phone:callback_result", args=[locked.pk])),
            )
        except SmsError as exc:
            logger.warning("call-back %s not dialled: %s", locked.pk, exc)
            raise CallbackRefused(_("The telephony provider could not place the call. Try again.")) from exc
        locked.attempts += 1
        locked.status = CallbackStatus.DIALLING
        locked.agent = agent
        locked.last_outcome = "dialling"
        locked.save(update_fields=["attempts", "status", "agent", "last_outcome", "updated_at"])
        with override(locked.ticket.language):
            _log(
                locked.ticket,
                locked.call,
                "callback_dialled",
                _("Call-back attempt {attempt} by {agent}.").format(
                    attempt=locked.attempts, agent=agent.display_name or agent.email
                ),
            )
    return locked


def do_callback_result(callback: Callback, *, dial_status: str) -> Callback:
    """The customer's leg of a call-back ended: answered closes it; busy, no answer or a failure
    puts it back in the queue (at its place) until the last attempt."""
    with transaction.atomic():
        locked = Callback.objects.select_for_update().get(pk=callback.pk)
        if locked.status != CallbackStatus.DIALLING:
            return locked  # a retry of the same result
        dial_status = dial_status if dial_status in CallStatus.values else "failed"
        if dial_status == CallStatus.COMPLETED:
            locked.status = CallbackStatus.DONE
        elif locked.attempts >= CALLBACK_MAX_ATTEMPTS:
            locked.status = CallbackStatus.FAILED
        else:
            locked.status = CallbackStatus.WAITING
        locked.last_outcome = dial_status
        locked.save(update_fields=["status", "last_outcome", "updated_at"])
        with override(locked.ticket.language):
            _log(
                locked.ticket,
                locked.call,
                "callback_result",
                _("Call-back attempt {attempt}: {outcome}.").format(
                    attempt=locked.attempts, outcome=dial_status
                ),
                outcome=dial_status,
            )
    return locked


# An agent's phone rings this long before the sweep tries the next free agent for the call.
RING_SECONDS = 30


def do_connect_agent(call_pk: int) -> bool:
    """Ring the first free agent with the skill for a queued call (live chat's fair,
    capacity-aware choice: online, a free slot, the case's team and the caller's language, the
    least loaded and longest idle first, with a phone line and not on another call). The agent's
    leg takes the caller out of the queue (<Dial><Queue>) after a whisper of the topic.

    Runs after the call queues and from the sweep (an agent who comes online later gets the
    waiting calls). One ring at a time per call: the call row is claimed by a conditional
    UPDATE, so two workers never ring two agents for it; an unanswered ring is retried after
    RING_SECONDS, with another agent if one is free."""
    from kefu.identity.sms import SmsError
    from kefu.phone.provider import provider

    # The agent opens the case while the phone rings: it must be in the agents' queues by then.
    do_finish_case(call_pk)
    now = timezone.now()
    claimed = (
        Call.objects.filter(
            pk=call_pk, queued_at__isnull=False, answered_at__isnull=True, ended_at__isnull=True
        )
        .filter(
            Q(agent_dialled_at__isnull=True) | Q(agent_dialled_at__lt=now - timedelta(seconds=RING_SECONDS))
        )
        .update(agent_dialled_at=now, dialled_agent=None)
    )
    if not claimed:
        return False
    call = Call.objects.select_related("ticket", "inbox").get(pk=call_pk)
    agent = selectors.free_agent_for(call)
    if agent is None:
        # Nobody free: the caller waits (the wait URL says so honestly); the sweep tries again.
        Call.objects.filter(pk=call_pk, agent_dialled_at=now).update(agent_dialled_at=None)
        return False
    line = AgentLine.objects.get(user=agent)
    try:
        provider().create_call(
            to=line.address,
            url=_webhook(reverse("phone:connect_agent", args=[call.pk, agent.pk])),
            status_callback=_webhook(reverse("phone:status")),
        )
    except SmsError as exc:
        logger.warning("agent not dialled for call %s: %s", call.pk, exc)
        Call.objects.filter(pk=call_pk, agent_dialled_at=now).update(agent_dialled_at=None)
        return False
    Call.objects.filter(pk=call_pk).update(dialled_agent=agent)
    _tell_agent_phone_rings(call, agent)
    return True


def ringing_payload(call: Call) -> dict[str, object]:
    """What the agent's workspace shows while their phone rings for a call: the case, the
    caller, what the caller chose in the menus and whether they proved who they are. The topic
    is given in both languages: the workspace says it in the page's."""
    ticket = call.ticket
    labels = {}
    for language in ("zh-hans", "en"):
        with override(language):
            labels[language] = topic_label(call.topic or "agent")
    return {
        "call_id": call.pk,
        "case_number": ticket.case_number if ticket else "",
        "title": ticket.title if ticket else "",
        "url": reverse("tickets:workspace_ticket", args=[ticket.case_number]) if ticket else "",
        "caller": call.caller,
        "language": call.language,
        "menu_path": call.menu_path,
        "topic": call.topic,
        "topic_label": labels,
        "verified": call.verified_at is not None,
    }


def _tell_agent_phone_rings(call: Call, agent: User) -> None:
    """The agent's open workspace (every tab: their live connection's group) opens the case
    while the phone rings, so they know who is calling before they pick up."""
    from kefu.chat import events

    events.publish_on_commit(
        events.agent_group(agent.pk), {"type": "chat.phone_call", "call": ringing_payload(call)}
    )


def do_sweep_queue(limit: int = 100) -> int:
    """Finish the cases a lost job left in the bot's stage, queue again the texts a lost job left
    unsent, then ring agents for the calls waiting in the queue (oldest first); how many were
    rung."""
    do_finish_pending_cases(limit)
    do_requeue_lost_sms(limit)
    waiting = (
        Call.objects.filter(queued_at__isnull=False, answered_at__isnull=True, ended_at__isnull=True)
        .order_by("queued_at")
        .values_list("pk", flat=True)[:limit]
    )
    return sum(1 for pk in list(waiting) if do_connect_agent(pk))


def do_agent_answered(call: Call, agent: User) -> None:
    """The agent's leg took the caller out of the queue: the call is theirs, and so is the case."""
    with transaction.atomic():
        updated = Call.objects.filter(pk=call.pk, answered_at__isnull=True).update(
            answered_at=timezone.now(), agent=agent, status=CallStatus.IN_PROGRESS, outcome=Outcome.AGENT
        )
        if not updated:
            return
        call.refresh_from_db()
        ticket = do_open_case(call)
        if ticket.assignee_id is None:
            Ticket.objects.filter(pk=ticket.pk, assignee__isnull=True).update(assignee=agent)
        waited = (
            int((call.answered_at - call.queued_at).total_seconds())
            if call.queued_at and call.answered_at
            else 0
        )
        with override(ticket.language):
            _log(
                ticket,
                call,
                "answered",
                _("{agent} answered after {seconds} s in the queue.").format(
                    agent=agent.display_name or agent.email, seconds=waited
                ),
                agent=agent.pk,
            )
