"""Inbound mail: accept, process, retry. (Outbound notifications live in :mod:`kefu.mail.outbound`.)

:func:`do_accept_inbound` stores a guarded mail durably (the receiver answers ``250`` only
after it returns); :func:`process_pending_mail` turns pending rows into tickets or replies,
retrying failures with back-off and leaving them visible to admins.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, models, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from kefu.accounts.actions import do_ensure_user
from kefu.accounts.models import User
from kefu.audit.actions import do_record
from kefu.inbox import pipeline
from kefu.inbox.models import InboxKind
from kefu.mail import conf, parsing
from kefu.mail.jobs import claim, digest, enqueue_inbound, error_text
from kefu.mail.loops import automatic_reason
from kefu.mail.models import (
    Direction,
    EmailMessageLink,
    InboundMail,
    InboundSource,
    InboundStatus,
    OutboundKind,
    ThreadMessageId,
)
from kefu.mail.outbound import notify_ticket_created, queue_outbound
from kefu.mail.redaction import prepare_inbound
from kefu.tickets import actions as ticket_actions
from kefu.tickets import routing
from kefu.tickets.attachments import CheckedFile, check_upload
from kefu.tickets.models import (
    Attachment,
    Category,
    Channel,
    Ticket,
)
from kefu.trust import guard

logger = logging.getLogger(__name__)

MAX_TITLE = 200
MAX_BODY = 20000


# =========================================================================== inbound: accept


@dataclass(frozen=True)
class Accepted:
    inbound: InboundMail
    created: bool


class MailTooLarge(Exception):
    """The mail exceeds ``KEFU_MAIL_MAX_BYTES``."""


def do_accept_inbound(
    raw: bytes,
    *,
    envelope_from: str | None,
    envelope_to: Iterable[str],
    source: str = InboundSource.SMTP,
    ignore_reason: str = "",
) -> Accepted:
    """Guard a received mail and store it durably; a redelivery returns the stored row.

    The row is committed when this returns (the block is durable: calling it inside another
    transaction is a bug, since the sender would hear ``250`` for a row that could still roll
    back). Raises :class:`~kefu.mail.redaction.UnsafeMail` if no secret-free form could be
    made and :class:`MailTooLarge` above the size limit. With ``ignore_reason`` the row is
    stored already ignored (a trace for admins, never processed).
    """
    if len(raw) > conf.max_bytes():
        raise MailTooLarge(f"{len(raw)} bytes > {conf.max_bytes()}")
    intake = prepare_inbound(raw)
    language = intake.language
    row = InboundMail(
        dedupe_key=intake.dedupe_key,
        rfc_message_id=intake.message_id[:998],
        raw=intake.raw,
        size=len(raw),
        source=source,
        # "<>" is the null sender of a bounce; "" means the envelope is unknown (IMAP).
        envelope_from="<>"
        if envelope_from == ""
        else guard.redact(envelope_from or "", language=language)[:320],
        envelope_to=guard.redact(", ".join(envelope_to), language=language),
        header_from=intake.from_addr[:320],
        subject=intake.subject[:998],
        secret_found=intake.secret_found,
        secret_kinds=",".join(intake.kinds)[:200],
        next_attempt_at=timezone.now(),
        status=InboundStatus.IGNORED if ignore_reason else InboundStatus.PENDING,
        ignore_reason=ignore_reason,
        processed_at=timezone.now() if ignore_reason else None,
    )
    try:
        with transaction.atomic(durable=True):
            existing = InboundMail.objects.filter(dedupe_key=intake.dedupe_key).first()
            if existing is not None:
                return Accepted(existing, created=False)
            row.save()
    except IntegrityError:
        # Delivered twice at the same moment: the other delivery stored it.
        return Accepted(InboundMail.objects.get(dedupe_key=intake.dedupe_key), created=False)
    if not ignore_reason:
        enqueue_inbound(row.pk)  # committed above: the job is queued at once
    return Accepted(row, created=True)


def do_record_oversized(header_bytes: bytes, *, source: str, size: int) -> Accepted:
    """Keep a visible trace (headers only, guarded) of a mailbox message too large to take."""
    accepted = do_accept_inbound(
        header_bytes + b"\r\n", envelope_from=None, envelope_to=[], source=source, ignore_reason="too_large"
    )
    if accepted.created:
        InboundMail.objects.filter(pk=accepted.inbound.pk).update(size=size)
    return accepted


def do_record_unstorable(*, raw_digest: str, error: BaseException, source: str = InboundSource.IMAP) -> None:
    """A failed row, without content, for a mailbox message that could not be made safe."""
    InboundMail.objects.get_or_create(
        dedupe_key=hashlib.sha256(raw_digest.encode()).hexdigest(),
        defaults={
            "raw": b"",
            "source": source,
            "status": InboundStatus.FAILED,
            "last_error": error_text(error),
        },
    )


# =========================================================================== inbound: process


def process_pending_mail(*, limit: int = 100) -> int:
    """Process due pending inbound mail (oldest first); returns how many rows were handled.

    ``kefu mail process`` and tests; the jobs take one row each (:func:`process_inbound_mail`).
    Safe to call from several processes at once.
    """
    handled = 0
    for pk in due_inbound_ids(limit=limit):
        handled += process_inbound_mail(pk)
    return handled


def due_inbound_ids(*, limit: int) -> list[int]:
    """Pending inbound rows whose next attempt is due, oldest first."""
    now = timezone.now()
    return list(
        InboundMail.objects.filter(status=InboundStatus.PENDING)
        .filter(models.Q(next_attempt_at__isnull=True) | models.Q(next_attempt_at__lte=now))
        .order_by("id")
        .values_list("pk", flat=True)[:limit]
    )


def process_inbound_mail(pk: int) -> bool:
    """Process one inbound row if it is pending, due, and this caller wins the claim.

    What the ``process_inbound`` job runs: running it twice, or in two workers at once, handles
    the mail once (the claim is one conditional UPDATE). A failure is recorded on the row and
    retried after the back-off (by the reconcile), failed for good after
    ``KEFU_MAIL_MAX_ATTEMPTS``. Returns whether this call handled the row.
    """
    now = timezone.now()
    attempts = (
        InboundMail.objects.filter(pk=pk, status=InboundStatus.PENDING)
        .filter(models.Q(next_attempt_at__isnull=True) | models.Q(next_attempt_at__lte=now))
        .values_list("attempts", flat=True)
        .first()
    )
    if attempts is None or not claim(InboundMail, pk, attempts, InboundStatus.PENDING):
        return False
    inbound = InboundMail.objects.get(pk=pk)
    try:
        do_process_inbound(inbound)
    except Exception as exc:
        logger.exception("inbound mail %s failed (attempt %s)", pk, inbound.attempts)
        failed = inbound.attempts >= conf.max_attempts()
        # Only while the row is still this attempt's: one that outlived its claim must not send
        # a mail another attempt has processed back to the queue (nor record over a newer one).
        InboundMail.objects.filter(pk=pk, status=InboundStatus.PENDING, attempts=inbound.attempts).update(
            status=InboundStatus.FAILED if failed else InboundStatus.PENDING,
            last_error=error_text(exc),
        )
    return True


def _ignore(inbound: InboundMail, reason: str) -> InboundMail:
    inbound.status = InboundStatus.IGNORED
    inbound.ignore_reason = reason
    inbound.processed_at = timezone.now()
    inbound.save(update_fields=["status", "ignore_reason", "processed_at", "full_text"])
    return inbound


def _rate_exceeded(inbound: InboundMail) -> bool:
    count, seconds = conf.sender_rate()
    since = inbound.received_at - timedelta(seconds=seconds)
    recent = InboundMail.objects.filter(
        header_from=inbound.header_from, received_at__gte=since, id__lte=inbound.pk
    ).count()
    return recent > count


def _surviving(ticket: Ticket) -> Ticket:
    """Follow merges to the ticket that lives on."""
    for _hop in range(10):
        if ticket.merged_into_id is None:
            break
        ticket = Ticket.objects.select_related("customer").get(pk=ticket.merged_into_id)
    return ticket


def _thread_target(parsed: parsing.ParsedMail, customer: User) -> Ticket | None:
    """The ticket this mail continues, if its sender is that ticket's customer.

    Headers first (In-Reply-To, References), then a case number in the subject for clients
    that drop headers. A stranger quoting someone's case number gets a new ticket instead.
    """
    ids = parsed.thread_ids
    if ids:
        rows = {
            row.digest: row.ticket
            for row in ThreadMessageId.objects.filter(digest__in=[digest(i) for i in ids]).select_related(
                "ticket"
            )
        }
        for message_id in ids:
            ticket = rows.get(digest(message_id))
            if ticket is not None:
                ticket = _surviving(ticket)
                if ticket.customer_id == customer.pk:
                    return ticket
    for case in parsing.case_numbers(parsed.subject):
        found = Ticket.objects.filter(case_number=case).first()
        if found is not None:
            found = _surviving(found)
            if found.customer_id == customer.pk:
                return found
    return None


def _guess_category(text: str) -> Category:
    """The bot's intent engine decides; the one routing function (kefu.tickets.routing) maps the
    intent to a category and falls back like every channel when it knows none or the engine fails."""
    intent: str | None = None
    try:
        from kefu.bot.engine import default_engine

        intent = default_engine().predict(text).intent
    except Exception:  # an unavailable or failing engine must never lose a customer's mail
        logger.warning("intent engine unavailable for mail; using the fallback category", exc_info=True)
    category = routing.route(intent=intent).category
    if category is None:
        raise RuntimeError("no active ticket category to file mail under")
    return category


@dataclass
class _Files:
    kept: list[CheckedFile]
    refused: list[tuple[str, str]]


def _check_attachments(parsed: parsing.ParsedMail) -> list[tuple[str, CheckedFile | None, str]]:
    """Each attachment checked like a portal upload: (name, file or None, refusal reason).

    Decoding and verifying images and PDFs is slow: done before the write transaction."""
    checked: list[tuple[str, CheckedFile | None, str]] = []
    for attachment in parsed.attachments:
        if attachment.refused:
            checked.append((attachment.filename, None, attachment.refused))
            continue
        try:
            checked.append(
                (
                    attachment.filename,
                    check_upload(SimpleUploadedFile(attachment.filename, attachment.content)),
                    "",
                )
            )
        except ValidationError:
            checked.append((attachment.filename, None, "type"))
    return checked


def _attachments(checked_files: list[tuple[str, CheckedFile | None, str]], ticket: Ticket | None) -> _Files:
    """The checked attachments to keep; files already on the ticket (signature logos,
    re-sent screenshots) are skipped quietly."""
    known: set[str] = set()
    if ticket is not None:
        known = set(Attachment.objects.filter(ticket=ticket).values_list("sha256", flat=True))
    files = _Files(kept=[], refused=[])
    for filename, checked, refused in checked_files:
        if checked is None:
            files.refused.append((filename, refused))
            continue
        if checked.sha256 in known:
            continue
        known.add(checked.sha256)
        if len(files.kept) >= settings.KEFU_ATTACHMENTS_PER_MESSAGE:
            files.refused.append((filename, "count"))
            continue
        files.kept.append(checked)
    return files


def _refusal_label(reason: str) -> str:
    labels = {
        "type": _("not an image or PDF"),
        "size": _("too large"),
        "count": _("too many attachments"),
        "empty": _("empty file"),
    }
    return labels.get(reason, reason)


def _secret_warning(kinds: list[str], language: str) -> str:
    result = guard.ScanResult(
        secret=True, redacted="", findings=[guard.Finding(kind=kind, start=0, end=0) for kind in kinds]
    )
    return guard.warning_for(result, language=language) or ""


def body_for(parsed: parsing.ParsedMail) -> str:
    """What a new case's first message says: the text above any quote, else the whole text."""
    return parsing.visible_text(parsed.text) or parsed.full_text or _("(The email contained no text.)")


