"""Reads of webhook endpoints and their delivery log."""

from __future__ import annotations

from django.db.models import QuerySet

from kefu.refcache import ReferenceCache
from kefu.webhooks.models import Delivery, Endpoint


def _load_active() -> list[Endpoint]:
    return list(Endpoint.objects.filter(is_active=True).order_by("id"))


# Every ticket event asks which endpoints want it: a process-local copy, so a site without
# webhooks (or with a few) adds no query to each change. Saving an endpoint forgets it here;
# other processes see a change within the cache's 60 s.
_ACTIVE: ReferenceCache[list[Endpoint]] = ReferenceCache("webhook-endpoints", _load_active)
_ACTIVE.watch(Endpoint)


def active_endpoints() -> list[Endpoint]:
    return _ACTIVE.get()


def forget_endpoints() -> None:
    """For updates that bypass ``save()`` (a queryset ``update``), which the cache cannot see."""
    _ACTIVE.forget()


def endpoints() -> QuerySet[Endpoint]:
    return Endpoint.objects.order_by("id")


def endpoint_by_public_id(public_id: str) -> Endpoint | None:
    return Endpoint.objects.filter(public_id=public_id).first()


def deliveries_of(endpoint: Endpoint, *, limit: int = 50) -> list[Delivery]:
    return list(Delivery.objects.filter(endpoint=endpoint).order_by("-id")[:limit])
