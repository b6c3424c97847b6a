"""The one way from any channel into a case.

receive:  adapter.verify → adapter.parse → screen (the secret guard) → store the InboundEvent
          durably (deduplicated per inbox) → enqueue the job → acknowledge.
process:  (the job) screen again what needs the database (rate limits) → identify the contact →
          thread onto the referenced case, the contact's open case or a new one →
          ``kefu.tickets.thread.append`` (through the ticket actions, with the external id) →
          respond: a bot-enabled inbox hands a new case to the bot (a registered hook), otherwise
          the one routing function has already put it in its queue.

Channels whose answer must show the case number at once (the portal, the API) call
:func:`submit`: the same screen, event and steps, run inline in the request's transaction, so a
failure rolls back the event with the case and the caller sees the error (a retry with the same
client id is a redelivery, answered with the first case). Email keeps its raw store
(``kefu.mail.models.InboundMail``, parsed by its own job) and calls :func:`do_accept` with what it
parsed: every step after parsing is this module's.

Nothing unscreened is ever written: the payload of an event is the guard's output.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, models, transaction
from django.utils import timezone

from kefu.accounts.models import User
from kefu.inbox import durable
from kefu.inbox.adapters.base import Parsed, Submitted, adapter_for
from kefu.inbox.models import ContactIdentity, EventStatus, InboundEvent, Inbox, InboxKind
from kefu.refcache import ReferenceCache
from kefu.rowlookup import RowLookup, insert
from kefu.tickets import actions as ticket_actions
from kefu.tickets import routing
from kefu.tickets.attachments import CheckedFile
from kefu.tickets.models import Category, Channel, Message, Status, Ticket
from kefu.trust import guard

logger = logging.getLogger(__name__)

# The inbox kind a case's channel came through, for a case with no inbound event (older cases).
KIND_OF_CHANNEL: dict[str, str] = {
    Channel.EMAIL: InboxKind.EMAIL,
    Channel.PORTAL: InboxKind.PORTAL,
    Channel.API: InboxKind.API,
    Channel.CHAT: InboxKind.WIDGET,
    Channel.BOT: InboxKind.WIDGET,
    Channel.TELEGRAM: InboxKind.TELEGRAM,
    Channel.WHATSAPP: InboxKind.WHATSAPP,
}
# Messages one contact may send per window before the rest are ignored (a loop, a flood). The
# portal and the API have their own per-account limits (kefu.trust.ratelimit) before this.
CONTACT_RATE = (30, 3600)
TEXT_FIELDS = ("coin", "network", "tx_hash", "order_number")
# How fresh a contact's "last seen" is kept (a write at most this often per contact).
LAST_SEEN_PRECISION = timedelta(minutes=5)


# =========================================================================== screen


@dataclass
class Screened:
    """A parsed message after the secret guard: what may be stored, logged or shown."""

    external_id: str
    address: str
    display_name: str
    title: str
    body: str
    language: str
    case_number: str = ""
    category: str = ""
    fields: dict[str, str] = field(default_factory=dict)
    kinds: list[str] = field(default_factory=list)
    exposed: bool = False
    leaked_key: bool = False
    warning: str = ""
    command: str = ""  # see Parsed.command
    media: list[dict[str, str]] = field(default_factory=list)  # see Parsed.media (names screened)
    ignore: str = ""  # see Parsed.ignore

    def payload(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Screened:
        return cls(**payload)

    def guarded(self) -> ticket_actions.Guarded:
        """The guard's result in the shape the ticket actions take (they do not scan again)."""
        return ticket_actions.Guarded(
            texts={"title": self.title, "description": self.body, "body": self.body, **self.fields},
            secret_found=bool(self.kinds),
            warning=self.warning or None,
            kinds=list(self.kinds),
            leaked_key=self.leaked_key,
            exposed=self.exposed,
        )


