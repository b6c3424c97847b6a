"""Domain events: what happened to a case, published explicitly by actions; other apps react.

An action that changes state publishes a typed event inside its transaction
(``events.publish(TicketCreated(...))``), never from a model signal, so a bulk update or a
migration publishes nothing by accident and reading the action shows what it announces.
Subscribers register per event type in their app's ``AppConfig.ready()``, so the publishing
app never imports them (tickets does not know that mail exists):

- ``IN_TRANSACTION``: called synchronously inside the publishing transaction, before the
  action returns. For work that must commit or roll back with the change, such as writing an
  outbox row or a survey. An exception here rolls the whole action back.
- ``ON_COMMIT``: called after the outermost transaction commits (never if it rolls back),
  for side effects outside the database: WebSocket pushes, enqueueing jobs. A failure is
  logged and does not reach the caller, whose change is already committed; anything that
  must not be lost belongs in a row written ``IN_TRANSACTION`` that a job reconciles.

This is Zulip's ``send_event_on_commit`` and Saleor's deferred webhooks, kept to one
explicit registry: no priorities, no inheritance between event types, subscribers of one
type run in the order they registered.

Payloads carry the model instances as the action holds them (a subscriber inside the
transaction sees exactly the state being committed; one after commit should re-read by id
when it needs fresh data).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from functools import partial
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from django.db import transaction

if TYPE_CHECKING:
    # Types only (import-linter skips TYPE_CHECKING imports): events name other apps' models
    # without making this module, or its publishers, depend on those apps at run time.
    from kefu.accounts.models import User
    from kefu.chat.models import ChatConversation
    from kefu.csat.models import CsatSurvey
    from kefu.sla.models import SlaTimer
    from kefu.tickets.models import Message, Ticket

logger = logging.getLogger(__name__)


class When(Enum):
    IN_TRANSACTION = "in_transaction"
    ON_COMMIT = "on_commit"


IN_TRANSACTION = When.IN_TRANSACTION
ON_COMMIT = When.ON_COMMIT


@dataclass(frozen=True)
class Event:
    """Base of every domain event (frozen: a subscriber cannot change what others see)."""


# --- tickets ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TicketCreated(Event):
    """A ticket was opened (any channel); ``message`` is its first message."""

    ticket: Ticket
    message: Message
    # Shown to the customer when their first message had a secret hidden ("" otherwise).
    secret_warning: str = ""


AuthorRole = Literal["customer", "agent", "system"]


@dataclass(frozen=True)
class MessageAdded(Event):
    """A reply or note was added to an existing ticket (not its first message).

    ``ticket`` is the instance the action updated (status already changed when the message
    changed it); ``requested_status`` is the status an agent chose with the message, if any.
    """

    ticket: Ticket
    message: Message
    kind: str  # tickets.MessageKind
    author_role: AuthorRole
    requested_status: str | None = None


@dataclass(frozen=True)
class TicketStatusChanged(Event):
    """A ticket's status changed. ``message`` is set when the change came with a message
    (a reply that resolved, a customer reply that reopened): that message's own
    :class:`MessageAdded` is published too, and announces the change to the customer."""

    ticket: Ticket
    previous: str
    status: str
    actor: User | None
    reason: str
    message: Message | None = None


@dataclass(frozen=True)
class TicketMerged(Event):
    """``source`` was merged into ``target``: its messages and files now belong to ``target``."""

    source: Ticket
    target: Ticket
    actor: User | None


@dataclass(frozen=True)
class TicketAssigned(Event):
    """A ticket's assignee changed (``assignee`` None: unassigned)."""

    ticket: Ticket
    previous_assignee_id: int | None
    assignee: User | None
    actor: User | None


@dataclass(frozen=True)
class TicketReclassified(Event):
    """A ticket's priority or category changed (``changed`` names which), so whatever is
    decided by them (the SLA policy that applies) is decided again. ``actor`` None: the
    system (an SLA breach's automatic escalation)."""

    ticket: Ticket
    changed: tuple[str, ...]
    actor: User | None


# --- live chat ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChatClosed(Event):
    """A live chat ended. ``agent_id`` is the agent who was serving it (None: never served)."""

    conversation: ChatConversation
    agent_id: int | None
    reason: str


# --- satisfaction -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SurveyAnswered(Event):
    """A customer rated a chat or a ticket (or changed their rating)."""

    survey: CsatSurvey
    rating: int


# --- service levels ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SlaWarning(Event):
    """An SLA timer passed its warning point (``KEFU_SLA_WARN_FRACTION`` of its target)."""

    timer: SlaTimer
    ticket: Ticket


@dataclass(frozen=True)
class SlaBreached(Event):
    """An SLA timer passed its deadline unmet."""

    timer: SlaTimer
    ticket: Ticket


# --- registry -----------------------------------------------------------------------------------

E = TypeVar("E", bound=Event)
_subscribers: dict[When, dict[type[Event], list[Callable[[Any], None]]]] = {
    IN_TRANSACTION: {},
    ON_COMMIT: {},
}


def subscribe(event_type: type[E], handler: Callable[[E], None], *, when: When) -> None:
    """Call ``handler(event)`` for every published ``event_type``; from ``AppConfig.ready()``.

    Registering the same handler twice is a no-op (``ready()`` may run again in tests).
    """
    handlers = _subscribers[when].setdefault(event_type, [])
    if handler not in handlers:
        handlers.append(handler)


def unsubscribe(event_type: type[E], handler: Callable[[E], None], *, when: When) -> None:
    """Remove a subscription (tests)."""
    handlers = _subscribers[when].get(event_type, [])
    if handler in handlers:
        handlers.remove(handler)


def publish(event: Event) -> None:
    """Announce ``event`` from inside the action's transaction.

    Runs the in-transaction subscribers now and schedules the on-commit ones. Publishing
    outside a transaction is a programming error: the in-transaction subscribers' writes
    would not be atomic with the change, so it is refused.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError(f"publish({type(event).__name__}) outside a transaction")
    for handler in list(_subscribers[IN_TRANSACTION].get(type(event), ())):
        handler(event)
    for handler in list(_subscribers[ON_COMMIT].get(type(event), ())):
        transaction.on_commit(partial(_run_after_commit, handler, event))


def _run_after_commit(handler: Callable[[Any], None], event: Event) -> None:
    # The change is committed; a failing push or enqueue must not turn the caller's success
    # into an error (nor stop the other subscribers): log it, the reconcile covers jobs.
    try:
        handler(event)
    except Exception:
        logger.exception(
            "%s subscriber %s failed", type(event).__name__, getattr(handler, "__qualname__", handler)
        )
