"""A case's thread: the one way a message is added to a case, from any channel.

Messages are numbered per case, 1, 2, 3 ... without gaps: each number is taken from the case
row's ``last_seq`` by one ``UPDATE ... RETURNING``, which holds that row's lock until the
caller's transaction ends, so two writers to one case are ordered and never share a number
(SQLite serialises all writers anyway: Kefu opens its transactions ``IMMEDIATE``). Callers
guard the text first: nothing reaches this module unscreened.
"""

from __future__ import annotations

from typing import Any

from django.db import connection, transaction

from kefu import rowlookup
from kefu.accounts.models import User
from kefu.tickets.models import Channel, Message, MessageKind, Sender, Ticket


def next_seq(ticket_id: int, *, count: int = 1) -> int:
    """Reserve ``count`` numbers on a case; returns the last one. Call inside a transaction."""
    assert connection.in_atomic_block, "a message number is taken inside the writer's transaction"
    table = Ticket._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET last_seq = last_seq + %s WHERE id = %s RETURNING last_seq",  # noqa: S608
            [count, ticket_id],
        )
        row = cursor.fetchone()
    if row is None:
        raise Ticket.DoesNotExist(ticket_id)
    return int(row[0])


def sender_of(ticket: Ticket, author: User | None, kind: str) -> str:
    """Who wrote a message, when the caller only knows its author and kind."""
    if kind == MessageKind.SYSTEM:
        return Sender.SYSTEM
    if author is None:
        return Sender.CUSTOMER if kind == MessageKind.PUBLIC else Sender.SYSTEM
    if author.pk == ticket.customer_id or not author.is_agent:
        return Sender.CUSTOMER
    return Sender.AGENT


def append(
    ticket: Ticket,
    *,
    body: str,
    kind: str = MessageKind.PUBLIC,
    channel: str = Channel.PORTAL,
    author: User | None = None,
    sender: str | None = None,
    client_id: str = "",
    external_id: str = "",
    extra: dict[str, Any] | None = None,
    first: bool = False,
) -> Message:
    """Add a message to the case's thread with the next number; returns it (saved).

    ``first``: the case row was inserted by the caller's transaction with ``last_seq=1``
    reserved for this message (its lock is held until that transaction ends): no UPDATE.
    """
    # A transaction if the caller has none, but no savepoint inside the caller's: nobody
    # recovers from a failed append half-way (an error rolls back the caller's whole unit of
    # work), and a savepoint pair is two of a create's database round trips.
    with transaction.atomic(savepoint=False):
        if first:
            assert ticket.last_seq == 1 and not ticket._state.adding, "first: the case is inserted with last_seq=1"
            seq = 1
        else:
            seq = next_seq(ticket.pk)
        # Every message of every channel: the INSERT's SQL built once (kefu.rowlookup).
        message = Message(
            ticket=ticket,
            seq=seq,
            author=author,
            sender=sender or sender_of(ticket, author, kind),
            kind=kind,
            body=body,
            channel=channel,
            client_id=client_id,
            external_id=external_id,
            extra=extra or {},
        )
        rowlookup.insert(message)
    ticket.last_seq = seq
    return message


def renumber_into(target: Ticket, messages: list[Message]) -> None:
    """Move messages from another case to the end of ``target``'s thread (a merge), in order."""
    if not messages:
        return
    last = next_seq(target.pk, count=len(messages))
    first = last - len(messages) + 1
    for offset, message in enumerate(messages):
        message.ticket = target
        message.seq = first + offset
    # One statement per row would collide with the target's numbers half-way only if they
    # overlapped; the new numbers are all above the target's last, so plain updates are safe.
    Message.objects.bulk_update(messages, ["ticket", "seq"])
    target.last_seq = last
