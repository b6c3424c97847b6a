"""Sweeps on several workers at once (PostgreSQL): every breach is recorded exactly once."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection

from kefu.audit.models import AuditEvent
from kefu.chat.tests.test_concurrency import in_parallel
from kefu.sla.actions import sweep_due_timers
from kefu.sla.models import SlaPolicy, SlaTimer
from kefu.sla.tests.test_timers import create

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("row locks with SKIP LOCKED need PostgreSQL (set KEFU_DATABASE_URL)")


def test_parallel_sweeps_share_the_work_and_record_each_breach_once(alice, settings):
    settings.KEFU_SLA_WARN_FRACTION = 0
    SlaPolicy.objects.create(name="Fast", first_reply_minutes=1, first_reply_business=False)
    for _ in range(30):
        create(alice)
    later = max(SlaTimer.objects.values_list("due_at", flat=True)) + timedelta(minutes=1)

    results = in_parallel(4, lambda i: sweep_due_timers(now=later, batch=5))
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sum(r.breached for r in results) == 30
    notices = Counter(AuditEvent.objects.filter(action="sla.breached").values_list("target_id", flat=True))
    assert len(notices) == 30 and set(notices.values()) == {1}
