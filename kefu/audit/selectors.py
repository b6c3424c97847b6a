from __future__ import annotations

from django.db.models import QuerySet

from kefu.audit.models import AuditEvent


def events_for(*, target_type: str, target_id: str) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(target_type=target_type, target_id=target_id).select_related("actor")
