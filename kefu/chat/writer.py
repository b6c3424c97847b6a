"""Group commit for chat messages on the server's event loop.

Every WebSocket message of a chat in progress needs a write. One write per trip to the
database thread costs a thread hop, a BEGIN and a COMMIT each — and with SQLite, whose calls
release the GIL, a wait for the busy event loop to hand the GIL back after every statement.
The writer sends what arrived while the previous batch was being written as the next batch,
in one transaction (:func:`kefu.chat.actions.do_post_fast`): nothing waits on purpose, a lone
message goes at once, and under load the cost per message falls.

On SQLite one batch is written at a time (one writer anyway). A database server answers each
statement over a socket, so a batch's time is its statements' round trips: one batch at a time
capped a process at MAX_BATCH messages per batch time, and under load (a busy database, 1,000
chats) messages queued for seconds behind it while the database idled. There several batches
are written at once, each in its own database thread; they lock chat rows, then each chat's
case, in chat-id order (as two processes' batches always could), and a connection posts its
next message only after the last one is stored, so a chat's messages keep their order.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

from django.db import connections

from kefu.accounts.models import User
from kefu.chat import actions, dbcall
from kefu.chat.actions import AgentPost, CustomerPost, FastPost
from kefu.chat.dbcall import db
from kefu.chat.models import ChatConversation

T = TypeVar("T")

MAX_BATCH = 64

FastResult = tuple[Any, bool] | None


def _concurrency() -> int:
    """Batches written at once: one on SQLite; on a database server half the consumers'
    database threads, the rest left to the other calls (hand-offs, reads, the queue)."""
    if connections["default"].vendor == "sqlite":
        return 1
    return max(1, dbcall.server_thread_count() // 2)


class GroupWriter:
    """Batches :class:`FastPost` writes of one event loop."""

    def __init__(self, concurrency: int | None = None) -> None:
        self.pending: list[tuple[FastPost, asyncio.Future[FastResult]]] = []
        self.concurrency = concurrency or _concurrency()
        self.flushing = 0  # batches being written now
        self.batches = 0  # for tests and benchmarks: how many transactions were written
        self.posts = 0

    @property
    def busy(self) -> bool:
        return self.flushing > 0

    async def post(self, post: FastPost) -> FastResult:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[FastResult] = loop.create_future()
        self.pending.append((post, future))
        if self.flushing < self.concurrency:
            self.flushing += 1
            loop.create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        try:
            while self.pending:
                batch, self.pending = self.pending[:MAX_BATCH], self.pending[MAX_BATCH:]
                try:
                    results = await db(actions.do_post_fast)([post for post, _ in batch])
                except Exception as exc:  # every waiting sender learns of it
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                self.batches += 1
                self.posts += len(batch)
                for (_, future), result in zip(batch, results, strict=True):
                    if not future.done():
                        future.set_result(result)
        finally:
            self.flushing -= 1


_writers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, GroupWriter] = weakref.WeakKeyDictionary()


def writer() -> GroupWriter:
    """This event loop's writer."""
    loop = asyncio.get_running_loop()
    found = _writers.get(loop)
    if found is None:
        found = _writers[loop] = GroupWriter()
    return found


async def _group_committed(
    plan: FastPost | None, done: Callable[[tuple[Any, bool]], T], general: Callable[..., T], **arguments: Any
) -> T:
    """Post ``plan`` in the next group commit; where there is no plan, or the batch hands it
    back, run the general path (``general(**arguments, try_fast=False)``) in the database thread."""
    if plan is not None:
        fast = await writer().post(plan)
        if fast is not None:
            return done(fast)
    return await db(general)(**arguments, try_fast=False)


async def post_customer_message(
    *, conversation: ChatConversation, customer: User | None, client_id: Any, text: Any, origin: str = ""
) -> CustomerPost:
    """:func:`actions.check_customer_message`, with the hot path group-committed."""
    arguments = {
        "conversation": conversation,
        "customer": customer,
        "client_id": client_id,
        "text": text,
        "origin": origin,
    }
    return await _group_committed(
        actions.plan_customer_message(**arguments),
        lambda fast: CustomerPost(message=fast[0], duplicate=fast[1], conversation=conversation),
        actions.check_customer_message,
        **arguments,
    )


async def post_agent_message(
    *,
    conversation: ChatConversation,
    agent: User,
    client_id: Any,
    text: Any,
    internal: bool = False,
    origin: str = "",
) -> AgentPost:
    """:func:`actions.check_agent_message`, with the hot path group-committed."""
    arguments = {
        "conversation": conversation,
        "agent": agent,
        "client_id": client_id,
        "text": text,
        "internal": internal,
        "origin": origin,
    }
    return await _group_committed(
        actions.plan_agent_message(**arguments),
        lambda fast: AgentPost(message=fast[0], duplicate=fast[1]),
        actions.check_agent_message,
        **arguments,
    )
