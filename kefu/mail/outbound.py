"""Notifications by mail: the outbox, and the worker function that delivers it.

The ``notify_*`` functions are what ticket actions call. They insert an :class:`OutboundMail`
row in the caller's transaction (so the mail exists exactly when the change it announces was
committed) and enqueue its job after commit; :func:`send_outbound_mail` (the job) renders,
sends and retries. Nothing here talks to an SMTP server inside a request.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from email.utils import formataddr, make_msgid

from django.apps import apps
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db import IntegrityError, OperationalError, models, transaction
from django.utils import timezone

from kefu.accounts.models import User
from kefu.audit.actions import do_record
from kefu.mail import conf, parsing
from kefu.mail.jobs import claim, digest, enqueue_outbound, error_text
from kefu.mail.models import (
    Direction,
    OutboundKind,
    OutboundMail,
    OutboundStatus,
    ThreadMessageId,
)
from kefu.mail.rendering import render_outbound
from kefu.tickets.models import Message, MessageKind, Status, Ticket

logger = logging.getLogger(__name__)


# =========================================================================== outbound: queue


def _answered_where_it_came_from(ticket: Ticket) -> bool:
    """A case that came through a messaging app is answered there (its adapter pushes every
    reply, kefu.inbox): mail on top would say everything twice. Cases from the portal, the API,
    live chat and the phone still get mail — their customers are not in a thread that pushes."""
    from kefu.inbox.adapters.base import adapter_for
    from kefu.inbox.models import InboxKind
    from kefu.inbox.pipeline import KIND_OF_CHANNEL

    kind = KIND_OF_CHANNEL.get(ticket.channel)
    if kind is None or kind == InboxKind.EMAIL:
        return False
    try:
        return adapter_for(kind).pushes
    except LookupError:
        return False


def _recipient(ticket: Ticket) -> str | None:
    customer = ticket.customer
    if customer is None:  # nobody known yet: the case answers on the channel it came through
        return None
    if _answered_where_it_came_from(ticket):
        return None
    email = (customer.email or "").strip().lower()
    if not email or "@" not in email or not customer.is_active:
        return None
    if email in conf.own_addresses():
        return None
    return email


def queue_outbound(
    *,
    ticket: Ticket,
    kind: str,
    message: Message | None = None,
    dedupe_key: str | None = None,
    context: dict[str, str] | None = None,
) -> OutboundMail | None:
    """Insert an outbox row in the caller's transaction (None if mail is off or undeliverable).

    The row commits or rolls back with the change it announces; the worker is woken after
    commit. A second call with the same ``dedupe_key`` returns the first row, adding the
    message or context if that row is not rendered yet.
    """
    if not conf.notifications_enabled():
        return None
    recipient = _recipient(ticket)
    if recipient is None:
        return None
    if dedupe_key:
        existing = OutboundMail.objects.filter(dedupe_key=dedupe_key).first()
        if existing is not None:
            if existing.status == OutboundStatus.QUEUED and not existing.body_text:
                changed = []
                if message is not None and existing.message_id is None:
                    existing.message = message
                    changed.append("message")
                if context:
                    existing.context = {**existing.context, **context}
                    changed.append("context")
                if changed:
                    existing.save(update_fields=changed)
                    _feed_delivery(existing.pk)
            return existing
    message_id = parsing.normalise_message_id(make_msgid(idstring="kefu", domain=conf.support_domain()))
    try:
        with transaction.atomic():
            mail = OutboundMail.objects.create(
                kind=kind,
                ticket=ticket,
                message=message,
                dedupe_key=dedupe_key,
                to_email=recipient,
                rfc_message_id=message_id,
                context=context or {},
                next_attempt_at=timezone.now(),
            )
            ThreadMessageId.objects.create(
                digest=digest(message_id),
                rfc_message_id=message_id,
                ticket=ticket,
                direction=Direction.OUTBOUND,
            )
    except IntegrityError:
        if dedupe_key:
            return OutboundMail.objects.filter(dedupe_key=dedupe_key).first()
        raise
    enqueue_outbound(mail.pk)
    _feed_delivery(mail.pk)
    return mail


def _feed_delivery(pk: int) -> None:
    """Record where a message's mail stands as its OutboundDelivery (kefu.inbox): the agent view
    and the admins read one model for every channel; this outbox keeps sending and retrying."""
    from kefu.inbox.actions import do_record_delivery

    mail = OutboundMail.objects.filter(pk=pk, message__isnull=False).first()
    if mail is None or mail.message_id is None:
        return
    do_record_delivery(
        message_id=mail.message_id,
        channel="email",
        status=mail.status,  # queued/sent/failed: the same three states
        attempts=mail.attempts,
        next_attempt_at=mail.next_attempt_at if mail.status == OutboundStatus.QUEUED else None,
        provider_id=mail.rfc_message_id,
        last_error=mail.last_error,
        sent_at=mail.sent_at,
    )


def notify_ticket_created(ticket: Ticket, *, secret_warning: str = "") -> OutboundMail | None:
    """Acknowledge a new ticket (any channel) with its case number; once per ticket.

    Call inside the transaction that created the ticket. ``secret_warning`` is added to the
    mail when the customer's first message had a secret hidden.
    """
    return queue_outbound(
        ticket=ticket,
        kind=OutboundKind.ACK,
        dedupe_key=f"ack:{ticket.pk}",
        context={"warning": secret_warning} if secret_warning else None,
    )


def _resolved_key(ticket: Ticket) -> str:
    stamp = ticket.resolved_at.isoformat() if ticket.resolved_at else "unknown"
    return f"resolved:{ticket.pk}:{stamp}"


def notify_resolved(ticket: Ticket, *, message: Message | None = None) -> OutboundMail | None:
    """Tell the customer the ticket was resolved (with a rating link); once per resolution.

    Reads the status of the instance given, so it may be called before or after it is saved,
    inside the transaction that resolves the ticket. The rating link is the resolution's
    satisfaction survey (kefu.csat's, one per resolution), created with the mail.
    """
    if ticket.status != Status.RESOLVED:
        return None
    context = None
    if conf.notifications_enabled() and _recipient(ticket) is not None:
        survey = _survey_link(ticket)
        context = {"survey_url": survey} if survey else None
    return queue_outbound(
        ticket=ticket,
        kind=OutboundKind.RESOLVED,
        message=message,
        dedupe_key=_resolved_key(ticket),
        context=context,
    )


def _survey_link(ticket: Ticket) -> str:
    """The absolute URL of the ticket's survey for this resolution ("" without kefu.csat)."""
    if not apps.is_installed("kefu.csat"):
        return ""
    # CSAT is a domain app, not a channel: mail may ask it for the survey its mail links to.
    from kefu.csat.actions import do_create_ticket_survey
    from kefu.csat.selectors import survey_url

    return conf.base_url() + survey_url(do_create_ticket_survey(ticket=ticket))


def notify_agent_reply(message: Message, *, requested_status: str | None = None) -> OutboundMail | None:
    """Mail an agent's public reply to the customer; ignores notes and customers' own messages.

    ``requested_status`` is the status the agent chose with the reply: ``pending_customer``
    makes the mail a request for information; a reply that resolved the ticket becomes the
    resolution mail (one mail, not two). Uses ``message.ticket`` as the caller holds it (the
    instance the reply action just updated), inside the same transaction.
    """
    if message.kind != MessageKind.PUBLIC or message.author is None or not message.author.is_agent:
        return None
    ticket = message.ticket
    if ticket.status == Status.RESOLVED:
        return notify_resolved(ticket, message=message)
    kind = OutboundKind.INFO_REQUEST if requested_status == Status.PENDING_CUSTOMER else OutboundKind.REPLY
    return queue_outbound(ticket=ticket, kind=kind, message=message, dedupe_key=f"message:{message.pk}")


# =========================================================================== outbound: send


def _thread_headers(mail: OutboundMail) -> tuple[str, list[str]]:
    """(In-Reply-To, References) from the ticket's known Message-IDs, oldest first."""
    own = ThreadMessageId.objects.filter(digest=digest(mail.rfc_message_id)).first()
    before = own.created_at if own is not None else mail.created_at
    rows = list(
        ThreadMessageId.objects.filter(ticket_id=mail.ticket_id, created_at__lt=before)
        .order_by("created_at", "id")
        .values_list("rfc_message_id", "direction")
    )
    if not rows:
        return "", []
    inbound = [message_id for message_id, direction in rows if direction == Direction.INBOUND]
    parent = inbound[-1] if inbound else rows[-1][0]
    chain = [message_id for message_id, _direction in rows]
    if len(chain) > 20:  # long threads: the root and the most recent ids are what clients use
        chain = chain[:1] + chain[-19:]
    return parent, chain


def build_email(mail: OutboundMail, connection: BaseEmailBackend | None = None) -> EmailMultiAlternatives:
    """The Django message for a rendered outbox row, with threading and loop-safety headers."""
    sender = formataddr((conf.brand_name(), conf.support_address()))
    headers = {
        "Message-ID": f"<{mail.rfc_message_id}>",
        "X-Kefu-Case": mail.ticket.case_number,
        "Content-Language": "en" if mail.ticket.language.startswith("en") else "zh-Hans",
    }
    if mail.in_reply_to:
        headers["In-Reply-To"] = f"<{mail.in_reply_to}>"
    if mail.references:
        headers["References"] = " ".join(f"<{item}>" for item in mail.references.split())
    if mail.kind in (OutboundKind.ACK, OutboundKind.SECRET_WARNING):
        headers["Auto-Submitted"] = "auto-replied"
        headers["X-Auto-Response-Suppress"] = "All"
    elif mail.kind == OutboundKind.RESOLVED and mail.message_id is None:
        headers["Auto-Submitted"] = "auto-generated"
        headers["X-Auto-Response-Suppress"] = "All"
    email = EmailMultiAlternatives(
        subject=mail.subject,
        body=mail.body_text,
        from_email=sender,
        to=[mail.to_email],
        reply_to=[conf.support_address()],
        headers=headers,
        connection=connection,
    )
    email.attach_alternative(mail.body_html, "text/html")
    return email


def _render_into(mail: OutboundMail) -> None:
    rendered = render_outbound(mail)
    parent, chain = _thread_headers(mail)
    mail.subject = rendered.subject
    mail.body_text = rendered.text
    mail.body_html = rendered.html
    mail.in_reply_to = parent
    mail.references = " ".join(chain)
    mail.save(update_fields=["subject", "body_text", "body_html", "in_reply_to", "references"])


def send_pending_mail(*, limit: int = 50) -> int:
    """Send due outbox rows over one SMTP connection; returns how many were sent.

    ``kefu mail send`` and tests; the jobs send one row each (:func:`send_outbound_mail`).
    """
    due = due_outbound_ids(limit=limit)
    if not due:
        return 0
    connection = get_connection(fail_silently=False)
    try:
        return sum(send_outbound_mail(pk, connection=connection) for pk in due)
    finally:
        connection.close()


def due_outbound_ids(*, limit: int) -> list[int]:
    """Queued outbox rows whose next attempt is due, oldest first."""
    now = timezone.now()
    return list(
        OutboundMail.objects.filter(status=OutboundStatus.QUEUED)
        .filter(models.Q(next_attempt_at__isnull=True) | models.Q(next_attempt_at__lte=now))
        .order_by("id")
        .values_list("pk", flat=True)[:limit]
    )


def send_outbound_mail(pk: int, *, connection: BaseEmailBackend | None = None) -> bool:
    """Send one outbox row if it is queued, due, and this caller wins the claim; True if sent.

    What the ``send_outbound`` job runs. A row is rendered at its first attempt (so sending
    never runs inside a request) and the rendering is kept, so a retry sends the same mail.
    The claim (one conditional UPDATE that also schedules the next attempt) makes a second run
    of the same job, here or in another worker, a no-op: the mail goes out once. Failures are
    retried with exponential back-off (the reconcile enqueues the row when it is due again)
    and marked failed after ``KEFU_MAIL_MAX_ATTEMPTS``.
    """
    now = timezone.now()
    attempts = (
        OutboundMail.objects.filter(pk=pk, status=OutboundStatus.QUEUED)
        .filter(models.Q(next_attempt_at__isnull=True) | models.Q(next_attempt_at__lte=now))
        .values_list("attempts", flat=True)
        .first()
    )
    if attempts is None or not claim(OutboundMail, pk, attempts, OutboundStatus.QUEUED):
        return False
    own_connection = connection is None
    smtp = get_connection(fail_silently=False) if connection is None else connection
    mail = OutboundMail.objects.select_related("ticket", "ticket__customer", "message").get(pk=pk)
    try:
        if not mail.body_text:
            _render_into(mail)
        smtp.send_messages([build_email(mail, smtp)])
    except Exception as exc:
        logger.warning("outbound mail %s failed (attempt %s): %s", pk, mail.attempts, type(exc).__name__)
        smtp.close()  # a broken session must not poison the rest of a batch
        failed = mail.attempts >= conf.max_attempts()
        # Only while the row is still this attempt's: one that outlived its claim must not
        # queue a mail another attempt has sent (it would go out twice).
        OutboundMail.objects.filter(pk=pk, status=OutboundStatus.QUEUED, attempts=mail.attempts).update(
            status=OutboundStatus.FAILED if failed else OutboundStatus.QUEUED,
            last_error=error_text(exc),
        )
        _feed_delivery(pk)
        return False
    else:
        # At once, before the session is closed (QUIT waits for the server): SMTP cannot be
        # exactly-once, a crash between the server's 250 and this update sends the mail again
        # after the back-off, so that window holds nothing else. The server has the mail now,
        # so a failing update is not a failed send: it is retried, never the send.
        _mark_sent(pk)
        try:
            _feed_delivery(pk)
        except Exception:  # the mail is sent: a failing record of it must not retry the send
            logger.exception("could not record the delivery of outbound mail %s", pk)
    finally:
        if own_connection:
            smtp.close()
    return True


def _mark_sent(pk: int) -> None:
    """Record a delivered mail, retrying a database that is busy for a moment (SQLite's lock)."""
    for pause in (0.05, 0.2, 0.5, 1.0, 2.0, None):
        try:
            OutboundMail.objects.filter(pk=pk).update(
                status=OutboundStatus.SENT, sent_at=timezone.now(), last_error=""
            )
            return
        except OperationalError:
            if pause is None:
                raise
            time.sleep(pause)


def do_retry_outbound(ids: Iterable[int], *, actor: User | None = None) -> int:
    """An admin sends failed mails back to the outbox now."""
    ids = list(ids)
    with transaction.atomic():
        count = OutboundMail.objects.filter(
            pk__in=ids, status__in=(OutboundStatus.FAILED, OutboundStatus.QUEUED)
        ).update(status=OutboundStatus.QUEUED, attempts=0, next_attempt_at=timezone.now())
        for pk in ids:
            do_record(
                actor=actor, action="mail.outbound_retried", target_type="outbound_mail", target_id=str(pk)
            )
            enqueue_outbound(pk)
            _feed_delivery(pk)
    return count