def screen(parsed: Parsed, *, language: str = "zh-hans", facts: guard.HexFacts | None = None) -> Screened:
    """Run every text of a parsed message through the secret guard (the receive step)."""
    language = parsed.language or language
    fields = {name: str(parsed.fields.get(name, "") or "") for name in TEXT_FIELDS}
    guarded = ticket_actions.guard_texts(
        {"title": parsed.title, "description": parsed.body, **fields}, language=language, facts=facts
    )
    t = guarded.texts
    return Screened(
        external_id=guard.redact(parsed.external_id, language=language)[:998],
        address=guard.redact(parsed.address, language=language)[:320],
        display_name=guard.redact(parsed.display_name, language=language)[:100],
        title=t["title"],
        body=t["description"],
        language=language,
        case_number=parsed.case_number[:40],
        category=parsed.category[:50],
        fields={name: t[name] for name in TEXT_FIELDS},
        kinds=list(guarded.kinds),
        exposed=guarded.exposed,
        leaked_key=guarded.leaked_key,
        warning=guarded.warning or "",
        command=parsed.command[:32],
        media=[
            {
                "id": str(item.get("id", ""))[:300],
                "name": guard.redact(str(item.get("name", "")), language=language)[:200],
                "mime": str(item.get("mime", ""))[:100],
                "size": str(item.get("size", ""))[:20],
            }
            for item in parsed.media[:10]
        ],
        ignore=parsed.ignore[:40],
    )


# =========================================================================== inboxes and contacts


def _first_active_inboxes() -> dict[str, Inbox]:
    first: dict[str, Inbox] = {}
    for inbox in Inbox.objects.filter(is_active=True).order_by("id"):
        first.setdefault(inbox.kind, inbox)
    return first


# Every portal and API submission needs its inbox: one query a minute per process, not one per
# request (forgotten at once when an admin saves an inbox: InboxConfig.ready).
ACTIVE_INBOXES = ReferenceCache("inbox-active", _first_active_inboxes)


def default_inbox(kind: str) -> Inbox:
    """The first active inbox of a kind, made on first use (a fresh install has none configured)."""
    inbox = ACTIVE_INBOXES.get().get(kind)
    if inbox is None:
        inbox, _created = Inbox.objects.get_or_create(kind=kind, name=str(InboxKind(kind).label))
        ACTIVE_INBOXES.forget()
    return inbox


def origin_inbox(ticket: Ticket) -> Inbox | None:
    """The inbox a case came through: its first event's, else the default one of its channel."""
    first = InboundEvent.objects.filter(ticket=ticket).order_by("id").select_related("inbox").first()
    if first is not None:
        return first.inbox
    kind = KIND_OF_CHANNEL.get(ticket.channel)
    return default_inbox(kind) if kind else None


# Every message looks its contact up (unique on inbox and address): the SQL compiled once.
_CONTACT = RowLookup(ContactIdentity, "inbox", "address")


def identify(
    inbox: Inbox, *, address: str, display_name: str = "", customer: User | None = None
) -> ContactIdentity:
    """The contact identity of an address on this inbox, created on first sight.

    A signed-in customer (the portal, the API) or an adapter that made an account for the sender
    (email) links it. A known address is never proof of ownership (see ContactIdentity).
    """
    address = (address or "").strip().lower()[:320]
    contact = _CONTACT.get(inbox, address)
    if contact is None:
        try:
            with transaction.atomic():
                contact = ContactIdentity.objects.create(
                    inbox=inbox, address=address, customer=customer, display_name=display_name[:100]
                )
            return contact
        except IntegrityError:  # first sight twice at once: the other made it
            contact = ContactIdentity.objects.get(inbox=inbox, address=address)
    now = timezone.now()
    changes: dict[str, Any] = {}
    if customer is not None and contact.customer_id is None:
        changes["customer"] = customer
    if display_name and not contact.display_name:
        changes["display_name"] = display_name[:100]
    if not changes and contact.last_seen_at > now - LAST_SEEN_PRECISION:
        return contact  # a burst of messages: no write per message
    changes["last_seen_at"] = now
    ContactIdentity.objects.filter(pk=contact.pk).update(**changes)
    for name, value in changes.items():
        setattr(contact, name, value)
    return contact


# =========================================================================== the steps after parsing


def _surviving(ticket: Ticket) -> Ticket:
    """Follow merges to the case that lives on."""
    for _hop in range(10):
        if ticket.merged_into_id is None:
            break
        ticket = Ticket.objects.select_related("customer").get(pk=ticket.merged_into_id)
    return ticket


