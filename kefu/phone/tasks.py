"""The hotline's jobs: send one text, hand a call's new case to humans, ring an agent, sweep the
queue. Each is safe to run twice (rows are claimed or checked first)."""

from __future__ import annotations

from kefu.jobs.engine import job, periodic_job


@job(retries=4, retry_delay=30)
def send_sms(pk: int) -> None:
    from kefu.phone.actions import send_sms as send

    send(pk)


@job(retries=4, retry_delay=10)
def finish_case(call_pk: int) -> None:
    """Hand a call's new case to humans after the webhook answered (the sweep redoes a lost
    one); a call waiting in the queue then rings an agent (one job per webhook, not two)."""
    from kefu.phone.actions import do_connect_agent, do_finish_case

    do_finish_case(call_pk)
    do_connect_agent(call_pk)  # rings only a call still waiting for an agent


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
