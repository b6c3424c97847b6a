"""Process-local copies of small reference tables that every agent page reads.

Categories, canned replies and the staff who can be assigned change when an admin edits them,
not per request, yet each ticket view needs all three: a query each is a third of the page's
database round trips. A :class:`ReferenceCache` loads its table once and keeps it for a fixed
time; saving or deleting a watched model forgets it in this process at once (other server
processes see the change within ``seconds``). Callers treat what :meth:`ReferenceCache.get`
returns as read-only.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

from django.db.models.signals import m2m_changed, post_delete, post_save

T = TypeVar("T")

_ALL: list[ReferenceCache] = []


class ReferenceCache(Generic[T]):
    """``load()``'s result, kept for ``seconds`` or until a watched model changes."""

    def __init__(self, name: str, load: Callable[[], T], *, seconds: float = 60.0) -> None:
        self.name = name
        self._load = load
        self._seconds = seconds
        self._value: tuple[float, T] | None = None
        self._generation = 0
        self._lock = threading.Lock()
        self._receivers: list[Callable[..., None]] = []
        _ALL.append(self)

    def get(self) -> T:
        cached = self._value
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        generation = self._generation
        value = self._load()
        with self._lock:
            # A change that landed while loading wins: keep nothing, the next call reloads.
            if generation == self._generation:
                self._value = (time.monotonic() + self._seconds, value)
        return value

    def forget(self, *_: object, **__: object) -> None:
        with self._lock:
            self._generation += 1
            self._value = None

    def watch(self, *models: type, ignore_fields: frozenset[str] | set[str] = frozenset()) -> None:
        """Forget on save or delete of any of ``models``, and on many-to-many changes through
        them; a save that writes only ``ignore_fields`` (``save(update_fields=...)``) is not a
        change."""

        def saved(*_: object, update_fields: frozenset[str] | None = None, **__: object) -> None:
            if update_fields is None or not set(update_fields) <= ignore_fields:
                self.forget()

        self._receivers.append(saved)  # signals hold receivers weakly by default; keep them
        for model in models:
            post_save.connect(saved, sender=model, dispatch_uid=f"{self.name}-saved-{model.__name__}")
            post_delete.connect(
                self.forget, sender=model, dispatch_uid=f"{self.name}-deleted-{model.__name__}"
            )
            m2m_changed.connect(self.forget, sender=model, dispatch_uid=f"{self.name}-m2m-{model.__name__}")


def forget_all() -> None:
    """Drop every reference cache (tests roll back rows that a cache may still hold)."""
    for cache in _ALL:
        cache.forget()
