"""Reads of the official-channel registry."""

from __future__ import annotations

from django.db.models import QuerySet

from kefu.trust.models import OfficialChannel


def official_channels(*, kind: str | None = None) -> QuerySet[OfficialChannel]:
    qs = OfficialChannel.objects.all()
    if kind is not None:
        qs = qs.filter(kind=kind)
    return qs.order_by("kind", "normalized")


def official_channel_pairs() -> list[tuple[str, str]]:
    """Every registered ``(kind, normalized)``: one query, the registry is small."""
    return list(OfficialChannel.objects.values_list("kind", "normalized"))
