"""Reads of the official-channel registry."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from kefu.trust.models import ChannelKind, OfficialChannel


def official_channels(*, kind: str | None = None) -> QuerySet[OfficialChannel]:
    qs = OfficialChannel.objects.all()
    if kind is not None:
        qs = qs.filter(kind=kind)
    return qs.order_by("kind", "normalized")


def official_channel_pairs() -> list[tuple[str, str]]:
    """Every registered ``(kind, normalized)``: one query, the registry is small."""
    return list(OfficialChannel.objects.values_list("kind", "normalized"))


@dataclass(frozen=True)
class ChannelGroup:
    kind: str
    label: str
    channels: list[str]  # as customers write them


def official_channel_groups() -> list[ChannelGroup]:
    """The registry as customers read it: grouped by kind in ChannelKind's order, handles with
    their "@", internationalised domains in the Unicode form browsers show."""
    from kefu.trust.verifier import unicode_form

    by_kind: dict[str, list[str]] = {}
    for channel in official_channels():
        shown = channel.normalized
        if channel.kind in (ChannelKind.TELEGRAM, ChannelKind.X) and not shown.startswith(("+", "-")):
            shown = "@" + shown
        else:
            shown = unicode_form(channel.kind, shown) or shown
        # The admin's label is internal English text; the kind heading is translated.
        by_kind.setdefault(channel.kind, []).append(shown)
    return [
        ChannelGroup(kind=kind.value, label=str(kind.label), channels=by_kind[kind.value])
        for kind in ChannelKind
        if kind.value in by_kind
    ]
