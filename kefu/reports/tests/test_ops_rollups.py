"""The operations figures and the filtered ticket figures read from rollups; days rebuilt without
a human when the settings they were built with change.

- The hand-computed operations tests of ``test_operations.py`` run again with every day rolled
  up first (:func:`rollups.rebuild` before the first figure reads): the same numbers.
- A period of rolled-up days reads no chat, call, bot or message row, and a ticket figure
  filtered outside the daily tables' grain (by channel, category, agent) no ticket row.
- A day built with another time zone, business calendar or phone answer limit is read live and
  rebuilt by the periodic refresh; a survey re-rated on a later day marks its answer day.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from kefu.calendars.models import BusinessCalendar, CalendarHours
from kefu.csat.actions import check_answer_survey
from kefu.csat.models import CsatSurvey
from kefu.reports import metrics, rollups
from kefu.reports.buckets import RATIO
from kefu.reports.models import RollupChange, RollupDay, TicketFact
from kefu.reports.tests import test_operations as hand
from kefu.reports.tests.test_families import local, window, world  # noqa: F401 - the fixture
from kefu.reports.tests.test_operations import agent_day  # noqa: F401 - the fixture
from kefu.reports.tests.test_rollups import build_november, figures, same

pytestmark = pytest.mark.django_db

OPERATIONS = ("live_chat", "phone", "bot", "helpcentre", "csat", "agents")
OPERATIONAL_TABLES = re.compile(
    r'"(chat_chatconversation|phone_call|bot_botconversation|tickets_message|chat_agentpresencelog)"'
)


@pytest.fixture
def rolled_up(monkeypatch):
    """Every day around the fixtures' period is rolled up before the first figure reads; each
    figure must then come from the rollups (a figure that found no rolled day fails)."""
    used: list[bool] = []
    read = rollups.ops_parts

    def built_first(window, name):
        if not used:
            rollups.rebuild(date(2026, 10, 25), date(2026, 11, 12))
        parts = read(window, name)
        used.append(parts is not None)
        return parts

    monkeypatch.setattr(rollups, "ops_parts", built_first)
    yield used
    assert used and any(used)


def test_agent_figures_from_rollups_are_the_hand_computed_ones(rolled_up, agent_day):  # noqa: F811
    hand.test_agent_activity_time_online_occupancy_and_concurrency_by_hand(agent_day)
    hand.test_agents_handled_by_hand(agent_day)
    assert all(rolled_up)


def test_phone_figures_from_rollups_and_a_changed_answer_limit(rolled_up, alice, settings):
    # The test sets KEFU_REPORTS_PHONE_ANSWER_SECONDS = 10 at its end: the days built with 20
    # are then read live (its last figure is right), not from rows built with another limit.
    hand.test_phone_service_level_speed_of_answer_abandonment_and_callbacks_by_hand(alice, settings)
    assert rolled_up[0] and not rolled_up[-1]


def test_bot_figures_from_rollups(rolled_up, alice):
    hand.test_bot_containment_intents_handoff_reasons_and_out_of_scope_by_hand(alice)


def test_csat_by_channel_from_rollups(rolled_up, alice):
    hand.test_csat_by_channel_and_latest_comments_by_hand(alice)


def test_chat_queue_from_rollups_counts_exactly_and_percentiles_within_a_bucket(alice):
    hand.test_chat_queue_wait_abandonment_and_estimate_error_by_hand(alice)
    live = metrics.chat_queue_figures(hand.WINDOW)
    rollups.rebuild(date(2026, 10, 25), date(2026, 11, 12))
    assert rollups.ops_parts(hand.WINDOW, "chat_queue") is not None
    rolled = metrics.chat_queue_figures(hand.WINDOW)
    for key, exact in live.items():
        if key in ("wait_median", "wait_p90", "estimate_error_median"):
            assert exact / RATIO <= rolled[key] <= exact * RATIO, (key, exact, rolled[key])
        else:
            assert rolled[key] == exact, key


def test_a_period_of_rolled_up_days_reads_no_operational_row(agent_day):  # noqa: F811
    whole_days = metrics.Window(since=rollups.midnight(date(2026, 11, 2)), until=rollups.midnight(date(2026, 11, 8)))
    with CaptureQueriesContext(connection) as live:
        before = {key: metrics.METRICS[key].compute(whole_days) for key in _panels()}
    assert any(OPERATIONAL_TABLES.search(q["sql"]) for q in live.captured_queries)
    rollups.rebuild(date(2026, 10, 25), date(2026, 11, 12))
    with CaptureQueriesContext(connection) as rolled:
        after = {key: metrics.METRICS[key].compute(whole_days) for key in _panels()}
    read = [q["sql"] for q in rolled.captured_queries if OPERATIONAL_TABLES.search(q["sql"])]
    # Left live: the call-backs by status now, the comments' text, the help centre's own tables.
    assert read == [], read
    assert after == before


def _panels() -> list[str]:
    skip = {"csat_comments", "phone_callbacks", "helpcentre_no_results", "helpcentre_votes"}
    return [key for key, entry in metrics.METRICS.items() if entry.family in OPERATIONS and key not in skip]


def test_the_operations_figures_read_a_recent_day_live_until_it_settled(db):
    yesterday = timezone.localdate() - timedelta(days=1)
    rollups.refresh()
    w = metrics.Window(since=rollups.midnight(yesterday), until=rollups.midnight(timezone.localdate()))
    assert rollups.plan(w, rollups.DAILY_GRAIN)[0] == [yesterday]
    assert rollups.plan(w, rollups.FACT_GRAIN, settled=rollups.SETTLE)[0] == []  # chats may still change
    # A day built before it settled is built again once it has.
    older = timezone.localdate() - timedelta(days=4)
    RollupDay.objects.filter(day=older).update(built_at=rollups.midnight(older + timedelta(days=1)))
    assert older in rollups.refresh()
    assert older not in rollups.refresh()


@pytest.mark.parametrize("filters", [{"channel": "email"}, {"category": "withdrawal-issue"}, {"agent": "ann"}])
def test_filters_outside_the_daily_grain_read_the_per_ticket_rows(world, filters):  # noqa: F811
    """Response times and SLA by channel or category, volume by agent: from the rolled-up days'
    per-ticket rows — no ticket or timer row read, business time not recomputed — equal to live."""
    resolved = {k: (world[v].pk if k == "agent" else v) for k, v in filters.items()}
    w = window(**resolved)
    live = figures(w)
    assert build_november() == 9
    assert TicketFact.objects.filter(day__gte=date(2026, 11, 2), day__lte=date(2026, 11, 7)).count() == 4
    days, rest = rollups.plan(w, rollups.FACT_GRAIN)
    assert len(days) == 6 and rest == []
    with CaptureQueriesContext(connection) as rolled:
        same(live, figures(w))
    tickets = [q["sql"] for q in rolled.captured_queries if re.search(r'"(tickets_ticket|sla_slatimer)"', q["sql"])]
    assert tickets == [], tickets
    # A channel's or a category's durations come from DurationDaily's slice, not per ticket.
    per_ticket = [q["sql"] for q in rolled.captured_queries if "reports_ticketfact" in q["sql"]]
    durations = re.compile(r'"reports_ticketfact"\."(first_reply|resolution)')
    assert not [sql for sql in per_ticket if durations.search(sql)], per_ticket


def test_a_time_zone_or_calendar_change_sends_built_days_live_and_the_refresh_rebuilds_them(world, settings):  # noqa: F811
    build_november()
    assert len(rollups.plan(window(), rollups.DAILY_GRAIN)[0]) == 6
    settings.TIME_ZONE = "UTC"
    assert rollups.plan(window(), rollups.DAILY_GRAIN)[0] == []  # built in Asia/Shanghai: live
    live = figures(window())
    rebuilt = rollups.refresh()
    assert {date(2026, 11, d) for d in range(1, 10)} <= set(rebuilt)
    assert len(rollups.plan(window(), rollups.DAILY_GRAIN)[0]) == 5  # the period's whole UTC days
    same(live, figures(window()))
    settings.TIME_ZONE = "Asia/Shanghai"
    rollups.refresh()
    # The default calendar closes at noon now: business times change, the days are rebuilt.
    before = figures(window())
    default = BusinessCalendar.objects.get(name="default")
    for hours in CalendarHours.objects.filter(calendar=default):
        hours.closes_at = hours.opens_at.replace(hour=12) if hours.opens_at.hour < 12 else hours.closes_at
        hours.save()
    assert rollups.plan(window(), rollups.DURATION_GRAIN)[0] == []
    live = figures(window())
    assert live != before
    assert date(2026, 11, 3) in rollups.refresh()
    same(live, figures(window()))


def test_a_survey_rerated_on_a_later_day_marks_its_first_answer_day(world, alice):  # noqa: F811
    survey = CsatSurvey.objects.create(
        customer=alice, ticket=world["t1"], rating=5, expires_at=timezone.now() + timedelta(days=1)
    )
    CsatSurvey.objects.filter(pk=survey.pk).update(created_at=local(2, 12), answered_at=local(3, 12))
    build_november()
    assert metrics.csat(window())["responses"] == 1
    check_answer_survey(survey=CsatSurvey.objects.get(pk=survey.pk), rating=2)
    assert {date(2026, 11, 2), date(2026, 11, 3)} <= set(RollupChange.objects.values_list("day", flat=True))
    assert metrics.csat(window())["responses"] == 0  # answered today now, out of the period
    rollups.refresh()
    assert metrics.csat(window())["responses"] == 0


def test_the_rebuild_command_fills_older_chats_queue_fields_from_the_audit_log(alice):
    """A chat from before the fields (chat migration 0011): entered the queue at its first
    ``chat.queued`` event, first agent at its first ``chat.assigned`` (a transfer's later one is
    not it); the estimate told then is unknown. A chat filed straight from the bot (queued_at
    set, never in the queue: no event) stays out, and newer chats are not touched."""
    from django.db.migrations.recorder import MigrationRecorder

    from kefu.audit.models import AuditEvent
    from kefu.chat.models import ChatStatus
    from kefu.cli import main

    upgrade = MigrationRecorder.Migration.objects.get(app="chat", name="0011_reports_queue_and_presence_log")
    MigrationRecorder.Migration.objects.filter(pk=upgrade.pk).update(applied=hand.at(5))

    def audit(chat, action, when):
        event = AuditEvent.objects.create(action=action, target_type="chat", target_id=str(chat.public_id))
        AuditEvent.objects.filter(pk=event.pk).update(created_at=when)

    old = hand.chat(alice, created_at=hand.at(2, 9), queued_at=hand.at(2, 10, 5), assigned_at=hand.at(2, 10, 30),
                    closed_at=hand.at(2, 11), status=ChatStatus.CLOSED, close_reason="resolved")  # fmt: skip
    audit(old, "chat.queued", hand.at(2, 10))
    audit(old, "chat.queued", hand.at(2, 10, 5))  # sent back to the queue by a transfer
    audit(old, "chat.assigned", hand.at(2, 10, 2))
    audit(old, "chat.assigned", hand.at(2, 10, 30))
    filed = hand.chat(alice, created_at=hand.at(2, 9), queued_at=hand.at(2, 9, 1), closed_at=hand.at(2, 9, 1),
                      status=ChatStatus.CLOSED, close_reason="ticket")  # fmt: skip
    new = hand.chat(alice, created_at=hand.at(6), queued_at=hand.at(6, 1), status=ChatStatus.QUEUED)
    audit(new, "chat.queued", hand.at(6, 1))
    w = metrics.Window(since=hand.at(2), until=hand.at(3))
    assert metrics.chat_queue_figures(w)["entered"] == 0
    assert main(["reports", "rebuild", "--since", "2026-11-01", "--until", "2026-11-09"]) == 0
    old.refresh_from_db()
    assert (old.wait_estimate_at, old.first_assigned_at, old.wait_estimate_seconds) == (
        hand.at(2, 10), hand.at(2, 10, 2), None,
    )  # fmt: skip
    filed.refresh_from_db()
    new.refresh_from_db()
    assert filed.wait_estimate_at is None and new.wait_estimate_at is None
    figures = metrics.chat_queue_figures(w)
    assert (figures["entered"], figures["taken"], figures["wait_median"], figures["estimated"]) == (1, 1, 120.0, 0)
    assert main(["reports", "rebuild", "--since", "2026-11-01", "--until", "2026-11-09"]) == 0  # idempotent


def test_a_late_hand_off_marks_the_day_its_bot_conversation_began_and_only_a_hand_off_queries(alice):
    from kefu.bot.models import BotConversation
    from kefu.tickets.models import Status
    from kefu.tickets.stages import do_open_to_humans

    ticket = hand.case(status=Status.BOT, channel="bot")
    conversation = BotConversation.objects.create(customer=alice, ticket=ticket)
    BotConversation.objects.filter(pk=conversation.pk).update(created_at=hand.at(2, 10))
    w = metrics.Window(since=rollups.midnight(date(2026, 11, 2)), until=rollups.midnight(date(2026, 11, 3)))
    rollups.rebuild(date(2026, 11, 2), date(2026, 11, 2))
    assert metrics.bot_figures(w, ("containment",))["handed_off"] == 0
    do_open_to_humans(ticket=ticket, title="t", description="d", channel="bot")
    assert list(RollupChange.objects.values_list("day", flat=True)) == [date(2026, 11, 2)]
    assert metrics.bot_figures(w, ("containment",))["handed_off"] == 1  # read live at once
    rollups.refresh()
    assert rollups.ops_parts(w, "bot") is not None
    assert metrics.bot_figures(w, ("containment",))["handed_off"] == 1
    # A case filed in the portal had no bot stage: no look-up for it.
    with CaptureQueriesContext(connection) as filed:
        hand.case()
    assert not [q for q in filed.captured_queries if "bot_botconversation" in q["sql"]]


def test_bot_containment_shows_conversations_left_without_an_answer_apart(alice):
    """Begun on 2 November: c1 closed for idleness as answered (contained), c2 closed as
    unanswered (left without an answer), c3 handed to the team and then idle-closed as
    unanswered (handed: the hand-off counts), c4 still open with the bot (contained so far) →
    4 conversations, 1 handed, 1 left without an answer, 2 contained: 50 %. The same from the
    rolled-up day."""
    from kefu.bot.models import BotConversation, CloseReason
    from kefu.tickets.models import Status

    for status, reason in (
        (Status.BOT, CloseReason.ANSWERED),
        (Status.BOT, CloseReason.UNANSWERED),
        (Status.NEW, CloseReason.UNANSWERED),
        (Status.BOT, ""),
    ):
        made = BotConversation.objects.create(customer=alice, ticket=hand.case(status=status, channel="bot"))
        BotConversation.objects.filter(pk=made.pk).update(created_at=hand.at(2, 10), close_reason=reason)
    w = metrics.Window(since=rollups.midnight(date(2026, 11, 2)), until=rollups.midnight(date(2026, 11, 4)))
    expected = {
        "conversations": 4,
        "handed_off": 1,
        "unanswered": 1,
        "contained": 2,
        "containment_percent": 50.0,
    }
    assert metrics.bot_figures(w, ("containment",)) == expected
    rollups.rebuild(date(2026, 11, 1), date(2026, 11, 5))
    assert rollups.ops_parts(w, "bot") is not None
    assert metrics.bot_figures(w, ("containment",)) == expected
    row = metrics.bot_containment(w)["rows"][0]
    assert (row["unanswered"], row["contained"]) == (1, 2)
