"""The webhook that opens a call's case answers without the case's hand-off to the team (issue
14's answer-time bar): the case row and its number exist when the caller hears the number; the
hand-off (routing's side effects, audit, TicketCreated: SLA clocks, search index) is a job after
commit, and the phone sweep redoes a lost one, so a process that dies in between loses nothing."""

from __future__ import annotations

import pytest

from kefu.audit.models import AuditEvent
from kefu.inbox.models import ContactIdentity
from kefu.phone.actions import do_connect_agent, do_finish_case, do_sweep_queue
from kefu.tickets.models import Status


def events(ticket) -> list[str]:
    return [m.extra.get("event", "") for m in ticket.messages.order_by("seq")]


def test_the_queue_step_makes_the_case_and_leaves_the_hand_off_to_a_job(hotline, play_call):
    call = play_call(["", "0"])
    ticket = call.ticket
    # The case exists from the moment the call queued, with its number and the call log...
    assert call.queued_at is not None and ticket is not None and ticket.case_number.startswith("KF-")
    assert events(ticket) == ["phone.started", "phone.ended"]
    # ...routed already (its team names the provider's queue), handed over by the job.
    assert ticket.status == Status.BOT and ticket.team is not None
    assert not AuditEvent.objects.filter(action="ticket.created", target_id=ticket.case_number).exists()
    assert do_finish_case(call.pk) is True
    ticket.refresh_from_db()
    assert ticket.status == Status.NEW and events(ticket)[-1] == "handed_off"
    assert AuditEvent.objects.filter(action="ticket.created", target_id=ticket.case_number).count() == 1
    assert do_finish_case(call.pk) is False  # run twice: nothing more
    assert events(ticket).count("handed_off") == 1


def test_the_sweep_finishes_a_case_whose_job_was_lost(hotline, play_call):
    call = play_call(["", "9"])  # a call-back: no queue, no agent to ring
    assert call.ticket is not None and call.ticket.status == Status.BOT
    # The caller's contact is the job's too (the webhook only reads it): the sweep records it.
    assert not ContactIdentity.objects.filter(inbox=hotline, address=call.caller).exists()
    do_sweep_queue()
    call.ticket.refresh_from_db()
    assert call.ticket.status == Status.NEW
    assert ContactIdentity.objects.filter(inbox=hotline, address=call.caller).exists()
    assert AuditEvent.objects.filter(action="ticket.created", target_id=call.ticket.case_number).count() == 1


def test_ringing_an_agent_hands_the_case_over_first(hotline, play_call):
    """The agent opens the case while the phone rings: it is in the agents' queues by then."""
    call = play_call(["", "0"])
    assert call.ticket is not None and call.ticket.status == Status.BOT
    do_connect_agent(call.pk)  # nobody is online: no ring, but the case is handed over
    call.ticket.refresh_from_db()
    assert call.ticket.status == Status.NEW


def test_a_second_call_joins_the_first_calls_case_before_its_hand_off(hotline, play_call):
    first = play_call(["", "0"])
    second = play_call(["", "0"])
    assert second.ticket == first.ticket
    assert events(first.ticket).count("phone.joined") == 1


@pytest.mark.parametrize("keys", [["", "2", "2"], ["", "2", "3"]])
def test_the_stolen_and_freeze_paths_keep_their_urgency_and_team_after_the_hand_off(hotline, keys, play_call):
    call = play_call(keys)
    ticket = call.ticket
    assert ticket is not None
    before = (ticket.team_id, ticket.priority, ticket.security_flag)
    do_finish_case(call.pk)
    ticket.refresh_from_db()
    assert ticket.status == Status.NEW and (ticket.team_id, ticket.priority, ticket.security_flag) == before
    assert ticket.security_flag and ticket.team is not None and ticket.team.slug == "security"
