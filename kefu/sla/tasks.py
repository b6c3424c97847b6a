"""SLA jobs: the periodic sweep of due timers and the recalculation after a policy change.
Both are idempotent: a sweep marks a row once (conditional update), and recalculating twice
gives the same deadlines."""

from __future__ import annotations

from django.conf import settings

from kefu.jobs.engine import job, periodic_job


def _sweep_seconds() -> float:
    return float(settings.KEFU_SLA_SWEEP_SECONDS)


@periodic_job(_sweep_seconds)
def sweep() -> None:
    """Warnings and breaches that fell due since the last sweep."""
    from kefu.sla.actions import sweep_due_timers

    sweep_due_timers()


@job()
def recalculate(policy_id: int | None = None) -> None:
    """Re-plan open timers after a policy (or calendar) changed."""
    from kefu.sla.actions import recalculate_open_timers

    recalculate_open_timers(policy_id=policy_id)