def thread_target(inbox: Inbox, screened: Screened, contact: ContactIdentity) -> Ticket | None:
    """The case a message continues: one it names (if the contact's customer owns it), else, on
    a chat-like channel, the contact's open case; None opens a new one.

    A stranger quoting someone's case number gets a new case instead.
    """
    if screened.case_number and contact.customer_id is not None:
        named = Ticket.objects.filter(case_number=screened.case_number).first()
        if named is not None:
            named = _surviving(named)
            if named.customer_id == contact.customer_id:
                return named
    if adapter_for(inbox.kind).continues_open_case:
        # A case still in the bot's stage continues too, while the bot answers this inbox.
        bot_stage = inbox.bot_enabled and _responder is not None
        last = (
            InboundEvent.objects.filter(contact=contact, ticket__isnull=False)
            .order_by("-id")
            .select_related("ticket")
            .first()
        )
        if last is not None and last.ticket is not None:
            ticket = _surviving(last.ticket)
            if ticket.is_active or (bot_stage and ticket.status == Status.BOT):
                return ticket
    return None


@dataclass(frozen=True)
class BotTurn:
    """A customer's message on a bot-enabled conversational inbox, for the bot to answer."""

    inbox: Inbox
    contact: ContactIdentity
    customer: User | None  # None: a contact not linked to a customer (the case has none either)
    case: Ticket | None  # the contact's case in the bot's stage; None starts a conversation
    screened: Screened  # the text is the guard's output; ``kinds`` says what it hid
    channel: str  # the ticket Channel the turns carry


@dataclass(frozen=True)
class BotAnswer:
    case: Ticket  # the conversation's case (opened to humans if the bot handed it off)
    message: Message | None  # the customer's message as the bot wrote it in the thread
    replies: list[Message]  # the bot's messages, delivered on the inbox like an agent's reply


Responder = Callable[[BotTurn], BotAnswer]
_responder: Responder | None = None


def register_bot_responder(responder: Responder | None) -> None:
    """The bot registers how it answers a conversational inbox's messages (the inbox app never
    imports the bot, as the bot never imports live chat: ``register_live_handoff``).
    ``kefu.bot.apps.BotConfig.ready`` registers ``kefu.bot.inbound.answer``."""
    global _responder
    _responder = responder


def bot_answers(inbox: Inbox, ticket: Ticket | None) -> bool:
    """Whether the bot takes this message: a bot-enabled inbox of a conversational channel
    (pushing, continuing the open case: Telegram, WhatsApp), on a new conversation or one still
    in the bot's stage. Once handed off, messages go to the case like any customer's reply.
    Email, the portal and the API never reach the bot here."""
    if not inbox.bot_enabled or _responder is None:
        return False
    adapter = adapter_for(inbox.kind)
    if not (adapter.pushes and adapter.continues_open_case):
        return False
    return ticket is None or ticket.status == Status.BOT


def queue_deliveries(messages: Iterable[Message], inbox: Inbox) -> None:
    """Queue messages for the customer on a pushing inbox whose adapter sends them itself
    (the bot's replies here; agents' replies through ``kefu.inbox.subscribers``)."""
    adapter = adapter_for(inbox.kind)
    if not adapter.pushes or getattr(adapter, "keeps_own_outbox", False):
        return
    from kefu.inbox.actions import do_queue_delivery

    for message in messages:
        do_queue_delivery(message, inbox)


@dataclass
class Accepted:
    submission: ticket_actions.Submission
    event: InboundEvent
    created: bool  # a new case was opened
    duplicate: bool = False  # a redelivery: the first delivery's case and message


def _existing(inbox: Inbox, key: str) -> Accepted | None:
    event = (
        InboundEvent.objects.filter(inbox=inbox, dedupe_key=key, status=EventStatus.PROCESSED)
        .select_related("ticket", "message")
        .first()
    )
    if event is None or event.ticket is None:
        return None
    submission = ticket_actions.Submission(ticket=event.ticket, message=event.message)
    return Accepted(submission=submission, event=event, created=False, duplicate=True)


