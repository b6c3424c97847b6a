"""Domain events: what actions publish, and when subscribers run (kefu/events.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import transaction

from kefu import events
from kefu.accounts.models import Team
from kefu.events import Event, MessageAdded, TicketAssigned, TicketCreated, TicketStatusChanged
from kefu.mail.models import OutboundMail
from kefu.tickets import actions as ticket_actions
from kefu.tickets.models import Category, MessageKind, Status, Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def recorded() -> Iterator[Callable[..., list[Any]]]:
    """``recorded(EventType, when=...)`` subscribes a recorder for the test and returns its list."""
    added: list[tuple[type[Event], Callable[[Any], None], events.When]] = []

    def record(event_type: type[Event], *, when: events.When = events.IN_TRANSACTION) -> list[Any]:
        seen: list[Any] = []
        events.subscribe(event_type, seen.append, when=when)
        added.append((event_type, seen.append, when))
        return seen

    yield record
    for event_type, handler, when in added:
        events.unsubscribe(event_type, handler, when=when)


def _ticket(customer: Any) -> Ticket:
    return ticket_actions.check_create_ticket(
        customer=customer,
        category=Category.objects.get(slug="deposit-not-credited"),
        title="充值未到账",
        description="USDT 充值两小时没有到账",
        language="zh-hans",
    ).ticket


def test_creating_a_ticket_publishes_ticket_created_with_its_first_message(alice, recorded):
    """The event carries the ticket and its first message, inside the creating transaction."""
    seen = recorded(TicketCreated)
    ticket = _ticket(alice)
    [event] = seen
    assert event.ticket.pk == ticket.pk and event.message.ticket_id == ticket.pk
    assert event.message.body == "USDT 充值两小时没有到账" and event.secret_warning == ""


def test_a_reply_that_resolves_publishes_the_message_and_the_status_change(alice, agent, recorded):
    """An agent's public reply choosing "resolved": MessageAdded (role agent) and a status change
    that points at the message; a customer's reply reopening it is published the same way."""
    ticket = _ticket(alice)
    added, changed = recorded(MessageAdded), recorded(TicketStatusChanged)
    reply = ticket_actions.check_add_message(
        ticket=ticket, author=agent, body="已到账", new_status=Status.RESOLVED
    ).message
    [message_event] = added
    assert (message_event.message.pk, message_event.kind, message_event.author_role) == (
        reply.pk,
        MessageKind.PUBLIC,
        "agent",
    )
    assert (
        message_event.requested_status == Status.RESOLVED and message_event.ticket.status == Status.RESOLVED
    )
    [status_event] = changed
    assert (status_event.previous, status_event.status, status_event.reason) == (
        Status.NEW,
        Status.RESOLVED,
        "agent_reply",
    )
    assert status_event.message.pk == reply.pk and status_event.actor == agent

    ticket_actions.check_add_message(ticket=Ticket.objects.get(pk=ticket.pk), author=alice, body="还是没到")
    assert added[-1].author_role == "customer" and added[-1].requested_status is None
    assert (changed[-1].previous, changed[-1].status, changed[-1].reason) == (
        Status.RESOLVED,
        Status.OPEN,
        "customer_reply",
    )


def test_status_change_and_assignment_are_published(alice, supervisor, recorded):
    """A bare status change has no message; assigning a new ticket also opens it."""
    ticket = _ticket(alice)
    changed, assigned = recorded(TicketStatusChanged), recorded(TicketAssigned)
    ticket_actions.do_assign(ticket=ticket, actor=supervisor, assignee=supervisor)
    [assignment] = assigned
    assert assignment.previous_assignee_id is None and assignment.assignee == supervisor
    assert [(e.previous, e.status, e.reason) for e in changed] == [(Status.NEW, Status.OPEN, "assigned")]
    ticket_actions.do_change_status(ticket=ticket, actor=supervisor, status=Status.RESOLVED)
    assert (changed[-1].status, changed[-1].reason, changed[-1].message) == (Status.RESOLVED, "manual", None)


def test_in_transaction_subscribers_roll_back_with_the_action(alice, settings):
    """What an in-transaction subscriber writes (here a team; in mail, the outbox row) is undone
    when the publishing transaction rolls back."""
    settings.KEFU_MAIL_NOTIFICATIONS = True

    def write(event: TicketCreated) -> None:
        Team.objects.create(slug=f"t-{event.ticket.pk}", name_zh="临时", name_en="Temp")

    events.subscribe(TicketCreated, write, when=events.IN_TRANSACTION)
    try:
        with pytest.raises(RuntimeError), transaction.atomic():
            ticket = _ticket(alice)
            assert Team.objects.filter(slug=f"t-{ticket.pk}").exists()
            assert OutboundMail.objects.filter(ticket=ticket).exists()  # mail's acknowledgement
            raise RuntimeError("the caller fails after the action")
    finally:
        events.unsubscribe(TicketCreated, write, when=events.IN_TRANSACTION)
    assert not Team.objects.filter(slug__startswith="t-").exists()
    assert not Ticket.objects.exists() and not OutboundMail.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_an_in_transaction_subscriber_that_fails_rolls_the_action_back(alice):
    """A subscriber inside the transaction is part of the action: its error undoes the change.

    Without the test's own wrapping transaction: inside a caller's transaction a create takes no
    savepoint (a failure fails the caller's whole unit of work, ``do_create_ticket``), so the
    caller's transaction — here the test's — could not be read from afterwards."""

    def fail(event: TicketCreated) -> None:
        raise ValueError("subscriber failed")

    events.subscribe(TicketCreated, fail, when=events.IN_TRANSACTION)
    try:
        with pytest.raises(ValueError):
            _ticket(alice)
    finally:
        events.unsubscribe(TicketCreated, fail, when=events.IN_TRANSACTION)
    assert not Ticket.objects.exists() and not OutboundMail.objects.exists()


def test_on_commit_subscribers_run_after_commit_and_never_after_a_rollback(
    alice, recorded, django_capture_on_commit_callbacks
):
    """After commit: run once; rolled back: never."""
    seen = recorded(TicketCreated, when=events.ON_COMMIT)
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError), transaction.atomic():
            _ticket(alice)
            assert seen == []  # not inside the transaction
            raise RuntimeError("rolled back")
    assert seen == []
    with django_capture_on_commit_callbacks(execute=True):
        ticket = _ticket(alice)
        assert seen == []
    assert [event.ticket.pk for event in seen] == [ticket.pk]


def test_a_failing_on_commit_subscriber_neither_fails_the_caller_nor_stops_the_others(
    alice, recorded, django_capture_on_commit_callbacks
):
    """The change is committed: a failing push is logged, the next subscriber still runs."""

    def fail(event: TicketCreated) -> None:
        raise ValueError("push failed")

    events.subscribe(TicketCreated, fail, when=events.ON_COMMIT)
    try:
        seen = recorded(TicketCreated, when=events.ON_COMMIT)
        with django_capture_on_commit_callbacks(execute=True):
            ticket = _ticket(alice)
    finally:
        events.unsubscribe(TicketCreated, fail, when=events.ON_COMMIT)
    assert [event.ticket.pk for event in seen] == [ticket.pk]


@pytest.mark.django_db(transaction=True)
def test_publishing_outside_a_transaction_is_refused():
    """In-transaction subscribers would not be atomic with the change: refused loudly."""
    with pytest.raises(RuntimeError, match="outside a transaction"):
        events.publish(Event())
