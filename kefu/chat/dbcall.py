"""``db(function)``: run ORM code from a consumer in a database thread (Channels' own
``database_sync_to_async``, minus a needless reconnect for SQLite, and with several threads for
a database server).

SQLite has one writer at a time and no network: one thread (asgiref's thread-sensitive
executor) runs every call, with no hand-over between threads. PostgreSQL answers over a socket
and makes each COMMIT durable with a WAL flush: run one after the other in a single thread, the
calls of a whole server process queue behind each other's round trips and flushes while the
process and the database both idle (measured: one thread 65 % busy, nearly all of it waiting
on the socket, messages seconds late at 1,000 chats). Several threads, each with its own pooled
connection, overlap those waits, and PostgreSQL flushes concurrent commits together.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ParamSpec, TypeVar

from asgiref.sync import SyncToAsync
from django.conf import settings
from django.db import connections


def _close_stale_connections() -> None:
    """What ``close_old_connections`` does at the end of a request, minus reopening SQLite.

    Channels closes every connection before and after each database call when
    ``CONN_MAX_AGE`` is 0 — right for a network connection, pure overhead for SQLite, whose
    connection is a file handle: reopening it for every chat message cost more than the
    message's own queries. Broken and aged-out connections (PostgreSQL) are still closed.
    """
    for connection in connections.all(initialized_only=True):
        if (
            connection.vendor == "sqlite"
            and connection.connection is not None
            and not connection.errors_occurred
        ):
            continue
        connection.close_if_unusable_or_obsolete()


class _DatabaseCall(SyncToAsync):
    def thread_handler(self, loop: Any, *args: Any, **kwargs: Any) -> Any:
        _close_stale_connections()
        try:
            return super().thread_handler(loop, *args, **kwargs)
        finally:
            # A pooled connection goes back to the pool after the call (CONN_MAX_AGE is 0 with
            # the pool): an idle database thread holds none.
            _close_stale_connections()


P = ParamSpec("P")
R = TypeVar("R")

_threads: ThreadPoolExecutor | None = None


def server_thread_count() -> int:
    """The database threads of a process on a database server: half its pool's connections, the
    other half left to page requests and jobs."""
    options = settings.DATABASES["default"].get("OPTIONS", {})
    pool = options.get("pool")
    size = pool.get("max_size", 16) if isinstance(pool, dict) else 16
    return max(2, size // 2)


def _server_threads() -> ThreadPoolExecutor:
    global _threads
    if _threads is None:
        _threads = ThreadPoolExecutor(max_workers=server_thread_count(), thread_name_prefix="kefu-db")
    return _threads


def db(function: Callable[P, R]) -> Callable[P, Coroutine[Any, Any, R]]:
    """``function`` as a coroutine function run in a database thread."""
    if connections["default"].vendor == "sqlite":
        return _DatabaseCall(function)
    return _DatabaseCall(function, thread_sensitive=False, executor=_server_threads())