def do_accept(
    inbox: Inbox,
    screened: Screened,
    *,
    dedupe_key: str,
    customer: User | None = None,
    ticket: Ticket | None = None,
    category: Category | None = None,
    files: Sequence[CheckedFile] = (),
    priority: int | None = None,
    amount: Decimal | None = None,
    ip_address: str | None = None,
    client_id: str = "",
    rescan: bool = False,
    event: InboundEvent | None = None,
    repeatable: bool = True,
) -> Accepted:
    """Identify, thread, add the message, respond; records the event. Runs in the caller's
    transaction (a job's, a request's, mail's processing): all of it or nothing.

    ``ticket``: the case an adapter already threaded onto (mail's In-Reply-To headers).
    ``rescan``: let the ticket actions run the guard themselves (mail: its text was redacted at
    intake, and it flags the kinds it recorded then). ``repeatable``: the dedupe key may have
    been seen (a channel's or client's id); a fresh random key skips the lookup.
    """
    channel = adapter_for(inbox.kind).channel
    # A savepoint only where a caller recovers inside its transaction: :func:`submit` answers a
    # client id sent twice at once with the first case after this block's IntegrityError.
    # Elsewhere an error fails the caller's whole unit of work, and a savepoint pair would be
    # two more round trips on every message.
    with transaction.atomic(savepoint=bool(client_id)):
        if event is None and repeatable:
            found = _existing(inbox, dedupe_key)
            if found is not None:
                return found
        if customer is None and screened.command == "start" and screened.body:
            # A deep link from the signed-in web (kefu.inbox.linking): the one way a messaging
            # contact becomes a customer's — never a typed email.
            from kefu.inbox.linking import customer_for_token

            customer = customer_for_token(screened.body.strip(), inbox=inbox, address=screened.address)
        contact = identify(
            inbox, address=screened.address, display_name=screened.display_name, customer=customer
        )
        if adapter_for(inbox.kind).continues_open_case:
            # One message of a contact at a time (two workers, two quick messages): without the
            # lock both could open a conversation, or the bot's step could take the other job's
            # freshly committed turn for its own (PostgreSQL; SQLite writers queue anyway).
            # Lock order: the event (process), the contact, then the bot conversation and the case.
            locked = ContactIdentity.objects.select_for_update().filter(pk=contact.pk)
            locked.values_list("pk", flat=True).first()
        customer = customer or contact.customer
        if ticket is None:
            ticket = thread_target(inbox, screened, contact)
        # None: a contact not linked to a customer yet (a messaging stranger): the case has no
        # customer until one is linked; account actions need identity verification anyway.
        author = customer
        guarded = None if rescan else screened.guarded()
        created = ticket is None
        answer: BotAnswer | None = None
        if (screened.command and _responder is not None) or bot_answers(inbox, ticket):
            assert _responder is not None
            answer = _responder(
                BotTurn(
                    inbox=inbox,
                    contact=contact,
                    customer=customer,
                    case=ticket,
                    screened=screened,
                    channel=channel,
                )
            )
            if answer.message is not None and screened.external_id:
                Message.objects.filter(pk=answer.message.pk).update(external_id=screened.external_id)
            if answer.message is not None and files:
                ticket_actions.do_attach_files(
                    ticket=answer.case, message=answer.message, files=list(files), user=customer
                )
            submission = ticket_actions.Submission(ticket=answer.case, message=answer.message)
        elif ticket is None:
            if category is None and screened.category:
                category = Category.objects.filter(slug=screened.category, is_active=True).first()
            if category is None:
                category = routing.route(intent=None).category
            if category is None:
                raise RuntimeError("no active ticket category to file the message under")
            submission = ticket_actions.check_create_ticket(
                customer=author,
                category=category,
                title=screened.title,  # an adapter of a channel without subjects makes one
                description=screened.body,
                channel=channel,
                language=screened.language,
                priority=priority,
                amount=amount,
                files=list(files),
                actor=author,
                ip_address=ip_address,
                screened=guarded,
                external_id=screened.external_id,
                client_id=client_id,
                coin=screened.fields.get("coin", ""),
                network=screened.fields.get("network", ""),
                tx_hash=screened.fields.get("tx_hash", ""),
                order_number=screened.fields.get("order_number", ""),
            )
        else:
            submission = ticket_actions.check_add_message(
                ticket=ticket,
                author=author,
                body=screened.body,
                channel=channel,
                files=list(files),
                ip_address=ip_address,
                screened=guarded,
                external_id=screened.external_id,
                client_id=client_id,
            )
        values = {
            "status": EventStatus.PROCESSED,
            "processed_at": timezone.now(),
            "contact": contact,
            "ticket": submission.ticket,
            "message": submission.message,
            "last_error": "",
        }
        if event is None:
            event = insert(
                InboundEvent(inbox=inbox, dedupe_key=dedupe_key, payload=screened.payload(), attempts=1, **values)
            )[0]
        else:
            InboundEvent.objects.filter(pk=event.pk).update(**values)
            for name, value in values.items():
                setattr(event, name, value)
        if answer is not None:
            queue_deliveries(answer.replies, inbox)
    return Accepted(submission=submission, event=event, created=created)


# =========================================================================== synchronous channels


