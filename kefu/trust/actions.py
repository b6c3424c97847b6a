"""State changes of the official-channel registry."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction

from kefu.trust.models import OfficialChannel
from kefu.trust.verifier import normalize

if TYPE_CHECKING:
    from kefu.accounts.models import User


@transaction.atomic
def do_add_official_channel(
    *, kind: str, value: str, label: str = "", actor: User | None = None
) -> OfficialChannel:
    """Register an official channel (idempotent: an existing one keeps its row, label updated).

    The kind may change: a website value that is a t.me or x.com link is stored as that
    handle. Raises :class:`kefu.trust.verifier.InvalidChannelValue` for an unreadable value.
    """
    normalized = normalize(kind, value)
    channel, created = OfficialChannel.objects.get_or_create(
        kind=normalized.kind,
        normalized=normalized.value,
        defaults={"value": value.strip()[:255], "label": label.strip()[:100]},
    )
    if not created and label.strip() and channel.label != label.strip()[:100]:
        channel.label = label.strip()[:100]
        channel.save(update_fields=["label", "updated_at"])
    if created:
        _record(actor, "trust.official_channel_added", channel)
    return channel


@transaction.atomic
def do_update_official_channel(
    *, channel: OfficialChannel, kind: str, value: str, label: str = "", actor: User | None = None
) -> OfficialChannel:
    """Change a registered channel's value, kind or label (re-normalised)."""
    normalized = normalize(kind, value)
    channel.kind = normalized.kind
    channel.value = value.strip()[:255]
    channel.normalized = normalized.value
    channel.label = label.strip()[:100]
    channel.save()
    _record(actor, "trust.official_channel_changed", channel)
    return channel


@transaction.atomic
def do_remove_official_channel(*, channel: OfficialChannel, actor: User | None = None) -> None:
    """Take a channel off the registry (checks of it then say "not official")."""
    _record(actor, "trust.official_channel_removed", channel)
    channel.delete()


def _record(actor: User | None, action: str, channel: OfficialChannel) -> None:
    # Who made what official matters after a scam: the registry's changes are audited.
    from kefu.audit.actions import do_record

    do_record(
        actor=actor,
        action=action,
        target_type="trust.officialchannel",
        target_id=f"{channel.kind}:{channel.normalized}"[:64],
        data={"kind": channel.kind, "normalized": channel.normalized, "label": channel.label},
    )
