from __future__ import annotations

from typing import Any

from django.conf import settings

from kefu import rowlookup
from kefu.accounts.models import User
from kefu.audit.models import AuditEvent
from kefu.trust import guard

TARGET_ID_MAX = AuditEvent._meta.get_field("target_id").max_length


def do_record(
    *,
    actor: User | None,
    action: str,
    target_type: str,
    target_id: str,
    data: dict[str, Any] | None = None,
    ip_address: str | None = None,
) -> AuditEvent:
    """Append an audit event. Call inside the transaction of the change it records.

    Some targets are whatever someone typed (the username of a failed sign-in), so every text
    stored here passes the secret guard: ``target_id`` (pass it whole — it is redacted first,
    then cut to fit) and every string in ``data``, keys included.
    """
    if actor is not None and not actor.is_authenticated:
        actor = None
    # Every change writes one: the INSERT's SQL built once (kefu.rowlookup).
    event = AuditEvent(
        actor=actor,
        action=action,
        target_type=target_type,
        target_id=_screened_target_id(target_id),
        data=_screened(data or {}),
        ip_address=ip_address,
    )
    return rowlookup.insert(event)[0]


def _screened_target_id(value: str) -> str:
    value = guard.redact(str(value), language=settings.LANGUAGE_CODE)[:TARGET_ID_MAX]
    # A caller that cut the text to fit may have cut a phrase below the 12 words the guard
    # needs without context; an identifier holding 9+ list words in a row is no identifier.
    return guard.scan_answer(value, asked="seed phrase:", language=settings.LANGUAGE_CODE).redacted[
        :TARGET_ID_MAX
    ]


def _screened(value: Any) -> Any:
    if isinstance(value, str):
        return guard.redact(value, language=settings.LANGUAGE_CODE)
    if isinstance(value, dict):
        return {_screened(k) if isinstance(k, str) else k: _screened(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_screened(v) for v in value]
    return value