def title_for(parsed: parsing.ParsedMail, body: str) -> str:
    title = parsing.clean_subject(parsed.subject)
    if not title:
        first = next((line.strip() for line in body.split("\n") if line.strip()), "")
        title = first[:80]
    return (title or _("Email without a subject"))[:MAX_TITLE]


def do_process_inbound(inbound: InboundMail) -> InboundMail:
    """Turn one stored mail into a ticket or a reply, or mark it ignored with the reason.

    Idempotent per row: a row already processed is returned unchanged.
    """
    if inbound.status != InboundStatus.PENDING:
        return inbound
    parsed = parsing.parse_mail(bytes(inbound.raw))
    inbound.full_text = parsed.full_text
    envelope_from = "" if inbound.envelope_from == "<>" else (inbound.envelope_from or None)
    reason = automatic_reason(parsed, envelope_from=envelope_from, own_addresses=conf.own_addresses())
    if not reason and parsed.message_id:
        own = ThreadMessageId.objects.filter(digest=digest(parsed.message_id), direction=Direction.OUTBOUND)
        if own.exists():
            reason = "own_message"
    if not reason and _rate_exceeded(inbound):
        reason = "rate_limited"
    if not reason:
        existing = User.objects.filter(email=parsed.from_addr).first()
        if existing is not None and not existing.is_active:
            reason = "inactive_sender"
    if reason:
        return _ignore(inbound, reason)

    visible = parsing.visible_text(parsed.text)
    language = parsing.guess_language(f"{parsed.subject}\n{visible or parsed.full_text}")
    kinds = [kind for kind in inbound.secret_kinds.split(",") if kind]
    # The slow work before the write transaction, which on SQLite locks the whole database:
    # checking attachments, and the intent model's guess of a category (at start-up the model
    # may still be training). Decided again under the lock; the guess is used if still needed.
    checked_files = _check_attachments(parsed)
    new_body = body_for(parsed)
    guess_text = f"{parsing.clean_subject(parsed.subject)}\n{new_body}"
    guessed = None
    if existing is None or _thread_target(parsed, existing) is None:
        with translation.override(language):
            guessed = _guess_category(guess_text)
    # Attachment files written by the ticket actions are removed if this whole block rolls back.
    with ticket_actions.files_removed_on_failure():
        with translation.override(language), transaction.atomic():
            # The claim is a lease that runs out after the back-off: a slow attempt can overlap
            # the next one of the same row. Whichever locks the row first handles the mail; the
            # other finds it handled and leaves (SQLite: the write transaction serialises them).
            mine = InboundMail.objects.select_for_update().filter(pk=inbound.pk, status=InboundStatus.PENDING)
            if not mine.values_list("pk", flat=True):
                inbound.refresh_from_db()
                return inbound
            customer = do_ensure_user(
                email=parsed.from_addr, display_name=guard.redact(parsed.from_name, language=language)[:100]
            )
            ticket = _thread_target(parsed, customer)
            files = _attachments(checked_files, ticket)
            created = ticket is None
            category = None
            if ticket is None:
                # Nothing above the quote: the quoted or forwarded mail is what they sent us.
                body = new_body
                category = guessed if guessed is not None else _guess_category(guess_text)
            else:
                # Only the new text: the thread already holds what they quoted.
                body = visible if (visible or files.kept) else _("(The email contained no text.)")
            # Every step after parsing is the inbound pipeline's (kefu.inbox.pipeline): the
            # contact identity, the case (the one the headers found, or a new one), the message
            # with its Message-ID, the event. The raw mail was redacted at intake; the ticket
            # actions scan the text again (rescan) and the kinds found then are flagged below.
            accepted = pipeline.do_accept(
                pipeline.default_inbox(InboxKind.EMAIL),
                pipeline.Screened(
                    external_id=parsed.message_id[:998],
                    address=parsed.from_addr,
                    display_name=guard.redact(parsed.from_name, language=language)[:100],
                    title=title_for(parsed, body),
                    body=body[:MAX_BODY],
                    language=language,
                    kinds=kinds,
                    exposed=bool(kinds),
                ),
                dedupe_key=inbound.dedupe_key,
                customer=customer,
                ticket=ticket,
                category=category,
                files=files.kept,
                rescan=True,
            )
            submission = accepted.submission
            ticket = submission.ticket
            assert submission.message is not None
            if kinds:
                ticket = ticket_actions.do_flag_secret(ticket=ticket, actor=customer, kinds=kinds)
            if files.refused:
                with translation.override(ticket.language):
                    listed = "; ".join(
                        f"{guard.redact(name, language=ticket.language)} ({_refusal_label(reason)})"
                        for name, reason in files.refused
                    )
                    ticket_actions.do_add_system_note(
                        ticket=ticket,
                        body=_("Attachments of this email that were not kept: {files}").format(files=listed),
                        channel=Channel.EMAIL,
                    )
            if parsed.message_id:
                ThreadMessageId.objects.bulk_create(
                    [
                        ThreadMessageId(
                            digest=digest(parsed.message_id),
                            rfc_message_id=parsed.message_id[:998],
                            ticket=ticket,
                            direction=Direction.INBOUND,
                            created_at=inbound.received_at,
                        )
                    ],
                    ignore_conflicts=True,
                )
            EmailMessageLink.objects.create(
                message=submission.message, inbound=inbound, rfc_message_id=parsed.message_id[:998]
            )
            do_record(
                actor=customer,
                action="mail.received",
                target_type="ticket",
                target_id=ticket.case_number,
                data={"inbound": inbound.pk, "created": created, "refused": len(files.refused)},
            )
            warning = _secret_warning(kinds, ticket.language) if kinds else ""
            if created:
                notify_ticket_created(ticket, secret_warning=warning)
            elif warning:
                queue_outbound(
                    ticket=ticket,
                    kind=OutboundKind.SECRET_WARNING,
                    dedupe_key=f"secret:{inbound.pk}",
                    context={"warning": warning},
                )
            inbound.status = InboundStatus.PROCESSED
            inbound.ticket = ticket
            inbound.processed_at = timezone.now()
            inbound.last_error = ""
            inbound.save(update_fields=["status", "ticket", "processed_at", "last_error", "full_text"])
    return inbound


def do_retry_inbound(ids: Iterable[int], *, actor: User | None = None) -> int:
    """An admin sends failed or stuck mails back to processing now."""
    ids = list(ids)
    with transaction.atomic():
        count = InboundMail.objects.filter(
            pk__in=ids, status__in=(InboundStatus.FAILED, InboundStatus.PENDING)
        ).update(status=InboundStatus.PENDING, attempts=0, next_attempt_at=timezone.now())
        for pk in ids:
            do_record(
                actor=actor, action="mail.inbound_retried", target_type="inbound_mail", target_id=str(pk)
            )
            enqueue_inbound(pk)
    return count
