"""State changes of live chat. Consumers, views, the bot's hand-off and the sweep all call these.

A chat is a real-time session on a case (``ChatConversation.ticket``): its messages are the
case's messages (``kefu.tickets.models.Message``, channel ``chat``; a note is an internal
message, a system event a public one with ``sender`` system and ``extra["event"]``), numbered
with the case's numbers. Read marks on the chat row refer to those numbers.

Locking, so that two processes (or two agents) never act on the same chat at once. One order
for every writer, rows taken only in this order (a writer may skip any of them):

1. the chat's row (``select_for_update``, or the hot path's conditional UPDATE);
2. the chat's bot conversation (the bot's turn in a chat: ``_ask_bot`` locks the chat first);
3. ``AgentPresence`` rows, whenever an agent's chat count changes (two in id order);
4. the case's row, last: a message takes its number from ``Ticket.last_seq`` by an
   ``UPDATE ... RETURNING`` (``kefu.tickets.thread.next_seq``) that holds the case's lock to
   the end of the transaction, so numbers are gap-free and unique across every channel.

Writers on the ticket side (portal, mail, agents' ticket view) take only the case's row, which
comes last here, so they cannot close a cycle with a chat writer. The bot's HTTP API takes its
conversation, then the case, and in a hand-off the chat row it creates (``enqueue_from_bot``):
a new row nobody else holds. The dispatcher locks queued conversations with ``SKIP LOCKED``:
parallel dispatchers take different chats instead of waiting for each other.

SQLite ignores row locks, but Kefu opens its SQLite transactions ``IMMEDIATE``, which
serialises writers for the whole database: the same guarantees, with less parallelism.

Every inbound text passes the secret guard before it is stored, logged or broadcast. Events
leave after commit (``publish_on_commit``).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import phonenumbers
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, Field, FloatField, Q
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from kefu import rowlookup
from kefu.accounts.models import ROLE_TIER, STAFF_ROLES, Team, User
from kefu.audit.actions import do_record
from kefu.chat import events, selectors
from kefu.chat.conf import chat_setting
from kefu.chat.models import (
    AgentPresence,
    AgentPresenceLog,
    CallbackRequest,
    ChatConversation,
    ChatStatus,
    CloseReason,
    Message,
    MessageKind,
    PresenceStatus,
    Sender,
)
from kefu.csat import selectors as csat_selectors
from kefu.events import ChatClosed
from kefu.events import publish as publish_event
from kefu.trust import guard

if TYPE_CHECKING:
    from django.db.models.options import Options

    from kefu.bot.models import BotConversation
    from kefu.tickets.models import Ticket

logger = logging.getLogger(__name__)


def _db_field(meta: Options[Any], name: str) -> Field[Any, Any]:
    """A concrete column of ``meta``'s model: the raw SQL of the hot paths writes only those."""
    field = meta.get_field(name)
    assert isinstance(field, Field), name
    return field


def _column(field: Field[Any, Any]) -> str:
    assert field.column is not None, field.name
    return field.column

MAX_TEXT = 2000
MAX_CLIENT_ID = 64
MAX_TIER = 3
MAX_CAPACITY = 100  # concurrent chats; people manage a handful, integrations and load tests more
# Queued chats looked at per dispatch round: the head of the queue may wait for a language or
# a tier nobody online has, and must not block the chats behind it.
DISPATCH_WINDOW = 25


# --- helpers -------------------------------------------------------------------------------------


def _lock(conversation: ChatConversation) -> ChatConversation:
    return ChatConversation.objects.select_for_update().get(pk=conversation.pk)


def _hex(conversation: ChatConversation) -> str:
    return conversation.public_id.hex


def _append(
    conversation: ChatConversation,
    *,
    sender: str,
    text: str,
    kind: str = MessageKind.PUBLIC,
    author: User | None = None,
    client_id: str = "",
    extra: dict[str, Any] | None = None,
    also: dict[str, Any] | None = None,
    origin: str = "",
) -> Message:
    """Add a message to the chat's case; the caller holds the chat's row locked.

    The number is the case's (``next_seq``: the case's lock, last in the lock order); the chat
    fields in ``also`` are saved in one UPDATE.
    """
    from kefu.tickets.models import Channel

    now = timezone.now()
    message = Message(
        ticket_id=selectors.case_id(conversation),
        seq=_next_seq(conversation),
        client_id=client_id,
        sender=sender,
        kind=kind,
        author=author,
        body=text,
        channel=Channel.CHAT,
        extra=extra or {},
    )
    rowlookup.insert(message)
    for key, value in (also or {}).items():
        setattr(conversation, key, value)
    ChatConversation.objects.filter(pk=conversation.pk).update(updated_at=now, **(also or {}))
    publish_message(conversation, message, origin=origin)
    return message


def _next_seq(conversation: ChatConversation) -> int:
    from kefu.tickets.thread import next_seq

    # Every chat opens its case (do_start_conversation, enqueue_from_bot); one without raises
    # Ticket.DoesNotExist here.
    return next_seq(selectors.case_id(conversation))


def publish_message(conversation: ChatConversation, message: Message, *, origin: str = "") -> None:
    # ``origin``: the connection that sent it has its acknowledgement and needs no echo.
    events.publish_on_commit(
        events.conversation_group(conversation.public_id),
        {
            "type": "chat.message",
            "conversation": _hex(conversation),
            "message": selectors.message_payload(message),
            "origin": origin,
        },
    )


@dataclass(frozen=True)
class FastPost:
    """A message for a chat in progress, ready for the hot path (see :func:`do_post_fast`)."""

    conversation: ChatConversation
    sender: str
    kind: str
    author: User
    client_id: str
    text: str  # already through the guard
    statuses: tuple[str, ...]  # the conversation must be in one of these
    condition: tuple[str, int] | None  # and this column must hold this value (who may write)
    fields: dict[str, Any]
    first_response: bool = False
    origin: str = ""


def do_post_fast(posts: Sequence[FastPost]) -> list[tuple[Message, bool] | None]:
    """Store messages of chats in progress: per message, one UPDATE … RETURNING on a database
    server (two on SQLite); per batch, one multi-row INSERT (:func:`kefu.rowlookup.insert`, as
    every other message of every channel: its SQL built once per row count).

    The chat's UPDATE checks the status (and who may write) in its WHERE clause, takes the
    chat's row lock, records the activity and returns the case; the case's UPDATE takes the
    next message number (``next_seq``, the case's lock, last in the lock order); the INSERT
    adds the messages to their cases' threads — what ``_lock`` + ``_append`` do through the
    ORM. On PostgreSQL the two UPDATEs are one statement (the chat's in a ``WITH``), and every
    message of the batch goes in one INSERT: a database server answers each statement over a
    socket, and the round trips, not the work, were most of a batch's time (a py-spy profile
    at 1,000 chats: 61 % of the server's samples waiting on them). The ORM cannot return values
    from an UPDATE, hence the SQL (standard; SQLite ≥ 3.35 and PostgreSQL both run it).

    Several posts share one transaction (group commit: the server's WebSocket writer hands
    over what arrived while the previous batch was written), which saves a BEGIN, a COMMIT and
    a trip to the database thread per message. A resend of a stored ``client_id`` hits the
    unique constraint; the batch then rolls back and its posts are stored one by one, so only
    the resend's transaction (and its number) rolls back and the stored message is returned.

    Each result is ``(message, duplicate)``, or None where the conversation is not in
    ``statuses`` or the writer is not allowed: the caller takes the general path, which
    explains why.
    """
    from django.db import IntegrityError

    if len(posts) > 1:
        # In the chats' id order (each chat's posts in the order they came): two batches in two
        # processes lock the chat rows, and then each one's case, in the same order.
        order = sorted(range(len(posts)), key=lambda i: posts[i].conversation.pk)
        try:
            with transaction.atomic():
                applied = _apply_fast([posts[i] for i in order])
            by_index = dict(zip(order, applied, strict=True))
            return [by_index[i] for i in range(len(posts))]
        except IntegrityError:
            pass
    results: list[tuple[Message, bool] | None] = []
    for post in posts:
        try:
            with transaction.atomic():
                results.extend(_apply_fast([post]))
        except IntegrityError:
            existing = _existing(post.conversation, post.client_id)
            if existing is None:
                raise
            results.append((existing, True))
    return results


