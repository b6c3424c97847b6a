from __future__ import annotations

from typing import Any

from kefu.accounts.models import User
from kefu.audit.models import AuditEvent


def do_record(
    *,
    actor: User | None,
    action: str,
    target_type: str,
    target_id: str,
    data: dict[str, Any] | None = None,
    ip_address: str | None = None,
) -> AuditEvent:
    """Append an audit event. Call inside the transaction of the change it records."""
    if actor is not None and not actor.is_authenticated:
        actor = None
    return AuditEvent.objects.create(
        actor=actor,
        action=action,
        target_type=target_type,
        target_id=target_id,
        data=data or {},
        ip_address=ip_address,
    )
