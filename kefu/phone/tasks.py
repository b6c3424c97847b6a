"""The hotline's jobs: send one text, hand a call's new case to humans, ring an agent, sweep the
queue. Each is safe to run twice (rows are claimed or checked first)."""

from __future__ import annotations

from kefu.jobs.engine import job, periodic_job


@job(retries=4, retry_delay=30)
def send_sms(pk: int) -> None:
    """One text the sweep found without a job (``actions.do_requeue_lost_sms``)."""
    from kefu.phone.actions import send_sms as send

    send(pk)


@job(retries=4, retry_delay=10)
def finish_case(call_pk: int) -> None:
    """A webhook's follow-up for its call, one job per webhook (``actions.one_job_per_call``):
    hand a new case to humans, ring an agent for a call waiting in the queue, send the call's
    texts. The sweep redoes each part that a lost job left undone."""
    from kefu.phone.actions import do_follow_up

    do_follow_up(call_pk)


@job(retries=0)
def connect_agent(call_pk: int) -> None:
    """No longer queued (``finish_case`` rings the agent); kept for jobs an older version queued."""
    from kefu.phone.actions import do_connect_agent

    do_connect_agent(call_pk)


def _sweep_seconds() -> float:
    return 15.0


@periodic_job(_sweep_seconds)
def sweep_queue() -> None:
    """Ring agents for waiting calls (an agent who comes online gets the calls already queued),
    and redo what lost jobs left: cases not handed over, texts not sent."""
    from kefu.phone.actions import do_sweep_queue

    do_sweep_queue()