def _apply_fast(posts: Sequence[FastPost]) -> list[tuple[Message, bool] | None]:
    """The posts' UPDATEs in turn, then one INSERT of their messages, inside the caller's
    transaction."""
    from kefu.tickets.models import Channel

    now = timezone.now()
    numbered = [_number_fast(post, now) for post in posts]
    messages = [
        Message(
            ticket_id=taken[0],
            seq=taken[1],
            client_id=post.client_id,
            sender=post.sender,
            kind=post.kind,
            author=post.author,
            body=post.text,
            channel=Channel.CHAT,
            extra={},
        )
        for post, taken in zip(posts, numbered, strict=True)
        if taken is not None
    ]
    rowlookup.insert(*messages)
    stored = iter(messages)
    results: list[tuple[Message, bool] | None] = []
    for post, taken in zip(posts, numbered, strict=True):
        if taken is None:
            results.append(None)
            continue
        message = next(stored)
        publish_message(post.conversation, message, origin=post.origin)
        results.append((message, False))
    return results


def _number_fast(post: FastPost, now: datetime) -> tuple[int, int] | None:
    """Check and touch the post's chat, then take its case's next message number: ``(case id,
    number)``, or None where the chat may not take the post. The chat's row first, the case's
    last (the module's lock order)."""
    from django.db import connection

    from kefu.tickets.models import Ticket
    from kefu.tickets.thread import next_seq

    meta = ChatConversation._meta
    quote = connection.ops.quote_name
    sets: list[str] = []
    params: list[Any] = []
    for name, value in {**post.fields, "updated_at": now}.items():
        field_ = _db_field(meta, name)
        sets.append(f"{quote(_column(field_))} = %s")
        params.append(field_.get_db_prep_value(value, connection))
    if post.first_response:
        first_response = _db_field(meta, "first_response_at")
        column = quote(_column(first_response))
        sets.append(f"{column} = COALESCE({column}, %s)")
        params.append(first_response.get_db_prep_value(now, connection))
    where = [f"{quote('id')} = %s", f"{quote('status')} IN ({', '.join(['%s'] * len(post.statuses))})"]
    params += [post.conversation.pk, *post.statuses]
    if post.condition is not None:
        where.append(f"{quote(_column(_db_field(meta, post.condition[0])))} = %s")
        params.append(post.condition[1])
    ticket = quote(_column(_db_field(meta, "ticket")))
    chat_sql = f"UPDATE {quote(meta.db_table)} SET {', '.join(sets)} WHERE {' AND '.join(where)} RETURNING {ticket}"
    if connection.vendor == "postgresql":
        # One round trip: the chat's UPDATE runs first (the case's reads its result), so the
        # lock order holds within the statement.
        cases = quote(Ticket._meta.db_table)
        sql = (
            f"WITH chat AS ({chat_sql}) UPDATE {cases} SET {quote('last_seq')} = {cases}.{quote('last_seq')} + 1 "  # noqa: S608
            f"FROM chat WHERE {cases}.{quote('id')} = chat.{ticket} RETURNING {cases}.{quote('id')}, {cases}.{quote('last_seq')}"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
        return None if row is None else (int(row[0]), int(row[1]))
    with connection.cursor() as cursor:
        cursor.execute(chat_sql, params)
        row = cursor.fetchone()
    if row is None or row[0] is None:
        return None
    return int(row[0]), next_seq(row[0])


def _system(conversation: ChatConversation, text: str, *, event: str, **extra: Any) -> Message:
    return _append(conversation, sender=Sender.SYSTEM, text=text, extra={"event": event, **extra})


def _publish_status(conversation: ChatConversation, **extra: Any) -> None:
    events.publish_on_commit(
        events.conversation_group(conversation.public_id),
        {
            "type": "chat.status",
            "conversation": _hex(conversation),
            **selectors.status_payload(conversation),
            **extra,
        },
    )


def _queue_changed(*team_ids: int | None) -> None:
    for team_id in set(team_ids):
        events.notify_on_commit(events.queue_group(team_id), {"type": "chat.queue_changed", "team": team_id})
    events.notify_on_commit(events.STAFF_GROUP, {"type": "chat.queue_changed", "team": None})


def _dispatch_on_commit(team_ids: Collection[int | None] | None = None) -> None:
    ids = None if team_ids is None else set(team_ids)

    def run() -> None:
        try:
            do_dispatch(team_ids=ids)
        except Exception:  # dispatch is retried by the sweep; never fail the change that triggered it
            logger.exception("chat dispatch failed")

    transaction.on_commit(run)


def _guard(
    text: str, *, language: str, asking_tx_hash: bool = False, facts: guard.HexFacts | None = None
) -> guard.ScanResult:
    # The bot just asked for a transaction hash: the message answers that field, the same rule
    # as the bot and the ticket form (guard.scan_field); ``facts`` settle a bare 64-hex.
    return guard.scan_field(
        text, field="tx_hash" if asking_tx_hash else "text", language=language, facts=facts
    )


def _bot_state(conversation: ChatConversation) -> dict[str, Any]:
    """The state of the chat's bot conversation while the bot talks (read from the database: the
    caller's copy may predate the bot's conversation)."""
    from kefu.bot.models import BotConversation

    state = BotConversation.objects.filter(
        chat__pk=conversation.pk, chat__status=ChatStatus.BOT
    ).values_list("state", flat=True)
    return (state[0] if state else None) or {}


def _hex_facts(conversation: ChatConversation, *, customer: User | None, text: str) -> guard.HexFacts | None:
    """What settles a 64-hex in a customer's message (wallet records, a chain lookup): slow, so
    gathered before the message's transaction, from the bot's state as it was then."""
    if not guard.hex_candidates(text):
        return None
    from kefu.tickets.actions import hex_facts_for

    state = _bot_state(conversation)
    asking_tx_hash = state.get("asking") == "tx_hash"
    return hex_facts_for(
        customer=customer,
        network=str((state.get("slots") or {}).get("network") or ""),
        tx_hash=text if asking_tx_hash else "",
        texts=() if asking_tx_hash else (text,),
    )


def _clean_text(text: Any) -> str:
    text = (text if isinstance(text, str) else "").strip()
    if not text:
        raise ValidationError({"text": [_("Please write a message.")]})
    if len(text) > MAX_TEXT:
        raise ValidationError({"text": [_("A message can be at most {n} characters.").format(n=MAX_TEXT)]})
    return text


def _clean_client_id(client_id: Any) -> str:
    client_id = client_id if isinstance(client_id, str) else ""
    return client_id.strip()[:MAX_CLIENT_ID]


def _existing(conversation: ChatConversation, client_id: str) -> Message | None:
    if not client_id:
        return None
    # Spelled like the partial unique index's condition, so that SQLite can use that index.
    # A resend id is unique per case (``message_client_id``).
    return (
        Message.objects.filter(ticket_id=selectors.case_id(conversation), client_id=client_id)
        .exclude(client_id="")
        .order_by()
        .first()
    )


# --- conversations: the customer's side ------------------------------------------------------


def do_start_conversation(*, customer: User | None, language: str) -> ChatConversation:
    """A new conversation with the bot (created at the customer's first message): a session on a
    case in the bot's stage, opened with it (the bot's conversation answers that same case)."""
    from kefu.tickets import stages
    from kefu.tickets.models import Channel

    language = language or "zh-hans"
    with transaction.atomic():
        case = stages.do_open_bot_case(customer=customer, channel=Channel.CHAT, language=language)
        return ChatConversation.objects.create(customer=customer, language=language, ticket=case)


def do_adopt_conversation(*, conversation: ChatConversation, customer: User) -> ChatConversation:
    """An anonymous visitor signed in mid-conversation: the conversation becomes theirs, and so does
    the case of its bot conversation (a hand-off made while signed out included)."""
    from kefu.bot.actions import do_adopt_conversation as adopt_bot_conversation
    from kefu.bot.models import BotConversation

    with transaction.atomic():
        conversation = _lock(conversation)
        if conversation.customer_id is None:
            conversation.customer = customer
            conversation.save(update_fields=["customer", "updated_at"])
    if conversation.customer_id == customer.pk and (case := conversation.ticket) is not None:
        from kefu.tickets import stages

        stages.do_adopt_case(ticket=case, customer=customer)
    # The bot conversation in its own transaction, after the chat's (the lock order allows
    # both together; apart, neither waits on the other).
    if conversation.customer_id == customer.pk and conversation.bot_conversation_id is not None:
        bot_conversation = BotConversation.objects.filter(pk=conversation.bot_conversation_id).first()
        if bot_conversation is not None:
            adopt_bot_conversation(conversation=bot_conversation, customer=customer)
    return conversation


def do_resume_pending_handoff(*, conversation: ChatConversation, customer: User) -> Message | None:
    """The customer asked the bot for a human before signing in: now signed in, the hand-off goes
    ahead (the chat is queued, or a ticket filed) with the bot's answer in the chat. None when no
    hand-off was waiting for the sign-in."""
    from kefu.bot.actions import do_resume_handoff
    from kefu.bot.models import BotConversation

    if conversation.status != ChatStatus.BOT or conversation.bot_conversation_id is None:
        return None
    if conversation.customer_id != customer.pk:
        return None
    bot_conversation = BotConversation.objects.filter(pk=conversation.bot_conversation_id).first()
    if bot_conversation is None or not (bot_conversation.state or {}).get("pending_handoff"):
        return None
    with transaction.atomic():  # the answer before the dispatch, as in _ask_bot (and its locks)
        conversation = _lock(conversation)
        before = _case_last_seq(conversation)
        reply = do_resume_handoff(conversation=bot_conversation, customer=customer)
        if reply is None:
            return None
        written = _bot_turn_messages(conversation, before=before, reply=reply, turn=None)
        return written[-1] if written else None


@dataclass
class CustomerPost:
    """The outcome of a customer's message: the stored (guarded) message and what followed."""

    message: Message
    duplicate: bool = False
    secret_warning: str | None = None
    conversation: ChatConversation | None = None
    replies: list[Message] = field(default_factory=list)


def plan_customer_message(
    *, conversation: ChatConversation, customer: User | None, client_id: Any, text: Any, origin: str = ""
) -> FastPost | None:
    """The hot-path post for a customer's message in a queued or active chat, or None where the
    general path must decide (the bot, a secret to flag). No database access; raises
    ``ValidationError`` for an empty or oversized text."""
    text = _clean_text(text)
    # ``conversation.status`` is the caller's (maybe stale) copy: only a hint for trying the hot
    # path, whose UPDATE checks the real status.
    if customer is None or conversation.status not in (ChatStatus.QUEUED, ChatStatus.ACTIVE):
        return None
    scanned = guard.scan(text, language=conversation.language)
    if scanned.secret:
        return None
    now = timezone.now()
    return FastPost(
        conversation=conversation,
        sender=Sender.CUSTOMER,
        kind=MessageKind.PUBLIC,
        author=customer,
        client_id=_clean_client_id(client_id),
        text=scanned.redacted,
        statuses=(ChatStatus.QUEUED, ChatStatus.ACTIVE),
        condition=("customer", customer.pk),
        fields={"customer_message_at": now, "customer_seen_at": now, "reminded_at": None},
        origin=origin,
    )


def check_customer_message(
    *,
    conversation: ChatConversation,
    customer: User | None,
    client_id: str,
    text: str,
    origin: str = "",
    try_fast: bool = True,
) -> CustomerPost:
    """Store a customer's message once (a resend with the same ``client_id`` returns the first).

    With the bot, the bot answers; after hand-off, the message waits for or reaches the agent.
    ``origin`` names the sending connection, which is acknowledged instead of echoed.
    ``try_fast=False``: the caller tried :func:`plan_customer_message` already.
    """
    if try_fast:
        plan = plan_customer_message(
            conversation=conversation, customer=customer, client_id=client_id, text=text, origin=origin
        )
        if plan is not None and (fast := do_post_fast([plan])[0]) is not None:
            return CustomerPost(message=fast[0], duplicate=fast[1], conversation=conversation)
    text = _clean_text(text)
    client_id = _clean_client_id(client_id)
    facts = _hex_facts(conversation, customer=customer, text=text)
    now = timezone.now()
    with transaction.atomic():
        # Decide on the locked row: the caller's copy may be stale (hand-off, close, transfer).
        conversation = _lock(conversation)
        if conversation.customer_id is not None and (
            customer is None or customer.pk != conversation.customer_id
        ):
            raise PermissionDenied
        existing = _existing(conversation, client_id)
        if existing is not None:
            return CustomerPost(message=existing, duplicate=True, conversation=conversation)
        if conversation.status == ChatStatus.CLOSED:
            raise ValidationError({"text": [_("This chat has ended. Start a new one to continue.")]})
        asking_tx_hash = _bot_state(conversation).get("asking") == "tx_hash"
        scanned = _guard(text, language=conversation.language, asking_tx_hash=asking_tx_hash, facts=facts)
        update: dict[str, Any] = {"customer_message_at": now, "customer_seen_at": now, "reminded_at": None}
        warning = guard.warning_for(scanned, language=conversation.language) if scanned.secret else None
        if scanned.secret:
            update["security"] = True
        # The warning belongs to the message that held the secret: shown once, under it, on
        # every device and after a reload (the bot's answer does not repeat it).
        extra = {"secret_warning": warning} if warning else None
        if conversation.status != ChatStatus.BOT:
            message = _append(
                conversation,
                sender=Sender.CUSTOMER,
                text=scanned.redacted,
                author=customer,
                client_id=client_id,
                extra=extra,
                also=update,
                origin=origin,
            )
            if scanned.secret:
                _flag_secret(conversation, kinds=[f.kind for f in scanned.findings], actor=customer)
            return CustomerPost(message=message, secret_warning=warning, conversation=conversation)
    # With the bot: the bot writes the customer's turn and its answer into the case; the chat
    # adds what is the chat's (the resend id, the warning) and sends both.
    message, replies = _ask_bot(
        conversation,
        customer=customer,
        text=text,
        turn=_CustomerTurn(
            text=scanned.redacted, client_id=client_id, extra=extra or {}, update=update, origin=origin
        ),
    )
    if scanned.secret:
        with transaction.atomic():
            _flag_secret(_lock(conversation), kinds=[f.kind for f in scanned.findings], actor=customer)
    post = CustomerPost(message=message, secret_warning=warning, conversation=conversation, replies=replies)
    post.conversation = ChatConversation.objects.get(pk=conversation.pk)
    return post


@dataclass(frozen=True)
class _CustomerTurn:
    """What the chat keeps of a customer's message the bot answers."""

    text: str  # guarded
    client_id: str
    extra: dict[str, Any]
    update: dict[str, Any]  # chat fields
    origin: str


def _flag_secret(conversation: ChatConversation, *, kinds: list[str], actor: User | None) -> None:
    """A secret was hidden: warn the agent in a note; a waiting chat moves to the security team."""
    with override(conversation.language):
        note = _(
            "The secret guard hid a possible seed phrase or private key in this chat. "
            "Advise the customer to move their funds to a new wallet; never ask for the secret."
        )
    _append(conversation, sender=Sender.SYSTEM, kind=MessageKind.INTERNAL, text=note, extra={"event": "secret"})
    if conversation.status == ChatStatus.QUEUED:
        security = selectors.security_team()
        if security is not None and conversation.team_id != security.pk:
            previous = conversation.team_id
            ChatConversation.objects.filter(pk=conversation.pk).update(
                team=security, priority=max(conversation.priority, 3)
            )
            conversation.team_id = security.pk
            _queue_changed(previous, security.pk)
            _dispatch_on_commit([security.pk])
    do_record(
        actor=actor,
        action="chat.secret_redacted",
        target_type="chat",
        target_id=str(conversation.public_id),
        data={"kinds": sorted(set(kinds))},
    )


def _ask_bot(
    conversation: ChatConversation, *, customer: User | None, text: str, turn: _CustomerTurn
) -> tuple[Message, list[Message]]:
    """One bot turn: the customer's message and the bot's answer, both in the case's thread.

    A hand-off to a human is the bot's: it queues this same conversation (``enqueue_from_bot``)
    or files a ticket; nothing is queued here.
    """
    from kefu.bot.actions import do_handle_message, prepare_message

    bot_conversation = _bot_conversation_of(conversation, customer=customer)
    # The model's prediction and the article search before the transaction below, which on
    # SQLite holds the database's one write lock (see ``kefu.bot.actions.Prepared``).
    prepared = prepare_message(bot_conversation, text=text, language=conversation.language)
    # The bot's turn and its answer in one transaction: a hand-off dispatches on commit, so the
    # answer ("an agent will join the chat in a moment") is stored before the agent joins, not
    # after. Locks in the module's order: the chat, then the bot conversation, then the case.
    with transaction.atomic():
        conversation = _lock(conversation)
        before = _case_last_seq(conversation)
        if conversation.status != ChatStatus.BOT:  # handed off since the caller looked
            message = _append(
                conversation,
                sender=Sender.CUSTOMER,
                text=turn.text,
                author=customer,
                client_id=turn.client_id,
                extra=turn.extra,
                also=turn.update,
                origin=turn.origin,
            )
            return message, []
        reply = do_handle_message(
            conversation=bot_conversation,
            customer=customer,
            text=text,
            language=conversation.language,
            prepared=prepared,
        )
        ChatConversation.objects.filter(pk=conversation.pk).update(updated_at=timezone.now(), **turn.update)
        written = _bot_turn_messages(conversation, before=before, reply=reply, turn=turn)
        said = next((m for m in written if m.sender == Sender.CUSTOMER), None)
        # A turn the bot did not write down: the chat keeps the message.
        message = said or _append(
            conversation,
            sender=Sender.CUSTOMER,
            text=turn.text,
            author=customer,
            client_id=turn.client_id,
            extra=turn.extra,
            origin=turn.origin,
        )
        return message, [m for m in written if m.sender != Sender.CUSTOMER]


def _case_last_seq(conversation: ChatConversation) -> int:
    from kefu.tickets.models import Ticket

    return Ticket.objects.filter(pk=selectors.case_id(conversation)).values_list("last_seq", flat=True).first() or 0


def _bot_turn_messages(
    conversation: ChatConversation, *, before: int, reply: Any, turn: _CustomerTurn | None
) -> list[Message]:
    """The messages the bot just wrote in the case (numbered above ``before``), completed with
    what is the chat's and sent to the chat; the caller holds the chat's lock."""
    written = list(
        Message.objects.filter(
            ticket_id=selectors.case_id(conversation), seq__gt=before, sender__in=(Sender.CUSTOMER, Sender.BOT)
        ).order_by("seq")
    )
    extra: dict[str, Any] = {}
    if reply is not None and reply.needs_sign_in:
        extra["needs_sign_in"] = True
    # reply.secret_warning is left out: the customer's message carries the same warning already,
    # and the panel would show it twice.
    if reply is not None and reply.handoff:
        extra["handoff"] = reply.handoff
    customer_seen = False
    for message in written:
        if message.sender == Sender.CUSTOMER and turn is not None and not customer_seen:
            customer_seen = True
            message.client_id = turn.client_id
            message.extra = {**(message.extra or {}), **turn.extra}
            message.save(update_fields=["client_id", "extra"])
            publish_message(conversation, message, origin=turn.origin)
            continue
        if message.sender == Sender.BOT and extra:
            message.extra = {**(message.extra or {}), **extra}
            message.save(update_fields=["extra"])
        publish_message(conversation, message)
    return written


def _bot_conversation_of(conversation: ChatConversation, *, customer: User | None) -> Any:
    """The bot conversation behind this chat, started and linked before the bot's first answer.

    Linked first so that a hand-off in that very answer finds this chat (``enqueue_from_bot``
    looks it up by its bot conversation) and continues it instead of opening a second one.
    """
    from kefu.bot.actions import do_start_conversation
    from kefu.bot.models import BotConversation
    from kefu.tickets.models import Channel

    with transaction.atomic():
        # Under the chat's lock: two messages at once must not start two bot conversations.
        conversation = _lock(conversation)
        if conversation.bot_conversation_id is not None:
            return BotConversation.objects.get(pk=conversation.bot_conversation_id)
        bot_conversation = do_start_conversation(
            customer=customer,
            language=conversation.language,
            channel=Channel.CHAT,
            case=conversation.ticket if conversation.ticket_id is not None else None,
        )
        ChatConversation.objects.filter(pk=conversation.pk).update(bot_conversation=bot_conversation)
        return bot_conversation


# --- the queue ---------------------------------------------------------------------------------


def enqueue_from_bot(
    *,
    bot_conversation: BotConversation,
    customer: User,
    intent: str | None,
    slots: dict[str, str],
    language: str,
    security: bool,
    ticket: Ticket | None = None,
) -> ChatConversation:
    """The bot hands a conversation to a human: queue it for the right team.

    Called by the bot's hand-off inside its transaction. A conversation that started in the
    chat widget continues (same case, same connection); one that started elsewhere (the HTTP
    API) becomes a new chat session on the bot's case, whose thread holds what was said.
    Idempotent. ``ticket``: the case already opened to the team for it (urgent topics).
    """
    with transaction.atomic():
        conversation = (
            ChatConversation.objects.select_for_update().filter(bot_conversation=bot_conversation).first()
        )
        if conversation is not None and conversation.status == ChatStatus.CLOSED:
            # The old chat ended; the bot conversation goes on and opens a new one.
            conversation.bot_conversation = None
            conversation.save(update_fields=["bot_conversation", "updated_at"])
            conversation = None
        if conversation is None:
            conversation = ChatConversation.objects.create(
                customer=customer,
                bot_conversation=bot_conversation,
                language=language or "zh-hans",
                # A session on the bot's case: its thread holds the conversation so far.
                ticket_id=bot_conversation.ticket_id,
            )
        elif conversation.customer_id is None:
            conversation.customer = customer
            conversation.save(update_fields=["customer", "updated_at"])
        return do_enqueue(
            conversation=conversation, intent=intent or "", slots=slots, security=security, ticket=ticket
        )


def do_enqueue(
    *,
    conversation: ChatConversation,
    intent: str,
    slots: dict[str, str],
    security: bool,
    ticket: Ticket | None = None,
) -> ChatConversation:
    """Put a conversation in its team's queue (by intent, security and language) and dispatch."""
    if conversation.customer_id is None:
        raise ValidationError(_("Please sign in to talk to an agent."))
    routing = selectors.route_for(intent=intent, security=security or conversation.security)
    with transaction.atomic():
        conversation = _lock(conversation)
        if conversation.status in (ChatStatus.QUEUED, ChatStatus.ACTIVE):
            return conversation
        if conversation.status == ChatStatus.CLOSED:
            raise ValidationError(_("This chat has ended. Start a new one to continue."))
        now = timezone.now()
        conversation.status = ChatStatus.QUEUED
        conversation.intent = intent or ""
        conversation.slots = slots or {}
        conversation.category = routing.category
        conversation.team = routing.team
        conversation.priority = routing.priority
        conversation.security = routing.security
        conversation.queued_at = now
        conversation.customer_seen_at = now
        if ticket is not None and conversation.ticket_id is None:
            conversation.ticket = ticket
        conversation.save(
            update_fields=[
                "status", "intent", "slots", "category", "team", "priority", "security",
                "queued_at", "customer_seen_at", "ticket", "updated_at",
            ]
        )  # fmt: skip
        _record_wait_estimate(conversation, now=now)
        with override(conversation.language):
            _system(conversation, _("You are in the queue for a human agent."), event="queued")
        do_record(
            actor=conversation.customer,
            action="chat.queued",
            target_type="chat",
            target_id=str(conversation.public_id),
            data={
                "team": routing.team.slug if routing.team else None,
                "intent": intent,
                "priority": routing.priority,
            },
        )
        _publish_status(conversation)
        _queue_changed(conversation.team_id)
        _dispatch_on_commit([conversation.team_id])
    return conversation


def _record_wait_estimate(conversation: ChatConversation, *, now: datetime) -> None:
    """Keep the wait the customer is told on entering the queue (the bot's hand-off reply and
    the chat panel read the same estimate), for the reports' estimate error."""
    wait = selectors.handoff_wait(conversation)
    seconds = None
    if wait is not None:
        seconds = 0 if wait.agent_free else wait.eta_seconds
    conversation.wait_estimate_at, conversation.wait_estimate_seconds = now, seconds
    ChatConversation.objects.filter(pk=conversation.pk).update(wait_estimate_at=now, wait_estimate_seconds=seconds)


@dataclass(frozen=True)
class Assignment:
    conversation_id: int
    agent_id: int


def do_dispatch(*, team_ids: Collection[int | None] | None = None, limit: int = 500) -> list[Assignment]:
    """Give queued chats to free agents until one side runs out; returns what was assigned.

    Fair: the queue in priority then arrival order; among eligible agents (team member, tier,
    language, online with a free slot) the least loaded by chats ÷ capacity, ties to the one
    whose last assignment is oldest. Safe to run in parallel in any number of processes.
    """
    made: list[Assignment] = []
    while len(made) < limit:
        # Reads first: with nobody waiting (the usual case for the sweep) no write transaction
        # is opened at all — on SQLite one would make every other writer wait for it.
        if not ChatConversation.objects.filter(status=ChatStatus.QUEUED).exists():
            break
        teams = selectors.teams_with_free_agents()
        if team_ids is not None:
            # A chat with no team may go to any agent, so it is always worth a look.
            teams = [t for t in teams if t in team_ids or t is None]
        progress = False
        for team_id in teams:
            assignment = _assign_next(team_id)
            if assignment is not None:
                made.append(assignment)
                progress = True
        if not progress:
            break
    return made


def _assign_next(team_id: int | None) -> Assignment | None:
    queued = ChatConversation.objects.filter(status=ChatStatus.QUEUED)
    queued = queued.filter(team__isnull=True) if team_id is None else queued.filter(team_id=team_id)
    if not queued.exists():
        return None
    with transaction.atomic():
        candidates = list(
            queued.order_by("-priority", "queued_at", "id").select_for_update(skip_locked=True)[
                :DISPATCH_WINDOW
            ]
        )
        for conversation in candidates:
            presence = _lock_free_agent(conversation)
            if presence is not None:
                _assign(conversation, presence)
                return Assignment(conversation.pk, presence.user_id)
    return None


def _eligible_agents(conversation: ChatConversation):
    roles = [role for role in STAFF_ROLES if ROLE_TIER[role] >= conversation.tier]
    qs = AgentPresence.objects.filter(
        status=PresenceStatus.ONLINE, user__is_active=True, user__role__in=roles
    )
    if conversation.team_id is not None:
        qs = qs.filter(user__teams=conversation.team_id)
    return qs


def _lock_free_agent(conversation: ChatConversation) -> AgentPresence | None:
    candidates = (
        _eligible_agents(conversation)
        .filter(active_chats__lt=F("capacity"))
        .annotate(load=Cast("active_chats", FloatField()) / Cast("capacity", FloatField()))
        .order_by("load", F("last_assigned_at").asc(nulls_first=True), "id")
    )
    for candidate in candidates[:50]:
        if not candidate.speaks(conversation.language):
            continue
        # Re-read under the lock: another dispatcher may have filled the slot meanwhile.
        presence = AgentPresence.objects.select_for_update().get(pk=candidate.pk)
        if presence.status == PresenceStatus.ONLINE and presence.active_chats < presence.capacity:
            return presence
    return None


def _assign(conversation: ChatConversation, presence: AgentPresence, *, by: User | None = None) -> None:
    """Give a locked conversation to the agent of a locked presence row."""
    now = timezone.now()
    AgentPresence.objects.filter(pk=presence.pk).update(
        active_chats=F("active_chats") + 1, last_assigned_at=now
    )
    previous_team = conversation.team_id
    conversation.status = ChatStatus.ACTIVE
    conversation.assignee_id = presence.user_id
    conversation.assigned_at = now
    conversation.reminded_at = None
    fields = ["status", "assignee", "assigned_at", "reminded_at", "updated_at"]
    if conversation.first_assigned_at is None:
        conversation.first_assigned_at = now  # the end of the customer's wait, kept on transfers
        fields.append("first_assigned_at")
    conversation.save(update_fields=fields)
    agent = User.objects.get(pk=presence.user_id)
    with override(conversation.language):
        _system(
            conversation,
            _("{agent} has joined the chat.").format(agent=selectors.agent_public_name(agent)),
            event="assigned",
        )
    do_record(
        actor=by,
        action="chat.assigned",
        target_type="chat",
        target_id=str(conversation.public_id),
        data={"agent": agent.email, "team": previous_team},
    )
    _publish_status(conversation)
    events.publish_on_commit(
        events.agent_group(presence.user_id),
        {
            "type": "chat.assigned",
            "conversation": _hex(conversation),
            "id": conversation.pk,
            "language": conversation.language,
        },
    )
    _queue_changed(previous_team)
    _presence_changed(presence.user_id)


def _release(conversation: ChatConversation, *, notify: bool = True) -> int | None:
    """Free the assignee's slot (caller holds the conversation lock); returns the agent's id.

    ``notify=False``: the caller sends ``chat.unassigned`` itself, after the status — the agent's
    connection leaves the chat's group on "unassigned" and would miss a status sent later.
    """
    agent_id = conversation.assignee_id
    if agent_id is None:
        return None
    AgentPresence.objects.filter(user_id=agent_id, active_chats__gt=0).update(
        active_chats=F("active_chats") - 1
    )
    if notify:
        _unassigned(conversation, agent_id)
    _presence_changed(agent_id)
    return agent_id


def _unassigned(conversation: ChatConversation, agent_id: int) -> None:
    events.publish_on_commit(
        events.agent_group(agent_id), {"type": "chat.unassigned", "conversation": _hex(conversation)}
    )


def _presence_changed(user_id: int) -> None:
    # The agent sees their own load at once; dashboards refresh at most twice a second.
    events.publish_on_commit(events.agent_group(user_id), {"type": "chat.presence", "user": user_id})
    events.notify_on_commit(events.STAFF_GROUP, {"type": "chat.presence", "user": None})


def _agent_team_ids(agent_id: int) -> list[int | None]:
    return [*Team.objects.filter(members__pk=agent_id).values_list("pk", flat=True), None]


# --- agents ------------------------------------------------------------------------------------


def _presence_for_update(user_id: int) -> AgentPresence:
    presence, _created = AgentPresence.objects.get_or_create(
        user_id=user_id, defaults={"capacity": int(chat_setting("KEFU_CHAT_DEFAULT_CAPACITY"))}
    )
    return AgentPresence.objects.select_for_update().get(pk=presence.pk)


def _log_presence(user_id: int, status: str, *, now: datetime) -> None:
    """Close the agent's open status interval and open one for ``status`` (caller holds the
    presence row's lock, so two changes never leave two open intervals)."""
    AgentPresenceLog.objects.filter(user_id=user_id, ended_at__isnull=True).update(ended_at=now)
    AgentPresenceLog.objects.create(user_id=user_id, status=status, started_at=now)


def do_set_presence(
    *,
    agent: User,
    status: str | None = None,
    capacity: int | None = None,
    languages: str | None = None,
) -> AgentPresence:
    """Set an agent's status (online/away/offline), chat capacity or languages; online picks up the backlog."""
    if not agent.is_agent:
        raise PermissionDenied
    if status is not None and status not in PresenceStatus.values:
        raise ValidationError({"status": [_("Unknown status.")]})
    if capacity is not None and not (0 <= int(capacity) <= MAX_CAPACITY):
        raise ValidationError(
            {"capacity": [_("Capacity must be between 0 and {n} chats.").format(n=MAX_CAPACITY)]}
        )
    now = timezone.now()
    with transaction.atomic():
        presence = _presence_for_update(agent.pk)
        fields = ["updated_at", "last_seen_at"]
        presence.last_seen_at = now
        if status is not None and status != presence.status:
            presence.status = status
            presence.status_changed_at = now
            fields += ["status", "status_changed_at"]
            _log_presence(agent.pk, status, now=now)
        if capacity is not None:
            presence.capacity = int(capacity)
            fields.append("capacity")
        if languages is not None:
            presence.languages = " ".join(languages.split())[:100]
            fields.append("languages")
        presence.save(update_fields=fields)
        _presence_changed(agent.pk)
        if presence.status == PresenceStatus.ONLINE:
            _dispatch_on_commit(_agent_team_ids(agent.pk))
    return presence


def do_agent_connected(*, agent: User) -> AgentPresence:
    with transaction.atomic():
        presence = _presence_for_update(agent.pk)
        presence.connections += 1
        presence.last_seen_at = timezone.now()
        presence.save(update_fields=["connections", "last_seen_at", "updated_at"])
    return presence


def do_agent_disconnected(*, agent: User) -> None:
    """The agent's status stays: a reload must not drop them; the sweep notices a real departure."""
    AgentPresence.objects.filter(user=agent, connections__gt=0).update(
        connections=F("connections") - 1, last_seen_at=timezone.now()
    )


def do_agent_heartbeat(*, agent: User) -> None:
    AgentPresence.objects.filter(user=agent).update(last_seen_at=timezone.now())


@dataclass
class AgentPost:
    message: Message
    duplicate: bool = False


def plan_agent_message(
    *,
    conversation: ChatConversation,
    agent: User,
    client_id: Any,
    text: Any,
    internal: bool = False,
    origin: str = "",
) -> FastPost | None:
    """The hot-path post for an agent's reply or note in a queued or active chat, or None where
    the general path must decide. No database access; raises ``ValidationError`` for an empty
    or oversized text and ``PermissionDenied`` for a non-agent."""
    text = _clean_text(text)
    if not agent.is_agent:
        raise PermissionDenied
    if conversation.status not in (ChatStatus.QUEUED, ChatStatus.ACTIVE):
        return None
    return FastPost(
        conversation=conversation,
        sender=Sender.AGENT,
        kind=MessageKind.INTERNAL if internal else MessageKind.PUBLIC,
        author=agent,
        client_id=_clean_client_id(client_id),
        # Agents paste too: a customer's key quoted back must not be stored either.
        text=guard.redact(text, language=conversation.language),
        statuses=(ChatStatus.QUEUED, ChatStatus.ACTIVE) if internal else (ChatStatus.ACTIVE,),
        condition=None if internal or agent.is_supervisor else ("assignee", agent.pk),
        fields={} if internal else {"agent_message_at": timezone.now()},
        first_response=not internal,
        origin=origin,
    )


def check_agent_message(
    *,
    conversation: ChatConversation,
    agent: User,
    client_id: str,
    text: str,
    internal: bool = False,
    origin: str = "",
    try_fast: bool = True,
) -> AgentPost:
    """An agent's reply (or, ``internal``, a note customers never see) in a chat they handle.

    ``try_fast=False``: the caller tried :func:`plan_agent_message` already.
    """
    if try_fast:
        plan = plan_agent_message(
            conversation=conversation,
            agent=agent,
            client_id=client_id,
            text=text,
            internal=internal,
            origin=origin,
        )
        if plan is not None and (fast := do_post_fast([plan])[0]) is not None:
            return AgentPost(message=fast[0], duplicate=fast[1])
    text = _clean_text(text)
    client_id = _clean_client_id(client_id)
    if not agent.is_agent:
        raise PermissionDenied
    # Agents paste too: a customer's key quoted back must not be stored either.
    redacted = guard.redact(text, language=conversation.language)
    now = timezone.now()
    with transaction.atomic():
        conversation = _lock(conversation)
        existing = _existing(conversation, client_id)
        if existing is not None:
            return AgentPost(message=existing, duplicate=True)
        if conversation.status == ChatStatus.CLOSED:
            raise ValidationError({"text": [_("This chat has ended.")]})
        if not internal and conversation.assignee_id != agent.pk and not agent.is_supervisor:
            raise PermissionDenied
        update: dict[str, Any] = {}
        if not internal:
            update["agent_message_at"] = now
            if conversation.first_response_at is None:
                update["first_response_at"] = now
        message = _append(
            conversation,
            sender=Sender.AGENT,
            kind=MessageKind.INTERNAL if internal else MessageKind.PUBLIC,
            text=redacted,
            author=agent,
            client_id=client_id,
            also=update,
            origin=origin,
        )
    return AgentPost(message=message)


def do_mark_read(*, conversation: ChatConversation, by_customer: bool, seq: int) -> int | None:
    """Record how far one side has read; returns the new mark, or None when it did not move."""
    try:
        seq = int(seq)
    except (TypeError, ValueError):
        return None
    field_name = "customer_read_seq" if by_customer else "agent_read_seq"
    # A conditional UPDATE: marks only move forward (and never past the last message), with
    # neither a lock nor a race.
    moved = ChatConversation.objects.filter(
        pk=conversation.pk, ticket__last_seq__gte=seq, **{f"{field_name}__lt": seq}
    ).update(**{field_name: seq})
    if not moved:
        return None
    events.publish(
        events.conversation_group(conversation.public_id),
        {
            "type": "chat.read",
            "conversation": _hex(conversation),
            "by": "customer" if by_customer else "agent",
            "seq": seq,
        },
    )
    return seq


def do_customer_connected(*, conversation: ChatConversation) -> None:
    ChatConversation.objects.filter(pk=conversation.pk).update(
        customer_connections=F("customer_connections") + 1, customer_seen_at=timezone.now()
    )


def do_customer_disconnected(*, conversation: ChatConversation) -> None:
    ChatConversation.objects.filter(pk=conversation.pk, customer_connections__gt=0).update(
        customer_connections=F("customer_connections") - 1, customer_seen_at=timezone.now()
    )


def do_customer_heartbeat(*, conversation: ChatConversation) -> None:
    ChatConversation.objects.filter(pk=conversation.pk).update(customer_seen_at=timezone.now())


def do_accept(*, conversation: ChatConversation, agent: User) -> ChatConversation:
    """An agent takes a waiting chat from the queue themselves (also beyond their capacity)."""
    if not agent.is_agent:
        raise PermissionDenied
    if not selectors.may_take(agent, conversation):
        raise PermissionDenied
    with transaction.atomic():
        # NOWAIT-free and race-free: a chat a dispatcher is assigning right now is skipped, and
        # the agent is told someone else got it.
        locked = (
            ChatConversation.objects.select_for_update(skip_locked=True)
            .filter(pk=conversation.pk, status=ChatStatus.QUEUED)
            .first()
        )
        if locked is None:
            raise ValidationError(_("Another agent has already taken this chat."))
        presence = _presence_for_update(agent.pk)
        _assign(locked, presence, by=agent)
    return locked


def do_transfer(
    *,
    conversation: ChatConversation,
    actor: User,
    to_agent: User | None = None,
    to_team: Team | None = None,
    note: str = "",
) -> ChatConversation:
    """Hand a chat to another agent directly, or back to a team's queue (keeping its place)."""
    if not actor.is_agent:
        raise PermissionDenied
    if (to_agent is None) == (to_team is None):
        raise ValidationError(_("Choose an agent or a team."))
    # Redact before cutting: a cut can leave too little of a phrase for the guard to see.
    note = guard.redact((note or "").strip(), language=conversation.language)[:MAX_TEXT]
    with transaction.atomic():
        conversation = _lock(conversation)
        if conversation.status not in (ChatStatus.ACTIVE, ChatStatus.QUEUED):
            raise ValidationError(_("Only an open chat can be transferred."))
        if conversation.assignee_id != actor.pk and not actor.is_supervisor:
            raise PermissionDenied
        if to_agent is not None and (not to_agent.is_agent or not to_agent.is_active):
            raise ValidationError(_("Chats can only be transferred to support staff."))
        # Both agents' rows, in id order: two opposite transfers must not deadlock.
        involved = sorted({pk for pk in (conversation.assignee_id, to_agent.pk if to_agent else None) if pk})
        locked = {pk: _presence_for_update(pk) for pk in involved}
        previous_team = conversation.team_id
        previous_agent = _release(conversation)
        if to_agent is not None:
            presence = locked[to_agent.pk]
            with override(conversation.language):
                text = _("Transferred to {agent}.").format(agent=selectors.agent_public_name(to_agent))
            _internal_event(conversation, actor=actor, text=text, note=note)
            _assign(conversation, presence, by=actor)
            target = {"agent": to_agent.email}
        else:
            assert to_team is not None
            conversation.status = ChatStatus.QUEUED
            conversation.assignee = None
            conversation.team = to_team
            conversation.save(update_fields=["status", "assignee", "team", "updated_at"])
            with override(conversation.language):
                _system(
                    conversation,
                    _("You are being transferred to {team}. Please stay in the chat.").format(
                        team=to_team.localized_name(conversation.language)
                    ),
                    event="transferred",
                )
                _internal_event(conversation, actor=actor, text=_("Transferred to the queue."), note=note)
            _publish_status(conversation)
            _queue_changed(previous_team, to_team.pk)
            _dispatch_on_commit([to_team.pk])
            target = {"team": to_team.slug}
        do_record(
            actor=actor,
            action="chat.transferred",
            target_type="chat",
            target_id=str(conversation.public_id),
            data={"from_agent": previous_agent, **target},
        )
        if previous_agent is not None:
            _dispatch_on_commit(_agent_team_ids(previous_agent))
    return conversation


def _internal_event(conversation: ChatConversation, *, actor: User, text: str, note: str) -> None:
    body = text + (("\n" + note) if note else "")
    _append(conversation, sender=Sender.AGENT, kind=MessageKind.INTERNAL, author=actor, text=body)


def do_escalate(*, conversation: ChatConversation, actor: User, reason: str) -> ChatConversation:
    """升级: the chat goes back to its team's queue for the next tier, with the reason as a note."""
    if not actor.is_agent:
        raise PermissionDenied
    reason = guard.redact((reason or "").strip(), language=conversation.language)[:MAX_TEXT]
    if not reason:
        raise ValidationError({"reason": [_("Please give a reason for the escalation.")]})
    with transaction.atomic():
        conversation = _lock(conversation)
        if conversation.status != ChatStatus.ACTIVE:
            raise ValidationError(_("Only a chat with an agent can be escalated."))
        if conversation.assignee_id != actor.pk and not actor.is_supervisor:
            raise PermissionDenied
        if conversation.tier >= MAX_TIER:
            raise ValidationError({"reason": [_("This chat is already at the highest tier.")]})
        previous_agent = _release(conversation)
        conversation.tier += 1
        conversation.status = ChatStatus.QUEUED
        conversation.assignee = None
        conversation.save(update_fields=["tier", "status", "assignee", "updated_at"])
        with override(conversation.language):
            _internal_event(
                conversation,
                actor=actor,
                text=_("Escalated to tier {tier}:").format(tier=conversation.tier),
                note=reason,
            )
            _system(
                conversation,
                _("A specialist will take over your chat. Please stay in the chat."),
                event="escalated",
            )
        do_record(
            actor=actor,
            action="chat.escalated",
            target_type="chat",
            target_id=str(conversation.public_id),
            data={"to_tier": conversation.tier, "reason": reason},
        )
        _publish_status(conversation)
        _queue_changed(conversation.team_id)
        _dispatch_on_commit([conversation.team_id])
        if previous_agent is not None:
            _dispatch_on_commit(_agent_team_ids(previous_agent))
    return conversation


def do_close(*, conversation: ChatConversation, actor: User | None, reason: str) -> ChatConversation:
    """End a chat: free the agent's slot, open its case to the team (its status follows the
    reason), ask for a rating. Nothing is copied: the case's thread holds the chat."""
    if reason not in CloseReason.values:
        raise ValidationError(_("Unknown reason."))
    with transaction.atomic():
        conversation = _lock(conversation)
        if conversation.status == ChatStatus.CLOSED:
            return conversation
        was_queued = conversation.status == ChatStatus.QUEUED
        agent_id = _release(conversation, notify=False)
        conversation.status = ChatStatus.CLOSED
        conversation.closed_at = timezone.now()
        conversation.close_reason = reason
        conversation.save(update_fields=["status", "closed_at", "close_reason", "updated_at"])
        with override(conversation.language):
            _system(conversation, _("The chat has ended."), event="closed", reason=reason)
        if conversation.queued_at is not None and conversation.customer_id is not None:
            try:
                with transaction.atomic():
                    _close_case(conversation, reason=reason)
            except (ValidationError, PermissionDenied):
                # The chat still closes; its case keeps the messages either way.
                logger.exception("could not update the case of chat %s", conversation.public_id)
        # CSAT (kefu.csat) creates the survey of a served chat inside this transaction.
        publish_event(ChatClosed(conversation=conversation, agent_id=agent_id, reason=reason))
        survey = csat_selectors.chat_survey(conversation.pk)
        do_record(
            actor=actor,
            action="chat.closed",
            target_type="chat",
            target_id=str(conversation.public_id),
            data={
                "reason": reason,
                "ticket": opened.case_number if (opened := selectors.opened_case(conversation)) else None,
            },
        )
        _publish_status(conversation, csat=survey.token if survey else None)
        if agent_id is not None:
            _unassigned(conversation, agent_id)
        if was_queued:
            _queue_changed(conversation.team_id)
        if agent_id is not None:
            _dispatch_on_commit(_agent_team_ids(agent_id))
    return conversation


def check_customer_close(*, conversation: ChatConversation, customer: User | None) -> ChatConversation:
    """The customer ends their chat with a human (waiting or talking). A conversation with the bot
    only has nothing to end: it stays as it is (the panel offers no "end chat" then)."""
    status = ChatConversation.objects.filter(pk=conversation.pk).values_list("status", flat=True).first()
    if status not in (ChatStatus.QUEUED, ChatStatus.ACTIVE):
        raise ValidationError(_("There is no chat with an agent to end."))
    return do_close(conversation=conversation, actor=customer, reason=CloseReason.CUSTOMER)


def _close_case(conversation: ChatConversation, *, reason: str) -> None:
    """The case of a chat a human was asked for, as the chat ends: it leaves the bot's stage (or
    is reopened), the agent who handled the chat keeps it, and a resolved or idle chat sets its
    status. The thread holds the chat already: nothing is copied."""
    from kefu.tickets.actions import TRANSITIONS, check_add_message
    from kefu.tickets.models import Channel, Status

    customer = conversation.customer
    if customer is None:  # only a signed-in customer's chat reaches an agent (do_enqueue)
        logger.warning("chat %s has no customer to open its case for", conversation.public_id)
        return
    agent = conversation.assignee or _last_agent(conversation)
    wanted = {
        CloseReason.RESOLVED: Status.RESOLVED,
        CloseReason.IDLE: Status.PENDING_CUSTOMER,
    }.get(CloseReason(reason))
    with override(conversation.language):
        ticket = _open_case(conversation, customer=customer)
    if ticket is None or agent is None:
        return
    if ticket.assignee_id is None:
        _assign_to_handler(ticket, agent)
    if wanted is not None and wanted in TRANSITIONS.get(ticket.status, set()):
        # A note of the chat's channel carries the change: the chat's own survey rates it
        # (CSAT asks once per resolution), and the thread says why the status moved.
        with override(conversation.language):
            check_add_message(
                ticket=ticket,
                author=agent,
                body=_("Handled in live chat."),
                kind=MessageKind.INTERNAL,
                channel=Channel.CHAT,
                new_status=wanted,
            )


def _open_case(conversation: ChatConversation, *, customer: User) -> Ticket | None:
    """The chat's case, opened to the team now that the chat ends (it stayed in the bot's stage,
    outside the ticket queues, while the chat served it; one the customer had resolved before is
    reopened). None when the chat has no case (a chat from before cases)."""
    from kefu.bot.handoff import case_summary, ticket_fields
    from kefu.tickets import stages
    from kefu.tickets.models import Channel, Ticket

    case = Ticket.objects.filter(pk=conversation.ticket_id).first() if conversation.ticket_id else None
    if case is None or case.merged_into_id is not None:
        return case
    with override(conversation.language):
        title = _("Chat: {topic}").format(topic=selectors.topic(conversation))
        description = case_summary(
            intent=conversation.intent or None, slots=conversation.slots or {}, reason="requested"
        )
    ticket = stages.do_open_to_humans(
        ticket=case,
        title=title,
        description=description,
        channel=Channel.CHAT,
        category=conversation.category,
        priority=conversation.priority,
        security=conversation.security,
        facts=stages.Facts(**ticket_fields(conversation.slots or {})),
        actor=customer,
    )
    conversation.ticket = ticket
    ChatConversation.objects.filter(pk=conversation.pk).update(ticket=ticket)
    return ticket


def _assign_to_handler(ticket: Ticket, agent: User) -> None:
    """The agent who handled the chat keeps its ticket: follow-ups reach the person who knows the
    case. Where the ticket's team rules them out (a chat transferred across teams), it stays with
    the team's queue; the transcript is filed either way."""
    from kefu.tickets.actions import do_assign

    try:
        with transaction.atomic():
            do_assign(ticket=ticket, actor=agent, assignee=agent)
    except (ValidationError, PermissionDenied):
        logger.info("chat ticket %s left unassigned: %s is not in its team", ticket.case_number, agent.pk)


def _last_agent(conversation: ChatConversation) -> User | None:
    from kefu.tickets.models import Channel

    message = (
        Message.objects.filter(
            ticket_id=selectors.case_id(conversation), channel=Channel.CHAT, sender=Sender.AGENT, author__isnull=False
        )
        .select_related("author")
        .order_by("-seq")
        .first()
    )
    return message.author if message else None


def do_convert_to_ticket(*, conversation: ChatConversation, actor: User) -> Any:
    """Continue the chat as a ticket (assigned to the converting agent); the chat closes."""
    if not actor.is_agent:
        raise PermissionDenied
    if conversation.customer_id is None:
        raise ValidationError(_("An anonymous chat cannot become a ticket."))
    if conversation.assignee_id != actor.pk and not actor.is_supervisor:
        raise PermissionDenied
    with transaction.atomic():
        conversation = do_close(conversation=conversation, actor=actor, reason=CloseReason.TICKET)
        ticket = conversation.ticket
        if ticket is not None:
            with transaction.atomic():
                locked = _lock(conversation)
                with override(conversation.language):
                    _system(
                        locked,
                        _("Your chat continues as ticket {case}. We will reply there.").format(
                            case=ticket.case_number
                        ),
                        event="ticket",
                        case_number=ticket.case_number,
                        url=selectors.ticket_url(ticket),
                    )
    return ticket


@dataclass
class Choice:
    conversation: ChatConversation
    case_number: str = ""
    callback: CallbackRequest | None = None


def check_customer_choice(
    *, conversation: ChatConversation, customer: User, choice: str, phone: str = ""
) -> Choice:
    """Instead of waiting: leave a ticket with the transcript, or ask to be called back."""
    if conversation.customer_id != customer.pk:
        raise PermissionDenied
    if conversation.status not in (ChatStatus.QUEUED, ChatStatus.BOT):
        raise ValidationError(_("This chat is no longer waiting."))
    if choice not in ("ticket", "callback"):
        raise ValidationError(_("Unknown choice."))
    number = ""
    if choice == "callback":
        number = _clean_phone(phone, customer=customer)
    with transaction.atomic():
        if conversation.status == ChatStatus.BOT:
            # Filing a ticket straight from the bot: the transcript needs a queue entry to go with.
            conversation.queued_at = conversation.queued_at or timezone.now()
            ChatConversation.objects.filter(pk=conversation.pk).update(queued_at=conversation.queued_at)
        reason = CloseReason.TICKET if choice == "ticket" else CloseReason.CALLBACK
        conversation = do_close(conversation=conversation, actor=customer, reason=reason)
        ticket = conversation.ticket
        callback = None
        if choice == "callback":
            callback = CallbackRequest.objects.create(
                customer=customer, conversation=conversation, ticket=ticket, phone=number
            )
            if ticket is not None:
                from kefu.tickets.actions import check_add_message
                from kefu.tickets.models import Channel
                from kefu.tickets.models import MessageKind as TicketMessageKind

                with override(conversation.language):
                    check_add_message(
                        ticket=ticket,
                        author=customer,
                        body=_("Please call me back at {phone}.").format(phone=number),
                        kind=TicketMessageKind.PUBLIC,
                        channel=Channel.PHONE,
                    )
        locked = _lock(conversation)
        with override(conversation.language):
            if choice == "ticket":
                text = _("We filed your request as ticket {case}. We will reply there.")
            else:
                text = _("We will call you back at {phone}. Your case number is {case}.")
            _system(
                locked,
                text.format(case=ticket.case_number if ticket else "", phone=number),
                event=choice,
                case_number=ticket.case_number if ticket else "",
                url=selectors.ticket_url(ticket) if ticket else "",
            )
    return Choice(
        conversation=conversation, case_number=ticket.case_number if ticket else "", callback=callback
    )


def _clean_phone(phone: str, *, customer: User) -> str:
    raw = guard.redact((phone or customer.phone or "").strip())[:40]  # redact, then cut
    try:
        parsed = phonenumbers.parse(raw, "CN")
    except phonenumbers.NumberParseException:
        parsed = None
    if parsed is None or not phonenumbers.is_valid_number(parsed):
        raise ValidationError({"phone": [_("Please enter a valid phone number.")]})
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


# --- the sweep -----------------------------------------------------------------------------------


@dataclass
class SweepReport:
    reminded: int = 0
    closed_idle: int = 0
    abandoned: int = 0
    agents_offline: int = 0
    requeued: int = 0
    assigned: int = 0


def do_sweep(*, now: Any = None) -> SweepReport:
    """Periodic housekeeping; safe to run in several processes at once."""
    now = now or timezone.now()
    report = SweepReport()
    remind_after = timedelta(seconds=float(chat_setting("KEFU_CHAT_IDLE_REMIND_SECONDS")))
    close_after = timedelta(seconds=float(chat_setting("KEFU_CHAT_IDLE_CLOSE_SECONDS")))
    abandon_after = timedelta(seconds=float(chat_setting("KEFU_CHAT_ABANDON_SECONDS")))
    stale_after = timedelta(seconds=float(chat_setting("KEFU_CHAT_AGENT_STALE_SECONDS")))
    requeue_after = timedelta(seconds=float(chat_setting("KEFU_CHAT_REQUEUE_AFTER_SECONDS")))

    # The agent spoke last and the customer has been quiet: remind once, then close.
    waiting_on_customer = ChatConversation.objects.filter(
        status=ChatStatus.ACTIVE, agent_message_at__isnull=False
    ).filter(Q(customer_message_at__isnull=True) | Q(customer_message_at__lt=F("agent_message_at")))
    for conversation in waiting_on_customer.filter(
        reminded_at__isnull=True, agent_message_at__lt=now - remind_after
    ):
        if _remind(conversation, now=now):
            report.reminded += 1
    for conversation in waiting_on_customer.filter(reminded_at__lt=now - close_after):
        do_close(conversation=conversation, actor=None, reason=CloseReason.IDLE)
        report.closed_idle += 1

    # Queued with no connection for a while: the customer left; keep the queue honest.
    for conversation in ChatConversation.objects.filter(
        status=ChatStatus.QUEUED, customer_connections=0, customer_seen_at__lt=now - abandon_after
    ):
        do_close(conversation=conversation, actor=None, reason=CloseReason.ABANDONED)
        report.abandoned += 1

    # Agents whose browser went away without a goodbye stop receiving chats ...
    stale = AgentPresence.objects.exclude(status=PresenceStatus.OFFLINE).filter(
        last_seen_at__lt=now - stale_after
    )
    for presence in stale:
        with transaction.atomic():
            locked = AgentPresence.objects.select_for_update().get(pk=presence.pk)
            if locked.last_seen_at and locked.last_seen_at < now - stale_after:
                # Offline since the last heartbeat (not since the sweep noticed), never before
                # the status it leaves began.
                gone = max(filter(None, (locked.last_seen_at, locked.status_changed_at)), default=now)
                locked.status, locked.connections, locked.status_changed_at = PresenceStatus.OFFLINE, 0, now
                locked.save(update_fields=["status", "connections", "status_changed_at", "updated_at"])
                _log_presence(locked.user_id, PresenceStatus.OFFLINE, now=gone)
                _presence_changed(locked.user_id)
                report.agents_offline += 1
    # ... and, once gone for longer, their chats return to the front of the queue.
    gone = AgentPresence.objects.filter(
        status=PresenceStatus.OFFLINE, status_changed_at__lt=now - requeue_after
    )
    for conversation in ChatConversation.objects.filter(
        status=ChatStatus.ACTIVE, assignee__chat_presence__in=gone
    ).select_related("team"):
        if conversation.team is not None and conversation.assignee is not None:  # assigned by the filter
            try:
                do_transfer(conversation=conversation, actor=conversation.assignee, to_team=conversation.team)
                report.requeued += 1
            except (ValidationError, PermissionDenied):
                continue

    report.assigned = len(do_dispatch())
    return report


def _remind(conversation: ChatConversation, *, now: Any) -> bool:
    with transaction.atomic():
        locked = _lock(conversation)
        if locked.status != ChatStatus.ACTIVE or locked.reminded_at is not None:
            return False
        locked.reminded_at = now
        locked.save(update_fields=["reminded_at", "updated_at"])
        with override(locked.language):
            _system(
                locked,
                _("Are you still there? This chat will close soon if we do not hear from you."),
                event="reminder",
            )
    return True
