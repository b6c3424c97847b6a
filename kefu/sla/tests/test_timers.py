"""SLA timers follow the ticket's events: started at creation, met only by a human agent's
public reply, paused while waiting on the customer (never for security cases), swept into
warnings and breaches that notify and escalate, recalculated when a policy changes."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from kefu.audit.models import AuditEvent
from kefu.calendars.arithmetic import add_business_minutes
from kefu.calendars.selectors import load_calendar
from kefu.conftest import bearer
from kefu.events import IN_TRANSACTION, SlaBreached, SlaWarning, subscribe, unsubscribe
from kefu.sla.actions import recalculate_open_timers, sweep_due_timers
from kefu.sla.models import OPEN_Q, SlaPolicy, SlaTimer, TimerKind
from kefu.tickets import actions
from kefu.tickets.models import Category, MessageKind, Priority, Status, Ticket

pytestmark = pytest.mark.django_db


def policy(name: str = "All", *, business: bool = False, **targets) -> SlaPolicy:
    targets.setdefault("first_reply_minutes", 60)
    targets.setdefault("resolution_minutes", 600)
    flags = {f"{k}_business": business for k in ("first_reply", "next_reply", "update", "resolution")}
    return SlaPolicy.objects.create(name=name, **flags, **targets)


def create(customer, slug: str = "deposit-not-credited", **kwargs) -> Ticket:
    kwargs.setdefault("title", "充值未到账")
    kwargs.setdefault("description", "USDT 充值两小时没有到账")
    return actions.check_create_ticket(
        customer=customer, category=Category.objects.get(slug=slug), **kwargs
    ).ticket


def reply(ticket: Ticket, author, body: str = "好的", **kwargs) -> Ticket:
    return actions.check_add_message(ticket=ticket, author=author, body=body, **kwargs).ticket


def timer(ticket: Ticket, kind: str) -> SlaTimer:
    return SlaTimer.objects.filter(ticket=ticket, kind=kind).latest("id")


def test_a_new_ticket_gets_first_reply_and_resolution_due_times_on_the_business_calendar(alice):
    policy(business=True)
    ticket = create(alice)
    calendar = load_calendar()
    first = timer(ticket, TimerKind.FIRST_REPLY)
    assert first.due_at == add_business_minutes(calendar, ticket.created_at, 60)
    assert timer(ticket, TimerKind.RESOLUTION).due_at == add_business_minutes(
        calendar, ticket.created_at, 600
    )
    assert first.calendar.name == "default" and not first.never_pauses


def test_the_first_matching_policy_wins_by_position(alice):
    policy("Catch-all").__class__.objects.filter(name="Catch-all").update(position=50)
    urgent = policy("Urgent", first_reply_minutes=15)
    urgent.priorities, urgent.position = [Priority.URGENT], 10
    urgent.save()
    by_category = policy("Withdrawals", first_reply_minutes=30)
    by_category.position = 20
    by_category.save()
    by_category.categories.add(Category.objects.get(slug="assets"))  # the parent matches children
    email_only = policy("Email", first_reply_minutes=45)
    email_only.channels, email_only.position = ["email"], 5
    email_only.save()

    assert timer(create(alice, priority=Priority.URGENT), TimerKind.FIRST_REPLY).policy == urgent
    assert timer(create(alice), TimerKind.FIRST_REPLY).policy == by_category
    assert timer(create(alice, slug="otp"), TimerKind.FIRST_REPLY).policy.name == "Catch-all"
    assert timer(create(alice, slug="otp", channel="email"), TimerKind.FIRST_REPLY).policy == email_only


def test_no_policy_no_timers(alice):
    assert not SlaTimer.objects.filter(ticket=create(alice)).exists()


def test_only_a_human_agents_public_reply_meets_the_first_reply(alice, agent):
    policy()
    ticket = create(alice)
    reply(ticket, alice, "还在吗？")  # the customer's follow-up
    reply(ticket, agent, "内部备注", kind=MessageKind.INTERNAL)
    actions.do_add_system_note(ticket=ticket, body="system")
    assert timer(ticket, TimerKind.FIRST_REPLY).met_at is None
    ticket = reply(ticket, agent, "您好，我们在查")
    first = timer(ticket, TimerKind.FIRST_REPLY)
    assert first.met_at is not None and first.met_at == ticket.messages.latest("id").created_at


def test_the_api_sla_object(alice, agent):
    policy("Standard")
    ticket = create(alice)
    client = bearer(alice)
    sla = client.get(f"/api/v1/tickets/{ticket.case_number}").json()["sla"]
    first = timer(ticket, TimerKind.FIRST_REPLY)
    assert sla["policy"] == "Standard"
    assert sla["first_reply_at"] is None and sla["breached"] == []
    shown = datetime.fromisoformat(sla["first_reply_due_at"].replace("Z", "+00:00"))
    assert shown == first.due_at.replace(microsecond=first.due_at.microsecond // 1000 * 1000)
    assert sla["resolution_due_at"] is not None
    # The customer's own follow-up never sets first_reply_at; an agent's public reply does.
    client.post(
        f"/api/v1/tickets/{ticket.case_number}/messages", {"body": "还在吗"}, content_type="application/json"
    )
    assert client.get(f"/api/v1/tickets/{ticket.case_number}").json()["sla"]["first_reply_at"] is None
    bearer(agent).post(
        f"/api/v1/tickets/{ticket.case_number}/messages", {"body": "您好"}, content_type="application/json"
    )
    after = bearer(agent).get(f"/api/v1/tickets/{ticket.case_number}").json()["sla"]
    assert after["first_reply_at"] is not None
    # The reply set "waiting for the customer" (a pause) in the same breath: the met target
    # still shows its deadline.
    assert after["first_reply_due_at"] is not None


def test_the_api_without_a_policy_says_null(alice):
    ticket = create(alice)
    sla = bearer(alice).get(f"/api/v1/tickets/{ticket.case_number}").json()["sla"]
    assert sla == {
        "policy": None,
        "first_reply_due_at": None,
        "first_reply_at": None,
        "resolution_due_at": None,
        "breached": [],
    }


def test_waiting_for_the_customer_pauses_and_their_reply_resumes(alice, agent):
    policy(next_reply_minutes=120)
    ticket = create(alice)
    ticket = reply(ticket, agent)  # public reply: pending_customer
    assert ticket.status == Status.PENDING_CUSTOMER
    resolution = timer(ticket, TimerKind.RESOLUTION)
    assert resolution.due_at is None and resolution.paused_at is not None
    assert 0 < resolution.remaining_seconds <= 600 * 60
    # The customer answers: the clock resumes with what was left, and a next-reply clock starts
    # from their message.
    ticket = reply(ticket, alice, "哈希是 ...")
    assert ticket.status == Status.OPEN
    resolution.refresh_from_db()
    assert resolution.paused_at is None
    assert resolution.due_at - ticket.updated_at <= timedelta(
        seconds=resolution.remaining_seconds or 600 * 60
    )
    following = timer(ticket, TimerKind.NEXT_REPLY)
    assert following.started_at == ticket.messages.filter(author=alice).latest("id").created_at
    # A second follow-up leaves the oldest unanswered message's clock running.
    reply(ticket, alice, "还有一个问题")
    assert SlaTimer.objects.filter(OPEN_Q, ticket=ticket, kind=TimerKind.NEXT_REPLY).get() == following
    reply(ticket, agent, "收到")
    following.refresh_from_db()
    assert following.met_at is not None


def test_resolving_a_ticket_that_waits_for_the_customer_keeps_its_resolution_deadline(alice, agent):
    policy()
    ticket = reply(create(alice), agent)  # waiting for the customer: the resolution clock pauses
    assert timer(ticket, TimerKind.RESOLUTION).due_at is None
    actions.do_change_status(ticket=ticket, actor=agent, status=Status.RESOLVED)
    resolution = timer(ticket, TimerKind.RESOLUTION)
    assert resolution.met_at is not None and resolution.due_at is not None
    sla = bearer(agent).get(f"/api/v1/tickets/{ticket.case_number}").json()["sla"]
    assert sla["resolution_due_at"] is not None


def test_on_hold_pauses_only_when_the_policy_says_so(alice, agent):
    p = policy(pause_on_hold=True)
    ticket = create(alice)
    actions.do_change_status(ticket=ticket, actor=agent, status=Status.ON_HOLD)
    assert timer(ticket, TimerKind.RESOLUTION).paused_at is not None
    p.pause_on_hold = False
    p.save()
    other = create(alice)
    actions.do_change_status(ticket=other, actor=agent, status=Status.ON_HOLD)
    assert timer(other, TimerKind.RESOLUTION).paused_at is None


def test_security_cases_run_24_7_and_never_pause(alice, agent):
    policy(business=True)
    ticket = create(alice, slug="account-compromised", title="账户被盗", description="我的账户被盗了")
    first = timer(ticket, TimerKind.FIRST_REPLY)
    assert first.never_pauses and first.calendar is None
    assert first.due_at == ticket.created_at + timedelta(minutes=60)
    actions.do_change_status(ticket=ticket, actor=agent, status=Status.PENDING_CUSTOMER)
    first.refresh_from_db()
    assert first.paused_at is None and first.due_at is not None


def test_a_ticket_flagged_later_switches_to_the_24_7_clock(alice, agent):
    policy(business=True)
    ticket = create(alice)
    assert not timer(ticket, TimerKind.RESOLUTION).never_pauses
    actions.do_change_status(ticket=ticket, actor=agent, status=Status.PENDING_CUSTOMER)
    assert timer(ticket, TimerKind.RESOLUTION).paused_at is not None
    phrase = "abandon ability able about above absent absorb abstract absurd abuse access accident"
    reply(ticket, alice, f"我的助记词是 {phrase}")
    resolution = timer(ticket, TimerKind.RESOLUTION)
    assert resolution.never_pauses and resolution.paused_at is None
    assert resolution.due_at == resolution.started_at + timedelta(minutes=600)


def test_resolving_meets_resolution_and_stops_reply_clocks_reopening_starts_a_new_one(alice, agent):
    policy(update_minutes=240)
    ticket = create(alice)
    actions.do_change_status(ticket=ticket, actor=agent, status=Status.RESOLVED)
    first = timer(ticket, TimerKind.FIRST_REPLY)
    resolution = timer(ticket, TimerKind.RESOLUTION)
    assert first.stopped_at is not None and first.met_at is None
    assert resolution.met_at is not None
    actions.do_reopen(ticket=ticket, actor=alice)
    assert SlaTimer.objects.filter(OPEN_Q, ticket=ticket, kind=TimerKind.RESOLUTION).count() == 1
    assert timer(ticket, TimerKind.RESOLUTION).pk != resolution.pk


def test_an_agent_reply_restarts_the_periodic_update(alice, agent):
    policy(update_minutes=240)
    ticket = create(alice)
    reply(ticket, agent, "处理中", new_status=Status.OPEN)
    first_update = timer(ticket, TimerKind.UPDATE)
    assert first_update.met_at is None and first_update.due_at is not None
    reply(ticket, agent, "还在处理", new_status=Status.OPEN)
    first_update.refresh_from_db()
    assert first_update.met_at is not None
    assert timer(ticket, TimerKind.UPDATE).pk != first_update.pk


def test_the_sweep_warns_then_breaches_once_notifies_and_escalates(alice, agent, supervisor, settings):
    settings.KEFU_SLA_WARN_FRACTION = 0.75
    policy(escalate_on_breach=True)
    ticket = create(alice)
    actions.do_assign(ticket=ticket, actor=agent, assignee=agent)
    seen: list[object] = []

    def record(event: object) -> None:
        seen.append(event)

    subscribe(SlaWarning, record, when=IN_TRANSACTION)
    subscribe(SlaBreached, record, when=IN_TRANSACTION)
    try:
        first = timer(ticket, TimerKind.FIRST_REPLY)
        assert first.warn_at == first.started_at + timedelta(minutes=45)
        result = sweep_due_timers(now=first.warn_at)
        assert (result.warned, result.breached) == (1, 0)
        assert sweep_due_timers(now=first.warn_at).warned == 0  # once
        result = sweep_due_timers(now=first.due_at)
        assert (result.warned, result.breached) == (0, 1)
        assert sweep_due_timers(now=first.due_at + timedelta(hours=1)).breached == 0
    finally:
        unsubscribe(SlaWarning, record, when=IN_TRANSACTION)
        unsubscribe(SlaBreached, record, when=IN_TRANSACTION)
    assert [type(e).__name__ for e in seen] == ["SlaWarning", "SlaBreached"]
    first.refresh_from_db()
    assert first.warned_at is not None and first.breached_at is not None
    notes = AuditEvent.objects.filter(target_id=ticket.case_number, action__startswith="sla.")
    assert list(notes.values_list("action", flat=True).order_by("id")) == ["sla.warning", "sla.breached"]
    assert set(notes.last().data["notify"]) == {agent.pk, supervisor.pk}
    ticket.refresh_from_db()
    assert ticket.priority == Priority.HIGH  # one step up from normal
    assert ticket.messages.filter(
        kind=MessageKind.SYSTEM, body__contains="首次回复"
    ).exists()  # in the ticket's language
    sla = bearer(agent).get(f"/api/v1/tickets/{ticket.case_number}").json()["sla"]
    assert sla["breached"] == ["first_reply"]
    # Met late: still a breach.
    reply(ticket, agent, "抱歉久等")
    assert bearer(agent).get(f"/api/v1/tickets/{ticket.case_number}").json()["sla"]["breached"] == [
        "first_reply"
    ]


def test_a_paused_clock_is_not_swept(alice, agent):
    policy()
    ticket = create(alice)
    actions.do_change_status(ticket=ticket, actor=agent, status=Status.PENDING_CUSTOMER)
    result = sweep_due_timers(now=ticket.created_at + timedelta(days=30))
    assert (result.warned, result.breached) == (0, 0)


def test_changing_a_policy_recalculates_open_timers_in_a_job(
    alice, agent, job_queue, django_capture_on_commit_callbacks
):
    from django.db import transaction

    from kefu.jobs.engine import drain, enqueue_on_commit
    from kefu.sla.tasks import recalculate

    p = policy()
    ticket = create(alice)
    actions.do_change_status(ticket=ticket, actor=agent, status=Status.PENDING_CUSTOMER)
    other = create(alice)
    p.first_reply_minutes, p.resolution_minutes = 30, 900
    p.save()
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        enqueue_on_commit(recalculate)
    assert drain() >= 1
    first = timer(other, TimerKind.FIRST_REPLY)
    assert first.target_seconds == 30 * 60
    assert abs((first.due_at - (first.started_at + timedelta(minutes=30))).total_seconds()) < 5
    paused = timer(ticket, TimerKind.RESOLUTION)
    assert paused.paused_at is not None and paused.remaining_seconds > 600 * 60
    # A policy that no longer matches stops its clocks.
    p.is_active = False
    p.save()
    recalculate_open_timers()
    assert not SlaTimer.objects.filter(OPEN_Q, ticket=other).exists()


def test_the_admin_saves_a_policy_and_enqueues_the_recalculation(
    job_queue, django_capture_on_commit_callbacks
):
    from kefu.mail.tests.conftest import admin_client

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client().post(
            "/admin/sla/slapolicy/add/",
            {
                "name": "Gold",
                "position": "1",
                "is_active": "on",
                "priorities": "[4]",
                "channels": "[]",
                "first_reply_minutes": "15",
                "first_reply_business": "on",
                "resolution_minutes": "240",
                "pause_on_hold": "on",
            },
        )
    assert response.status_code == 302, response.content[:2000]
    assert SlaPolicy.objects.get(name="Gold").first_reply_minutes == 15
    assert job_queue.pending_count() == 1


def test_the_demo_has_a_policy_for_every_priority_so_a_new_ticket_has_due_times(alice):
    from kefu.sla.demo import load

    load()
    assert load() == []  # idempotent
    for priority in Priority.values:
        ticket = create(alice, priority=priority)
        sla = bearer(alice).get(f"/api/v1/tickets/{ticket.case_number}").json()["sla"]
        assert sla["policy"] and sla["first_reply_due_at"] and sla["resolution_due_at"], priority


def test_raising_the_priority_moves_the_ticket_to_the_urgent_policy(alice, agent):
    standard = policy("Standard", first_reply_minutes=240)
    standard.position = 20
    standard.save()
    urgent = policy("Urgent", first_reply_minutes=30)
    urgent.priorities, urgent.position = [Priority.URGENT], 10
    urgent.save()
    ticket = create(alice)
    before = timer(ticket, TimerKind.FIRST_REPLY)
    assert before.policy == standard
    actions.do_set_priority(ticket=ticket, actor=agent, priority=Priority.URGENT)
    after = timer(ticket, TimerKind.FIRST_REPLY)
    assert after.pk == before.pk and after.policy == urgent and after.target_seconds == 30 * 60
    assert after.due_at < before.due_at
    sla = bearer(agent).get(f"/api/v1/tickets/{ticket.case_number}").json()["sla"]
    assert sla["policy"] == "Urgent"


def test_a_merged_duplicate_stops_its_clocks_without_meeting_them(alice, agent):
    policy()
    source, target = create(alice), create(alice)
    actions.do_merge(source=source, target=target, actor=agent)
    resolution = timer(source, TimerKind.RESOLUTION)
    assert resolution.met_at is None and resolution.stopped_at is not None
    assert timer(target, TimerKind.RESOLUTION).is_open


def test_marking_the_same_timers_twice_announces_them_once(alice):
    """Two sweeps that picked the same rows (SQLite has no SKIP LOCKED): one breach event."""
    from django.utils import timezone

    from kefu.sla.actions import _mark

    policy()
    ticket = create(alice)
    first = timer(ticket, TimerKind.FIRST_REPLY)
    seen: list[object] = []
    subscribe(SlaBreached, seen.append, when=IN_TRANSACTION)
    try:
        _mark([first.pk], "breached_at", timezone.now(), SlaBreached)
        _mark([first.pk], "breached_at", timezone.now(), SlaBreached)
    finally:
        unsubscribe(SlaBreached, seen.append, when=IN_TRANSACTION)
    assert len(seen) == 1
