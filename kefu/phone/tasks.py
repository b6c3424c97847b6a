"""The hotline's jobs: send one text. Safe to run twice (the row is claimed while queued)."""

from __future__ import annotations

from kefu.jobs.engine import job, periodic_job


@job(retries=4, retry_delay=30)
def send_sms(pk: int) -> None:
    from kefu.phone.actions import send_sms as send

    send(pk)


@job(retries=0)
def connect_agent(call_pk: int) -> None:
    from kefu.phone.actions import do_connect_agent

    do_connect_agent(call_pk)


def _sweep_seconds() -> float:
    return 15.0


@periodic_job(_sweep_seconds)
def sweep_queue() -> None:
    """Ring agents for waiting calls: an agent who comes online gets the calls already queued."""
    from kefu.phone.actions import do_sweep_queue

    do_sweep_queue()