def new_dedupe_key(client_id: str = "") -> str:
    """The dedupe key of a message from the client's id (a retry of the same submission), or a
    fresh one when the client gave none."""
    return durable.digest(f"client:{client_id}" if client_id else f"uuid:{uuid.uuid4()}")


def submit(
    kind: str,
    request: Any,
    data: dict[str, Any],
    *,
    ticket: Ticket | None = None,
    category: Category | None = None,
    files: Sequence[CheckedFile] = (),
    priority: int | None = None,
    amount: Decimal | None = None,
    ip_address: str | None = None,
    hex_facts: guard.HexFacts | None = None,
    client_id: str = "",
) -> ticket_actions.Submission:
    """The pipeline for a channel that answers at once (the portal, the API): screen, then store
    the event and run the steps in one transaction. Raises the ticket actions' ValidationError
    with nothing stored. A retry with the same ``client_id`` returns the first submission.

    ``request``: the authenticated request (its user is the customer); ``data``: the view's
    validated fields (title, description or body, coin, network, tx_hash, order_number, language).
    """
    inbox = default_inbox(kind)
    adapter = adapter_for(kind)
    adapter.verify(inbox, request)
    customer = request.user
    (parsed,) = adapter.parse(inbox, Submitted(user=customer, data=data))
    screened = screen(parsed, facts=hex_facts)
    client_id = (client_id or "").strip()[:64]
    key = new_dedupe_key(client_id)
    try:
        accepted = do_accept(
            inbox,
            screened,
            dedupe_key=key,
            customer=customer,
            ticket=ticket,
            category=category,
            files=files,
            priority=priority,
            amount=amount,
            ip_address=ip_address,
            client_id=client_id,
            repeatable=bool(client_id),
        )
    except IntegrityError:
        # The same client id sent twice at once: the other request stored its event first
        # (our savepoint rolled back our case with it). Answer with the first case.
        found = _existing(inbox, key) if client_id else None
        if found is None:
            raise
        return found.submission
    submission = accepted.submission
    if not accepted.duplicate:
        submission.secret_warning = screened.warning or None
    return submission


# =========================================================================== asynchronous channels


@dataclass(frozen=True)
class Received:
    events: list[InboundEvent]
    created: int  # how many were new (the rest were redeliveries)


def receive(inbox: Inbox, request: Any) -> Received:
    """Verify, parse, screen and store a channel's request durably; the caller acknowledges it.

    Committed when this returns (calling it inside a transaction is a bug: the channel would be
    told "received" for rows that could still roll back). Each new event's job is enqueued.
    """
    adapter = adapter_for(inbox.kind)
    adapter.verify(inbox, request)
    events: list[InboundEvent] = []
    created = 0
    for parsed in adapter.parse(inbox, request):
        screened = screen(parsed)
        key = durable.digest(f"ext:{parsed.external_id}") if parsed.external_id else new_dedupe_key()
        defaults: dict[str, Any] = {"payload": screened.payload(), "next_attempt_at": timezone.now()}
        if screened.ignore:
            # Kept (seen, deduplicated, visible to admins) but never processed: a malformed or
            # unknown update must not block the inbox or be retried.
            logger.info("inbox %s: event %s ignored (%s)", inbox.pk, parsed.external_id[:40], screened.ignore)
            defaults.update(
                status=EventStatus.IGNORED, ignore_reason=screened.ignore, processed_at=timezone.now()
            )
        try:
            with transaction.atomic(durable=True):
                event, made = InboundEvent.objects.get_or_create(
                    inbox=inbox, dedupe_key=key, defaults=defaults
                )
        except IntegrityError:  # delivered twice at the same moment: the other stored it
            event, made = InboundEvent.objects.get(inbox=inbox, dedupe_key=key), False
        events.append(event)
        if made:
            created += 1
            if not screened.ignore:
                enqueue_event(event.pk)
    return Received(events=events, created=created)


def enqueue_event(pk: int) -> None:
    from kefu.inbox.tasks import process_event
    from kefu.jobs.engine import enqueue_on_commit

    enqueue_on_commit(process_event, pk)


