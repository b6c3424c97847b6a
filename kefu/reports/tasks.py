"""Report jobs: the periodic refresh of the rollups (days changed since their build, recent
days not built yet). Idempotent: a day is rebuilt whole from the live tables."""

from __future__ import annotations

from kefu.jobs.engine import periodic_job

# Reports read changed days from the live tables until rebuilt: a minute keeps that short.
REFRESH_SECONDS = 60.0


@periodic_job(lambda: REFRESH_SECONDS)
def refresh_rollups() -> None:
    from kefu.reports.rollups import refresh

    refresh()
