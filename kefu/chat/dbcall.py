"""``db(function)``: run ORM code from a consumer in the database thread (Channels' own
``database_sync_to_async``, minus a needless reconnect for SQLite)."""

from __future__ import annotations

from typing import Any

from asgiref.sync import SyncToAsync
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
        return super().thread_handler(loop, *args, **kwargs)


db = _DatabaseCall