def fetch_media(inbox: Inbox, screened: Screened) -> tuple[list[CheckedFile], list[str]]:
    """The message's files through the portal's upload checks (size, type sniffing, PDF checks),
    downloaded by the adapter (``fetch_media(inbox, ref) -> (name, bytes) | None``); a file
    refused or too large is skipped, logged, and noted in the message for the agent."""
    if not screened.media:
        return [], []
    from django.core.exceptions import ValidationError
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.utils.translation import gettext as _
    from django.utils.translation import override

    from kefu.tickets.attachments import check_upload

    fetch = getattr(adapter_for(inbox.kind), "fetch_media", None)
    files: list[CheckedFile] = []
    notes: list[str] = []
    with override(screened.language or "zh-hans"):
        for ref in screened.media:
            name = ref.get("name") or "file"
            got = fetch(inbox, ref) if fetch is not None else None
            if got is None:
                logger.warning("inbox %s: a file was skipped (too large or unavailable)", inbox.pk)
                notes.append(
                    _("[A file was not attached: “{name}” is too large or unavailable.]").format(name=name)
                )
                continue
            try:
                files.append(check_upload(SimpleUploadedFile(got[0] or name, got[1])))
            except ValidationError as exc:
                logger.warning("inbox %s: a file was refused by the upload checks", inbox.pk)
                notes.append("[" + " ".join(exc.messages) + "]")
    return files, notes


def _rate_exceeded(event: InboundEvent, contact: ContactIdentity) -> bool:
    count, seconds = CONTACT_RATE
    since = event.received_at - timedelta(seconds=seconds)
    recent = InboundEvent.objects.filter(contact=contact, received_at__gte=since, id__lt=event.pk).count()
    return recent >= count


def process(pk: int) -> bool:
    """The job: turn one pending event into a message on a case. Safe to run twice or in two
    workers at once (the claim); a failure is retried with back-off, failed for good after the
    maximum attempts (admins see it in the admin's inbound events and can retry it)."""
    attempt = durable.claim(InboundEvent, pk, EventStatus.PENDING)
    if attempt is None:
        return False
    event = InboundEvent.objects.select_related("inbox").get(pk=pk)
    try:
        # Files are fetched before the transaction (network time must not hold the database's
        # write lock); a file the checks refuse is left out with a note in the message.
        files, notes = fetch_media(event.inbox, Screened.from_payload(event.payload))
        with transaction.atomic():
            mine = InboundEvent.objects.select_for_update().filter(pk=pk, status=EventStatus.PENDING)
            if not mine.values_list("pk", flat=True):
                return False  # an overlapping attempt handled it
            screened = Screened.from_payload(event.payload)
            if not screened.title:
                # A channel without subjects: the title is cut from the screened text, never
                # from the raw one (a cut secret is a fragment the guard cannot recognise).
                first = next((line.strip() for line in screened.body.split("\n") if line.strip()), "")
                screened.title = first[:80] or "…"
            if notes:
                screened.body = "\n".join(part for part in (screened.body, *notes) if part)
            contact = identify(event.inbox, address=screened.address, display_name=screened.display_name)
            # A contact not linked to a customer is served too (do_accept: the bot, or a case
            # without a customer); "unknown_contact" is only found on events of older versions.
            reason = ""
            if _rate_exceeded(event, contact):
                reason = "rate_limited"
            if reason:
                InboundEvent.objects.filter(pk=pk).update(
                    status=EventStatus.IGNORED,
                    ignore_reason=reason,
                    contact=contact,
                    processed_at=timezone.now(),
                )
                return True
            do_accept(event.inbox, screened, dedupe_key=event.dedupe_key, event=event, files=files)
    except Exception as exc:
        logger.exception("inbound event %s failed (attempt %s)", pk, attempt)
        failed = attempt >= durable.max_attempts()
        InboundEvent.objects.filter(pk=pk, status=EventStatus.PENDING, attempts=attempt).update(
            status=EventStatus.FAILED if failed else EventStatus.PENDING, last_error=durable.error_text(exc)
        )
    return True


def do_retry_events(ids: Iterable[int]) -> int:
    """An admin sends failed, stuck or unknown-contact events back to processing now (after
    linking the contact to a customer, say)."""
    ids = list(ids)
    retryable = models.Q(status__in=(EventStatus.FAILED, EventStatus.PENDING)) | models.Q(
        status=EventStatus.IGNORED, ignore_reason="unknown_contact"
    )
    with transaction.atomic():
        count = (
            InboundEvent.objects.filter(pk__in=ids)
            .filter(retryable)
            .update(status=EventStatus.PENDING, attempts=0, next_attempt_at=timezone.now())
        )
        for pk in ids:
            enqueue_event(pk)
    return count
