"""The operations families (live chat, phone, bot, help centre, CSAT, agents) against fixtures
whose expected numbers are worked out by hand in each test's docstring or comments."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from kefu.accounts.models import Role
from kefu.bot.models import BotConversation
from kefu.chat.models import AgentPresenceLog, ChatConversation, ChatStatus
from kefu.conftest import make_user
from kefu.csat.models import CsatSurvey
from kefu.helpcenter.models import Article, ArticleFeedback, SearchMiss
from kefu.inbox.models import Inbox, InboxKind
from kefu.phone.models import Call, Callback, CallbackStatus, Outcome
from kefu.reports import metrics
from kefu.tickets.actions import create_case
from kefu.tickets.models import Category, Message, Sender, Status, Ticket

pytestmark = pytest.mark.django_db

SINCE = datetime(2026, 11, 1, tzinfo=UTC)
UNTIL = datetime(2026, 11, 8, tzinfo=UTC)
WINDOW = metrics.Window(since=SINCE, until=UNTIL)


def at(day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, second, tzinfo=UTC)


def case(*, status: str = Status.NEW, channel: str = "portal", **fields) -> Ticket:
    ticket = create_case(
        customer=None,
        category=Category.objects.get(slug="deposit-not-credited"),
        title="t",
        description="d",
        channel=channel,
        language="en",
        status=status,
    )
    if fields:
        Ticket.objects.filter(pk=ticket.pk).update(**fields)
        ticket.refresh_from_db()
    return ticket


def chat(customer, **fields) -> ChatConversation:
    conversation = ChatConversation.objects.create(customer=customer, language="en")
    ChatConversation.objects.filter(pk=conversation.pk).update(**fields)
    conversation.refresh_from_db()
    return conversation


# --- live chat -------------------------------------------------------------------------------------


def test_chat_queue_wait_abandonment_and_estimate_error_by_hand(alice):
    """Entered the queue in the period: c1..c8 (8). Taken: c1 (60 s), c2 (120 s), c3 (300 s),
    c4 (30 s): waits sorted 30, 60, 120, 300 → median at position 1.5 = 60 + 0.5 × 60 = 90;
    p90 at 2.7 = 120 + 0.7 × 180 = 246. Abandoned: c5 (left), c6 (ended it) = 2; diverted: c7
    (ticket) = 1; still waiting: c8. Abandonment 2 ÷ (4 + 2 + 1) = 28.6 %.
    Told an estimate and taken: c1 (told 120, waited 60: error 60 > 30), c2 (told 100, waited
    120: error 20 ≤ 60, within), c4 (told 0, waited 30: error 30 > 15); c3 was told none.
    Errors 20, 30, 60 → median 30; within ±50 %: 1 of 3 = 33.3 %."""
    closed = {"status": ChatStatus.CLOSED}
    for entry, wait, told in ((at(2, 10), 60, 120), (at(2, 11), 120, 100), (at(3), 300, None), (at(3, 1), 30, 0)):
        chat(
            alice,
            queued_at=entry,
            wait_estimate_at=entry,
            wait_estimate_seconds=told,
            first_assigned_at=entry + timedelta(seconds=wait),
            assigned_at=entry + timedelta(seconds=wait + 500),  # a later transfer moves this one
            **closed,
        )
    chat(alice, queued_at=at(4), wait_estimate_at=at(4), wait_estimate_seconds=50, close_reason="abandoned", **closed)
    chat(alice, queued_at=at(4, 1), wait_estimate_at=at(4, 1), close_reason="customer", **closed)
    chat(alice, queued_at=at(4, 2), wait_estimate_at=at(4, 2), close_reason="ticket", **closed)
    chat(alice, queued_at=at(5), wait_estimate_at=at(5), status=ChatStatus.QUEUED)
    # Not counted: entered a second before the period; filed as a ticket from the bot (never queued).
    before = SINCE - timedelta(seconds=1)
    chat(alice, queued_at=before, wait_estimate_at=before, first_assigned_at=at(2), **closed)
    chat(alice, queued_at=at(3), close_reason="ticket", **closed)

    figures = metrics.chat_queue_figures(WINDOW)
    assert figures == {
        "entered": 8,
        "taken": 4,
        "abandoned": 2,
        "diverted": 1,
        "wait_median": 90.0,
        "wait_p90": 246.0,
        "abandonment_percent": 28.6,
        "estimated": 3,
        "estimate_error_median": 30.0,
        "estimate_within_half_percent": 33.3,
    }
    panel = metrics.chat_queue(WINDOW)
    assert panel["rows"][0]["wait_median"] == 90.0 and panel["columns"][3]["unit"] == "seconds"
    assert metrics.chat_estimate(WINDOW)["rows"][0]["estimate_within_half_percent"] == 33.3


# --- agents ------------------------------------------------------------------------------------------


@pytest.fixture
def agent_day(alice):
    """Bob (team assets) on 2 November: online 09:00-12:00, away 12:00-13:00, then offline; and
    online from an hour before the period to an hour into it. Chats 10:00-10:30, 10:10-11:00,
    11:00-11:20 (starts as the second ends: not at once), 12:30-13:30; a call 11:50-12:10.
    Carol (no team): online an hour on 4 November, nothing else."""
    bob = make_user("bob.agent@example.com", role=Role.AGENT, teams=("assets",))
    carol = make_user("carol.agent@example.com", role=Role.AGENT)
    AgentPresenceLog.objects.create(
        user=bob, status="online", started_at=SINCE - timedelta(hours=1), ended_at=SINCE + timedelta(hours=1)
    )
    AgentPresenceLog.objects.create(user=bob, status="offline", started_at=SINCE + timedelta(hours=1), ended_at=at(2, 9))
    AgentPresenceLog.objects.create(user=bob, status="online", started_at=at(2, 9), ended_at=at(2, 12))
    AgentPresenceLog.objects.create(user=bob, status="away", started_at=at(2, 12), ended_at=at(2, 13))
    AgentPresenceLog.objects.create(user=bob, status="offline", started_at=at(2, 13))
    AgentPresenceLog.objects.create(user=carol, status="online", started_at=at(4, 9), ended_at=at(4, 10))
    for start, end in (
        (at(2, 10), at(2, 10, 30)),
        (at(2, 10, 10), at(2, 11)),
        (at(2, 11), at(2, 11, 20)),
        (at(2, 12, 30), at(2, 13, 30)),
    ):
        chat(alice, assignee=bob, assigned_at=start, first_assigned_at=start, closed_at=end, status=ChatStatus.CLOSED)
    inbox, _ = Inbox.objects.get_or_create(kind=InboxKind.VOICE, name="Hotline")
    call = Call.objects.create(call_sid="CA-agent", inbox=inbox, agent=bob)
    Call.objects.filter(pk=call.pk).update(answered_at=at(2, 11, 50), ended_at=at(2, 12, 10))
    # Cases: one resolved by bob in the period; one before it; a merged duplicate (not counted).
    kept = case(assignee=bob, resolved_at=at(3), status=Status.RESOLVED)
    case(assignee=bob, resolved_at=SINCE - timedelta(seconds=1), status=Status.RESOLVED)
    case(assignee=bob, resolved_at=at(3), status=Status.RESOLVED, merged_into=kept)
    return bob, carol


def test_agent_activity_time_online_occupancy_and_concurrency_by_hand(agent_day):
    """Bob: online 3 h on the 2nd + 1 h clipped at the period's start = 14,400 s; away 3,600 s.
    Busy while signed in: chats 10:00-11:20 (4,800) + call 11:50-12:10 (1,200) + chat 12:30-13:00
    (1,800; after 13:00 he is offline) = 7,800 s; occupancy 7,800 ÷ 18,000 = 43.3 %.
    With a chat open: 10:00-11:20 and 12:30-13:30 = 8,400 s; chat-seconds 1,800 + 3,000 + 1,200
    + 3,600 = 9,600 → average 9,600 ÷ 8,400 = 1.14 at once; peak 2 (10:10-10:30)."""
    bob, carol = agent_day
    activity = metrics.agent_activity(WINDOW)
    assert activity[bob.pk] == {
        "online": 14400.0,
        "away": 3600.0,
        "busy": 7800.0,
        "chatting": 8400.0,
        "chat_seconds": 9600.0,
        "peak": 2.0,
    }
    assert activity[carol.pk]["online"] == 3600.0 and activity[carol.pk]["busy"] == 0.0
    time_rows = {row["name"]: row for row in metrics.agents_time(WINDOW)["rows"]}
    assert time_rows[bob.email]["occupancy"] == 43.3 and time_rows[carol.email]["occupancy"] == 0.0
    concurrency = metrics.chat_concurrency(WINDOW)["rows"]
    assert concurrency == [{"name": bob.email, "peak": 2, "average": 1.14}]
    # The team filter keeps bob (a member of assets), not carol.
    team = bob.teams.get().pk
    assert [row["name"] for row in metrics.agents_time(metrics.Window(SINCE, UNTIL, team=team))["rows"]] == [bob.email]


def test_agents_handled_by_hand(agent_day):
    """Bob: 1 case resolved in the period (the earlier one and the merged duplicate are not
    counted), 4 chats assigned, 1 call answered."""
    bob, _carol = agent_day
    assert metrics.agents_handled_figures(WINDOW)[bob.pk] == {"cases": 1, "chats": 4, "calls": 1}
    assert metrics.agents_handled(WINDOW)["rows"] == [{"name": bob.email, "cases": 1, "chats": 4, "calls": 1}]


def test_an_interval_still_open_counts_until_now_not_until_the_end_of_the_period(alice):
    """Online since an hour ago, period ending tomorrow: one hour online, not 25."""
    bob = make_user("bob.agent@example.com", role=Role.AGENT)
    now = timezone.now()
    AgentPresenceLog.objects.create(user=bob, status="online", started_at=now - timedelta(hours=1))
    window = metrics.Window(since=now - timedelta(days=1), until=now + timedelta(days=1))
    online = metrics.agent_activity(window)[bob.pk]["online"]
    assert 3590 <= online <= 3700


# --- phone -----------------------------------------------------------------------------------------


def test_phone_service_level_speed_of_answer_abandonment_and_callbacks_by_hand(alice, settings):
    """Queued in the period: p1 (answered after 10 s), p2 (20 s: within, the limit is
    inclusive), p3 (50 s), p4 (hung up in the queue), p5 (left for a call-back), p6 (still
    waiting) = 6; wait over: 5. Service level 2 ÷ 5 = 40 %; average speed of answer (10 + 20 +
    50) ÷ 3 = 26.7 s; abandonment 1 ÷ 5 = 20 %. With N = 10 s only p1 is within: 20 %.
    Call-backs asked in the period: done, failed, waiting → requested 3, open 1."""
    inbox, _ = Inbox.objects.get_or_create(kind=InboxKind.VOICE, name="Hotline")

    def call(sid: str, **fields) -> Call:
        made = Call.objects.create(call_sid=sid, inbox=inbox)
        Call.objects.filter(pk=made.pk).update(**fields)
        return made

    for n, (queued, answered_after) in enumerate(((at(2, 10), 10), (at(2, 11), 20), (at(2, 12), 50))):
        call(f"p{n}", queued_at=queued, answered_at=queued + timedelta(seconds=answered_after), ended_at=at(6))
    call("p4", queued_at=at(3), ended_at=at(3, 0, 1), outcome=Outcome.ABANDONED)
    p5 = call("p5", queued_at=at(3, 1), ended_at=at(3, 1, 1), outcome=Outcome.CALLBACK)
    call("p6", queued_at=at(3, 2))
    call("before", queued_at=SINCE - timedelta(seconds=1), ended_at=at(1, 1), outcome=Outcome.ABANDONED)
    call("menu", ended_at=at(2), outcome=Outcome.HUNG_UP)  # never queued

    ticket = case(channel="phone")
    for n, status in enumerate((CallbackStatus.DONE, CallbackStatus.FAILED, CallbackStatus.WAITING)):
        made = Callback.objects.create(
            call=p5 if n == 0 else call(f"cb{n}"), ticket=ticket, place_at=at(3), status=status
        )
        Callback.objects.filter(pk=made.pk).update(created_at=at(3, n))
    old = Callback.objects.create(call=call("cb-old"), ticket=ticket, place_at=at(1), status=CallbackStatus.DONE)
    Callback.objects.filter(pk=old.pk).update(created_at=SINCE - timedelta(days=1))

    figures = metrics.phone_figures(WINDOW)
    assert figures == {
        "answer_seconds": 20,
        "queued": 6,
        "answered": 3,
        "answered_within": 2,
        "service_level_percent": 40.0,
        "average_speed_of_answer": 26.7,
        "abandoned": 1,
        "abandonment_percent": 20.0,
        "callbacks": {"requested": 3, "done": 1, "failed": 1, "open": 1, "canceled": 0},
    }
    settings.KEFU_REPORTS_PHONE_ANSWER_SECONDS = 10
    assert metrics.phone_figures(WINDOW)["service_level_percent"] == 20.0
    with translation.override("en"):
        panel = metrics.phone_service(WINDOW)
    assert panel["columns"][3]["label"] == "Answered within 10 s"


# --- bot and help centre -------------------------------------------------------------------------------


def test_bot_containment_intents_handoff_reasons_and_out_of_scope_by_hand(alice):
    """Conversations begun in the period: b1 (still with the bot: contained), b2 (case opened
    to the team: handed), b3 (a chat on its case entered the queue: handed), b4 (a chat that
    never queued: contained) → 4, handed 2, containment 50 %. Not counted: one begun before
    the period, one with no message yet.
    The bot's answers in the period with an intent: b1 3 (deposit twice, a greeting), b2 3
    (deposit, out of scope, contact_human with the hand-off), b3 2 (withdrawal_pending,
    out of scope with an urgent hand-off) = 8; out of scope 2 → 25 %. Topics by conversations:
    deposit_not_credited 2, contact_human 1, withdrawal_pending 1. Reasons: requested 1, urgent 1."""
    cases = []
    for n, status in enumerate((Status.BOT, Status.NEW, Status.BOT, Status.BOT)):
        ticket = case(status=status, channel="bot")
        conversation = BotConversation.objects.create(customer=alice, ticket=ticket)
        BotConversation.objects.filter(pk=conversation.pk).update(created_at=at(2 + n))
        cases.append(ticket)
    chat(alice, ticket=cases[2], queued_at=at(4), wait_estimate_at=at(4), status=ChatStatus.ACTIVE)
    chat(alice, ticket=cases[3], status=ChatStatus.BOT)
    old = BotConversation.objects.create(customer=alice, ticket=case(status=Status.BOT, channel="bot"))
    BotConversation.objects.filter(pk=old.pk).update(created_at=SINCE - timedelta(seconds=1))
    BotConversation.objects.create(customer=alice)  # no message yet: no case

    def answer(ticket: Ticket, when: datetime, **extra) -> None:
        seq = ticket.messages.count() + 1
        message = Message.objects.create(ticket=ticket, seq=seq, sender=Sender.BOT, body="…", channel="bot", extra=extra)
        Message.objects.filter(pk=message.pk).update(created_at=when)

    b1, b2, b3, _b4 = cases
    answer(b1, at(2, 1), intent="deposit_not_credited")
    answer(b1, at(2, 2), intent="deposit_not_credited")
    answer(b1, at(2, 3), intent="greeting")
    answer(b1, at(2, 4))  # no intent
    answer(b2, at(3, 1), intent="deposit_not_credited")
    answer(b2, at(3, 2), intent="out_of_scope")
    answer(b2, at(3, 3), intent="contact_human", handoff_reason="requested")
    answer(b3, at(4, 1), intent="withdrawal_pending")
    answer(b3, at(4, 2), intent="out_of_scope", handoff_reason="urgent")
    answer(b1, SINCE - timedelta(seconds=1), intent="out_of_scope", handoff_reason="requested")
    customer_turn = Message.objects.create(ticket=b1, seq=99, sender=Sender.CUSTOMER, body="hi", extra={"intent": "out_of_scope"})
    Message.objects.filter(pk=customer_turn.pk).update(created_at=at(2, 5))

    figures = metrics.bot_figures(WINDOW)
    assert figures == {
        "conversations": 4,
        "handed_off": 2,
        "unanswered": 0,
        "contained": 2,
        "containment_percent": 50.0,
        "answers": 8,
        "out_of_scope": 2,
        "out_of_scope_percent": 25.0,
        "intents": {"deposit_not_credited": 2, "contact_human": 1, "withdrawal_pending": 1},
        "handoff_reasons": {"requested": 1, "urgent": 1},
    }
    with translation.override("en"):
        rows = metrics.bot_intents(WINDOW)["rows"]
    assert rows[0] == {"name": "Deposit not credited", "conversations": 2}


def test_help_centre_searches_without_results_and_article_votes_by_hand(alice, bob, settings):
    """Days 1-7 November (site zone UTC here): 退款 3 + 2 = 5, refund 4, late 1; 31 October
    and 8 November are outside. Votes given or changed in the period: A 2 helpful + 1 not
    (66.7 %), B 1 not (0 %); B's older helpful vote is outside."""
    settings.TIME_ZONE = "UTC"
    for day, language, query, n in (
        (2, "zh-hans", "退款", 3),
        (3, "zh-hans", "退款", 2),
        (3, "en", "refund", 4),
        (7, "en", "late", 1),
        (8, "en", "after", 9),
    ):
        SearchMiss.objects.create(day=at(day).date(), language=language, query=query, searches=n, last_searched_at=at(day))
    SearchMiss.objects.create(day=datetime(2026, 10, 31).date(), language="en", query="old", searches=10, last_searched_at=at(1))
    rows = metrics.helpcentre_no_results(WINDOW)["rows"]
    assert rows == [
        {"name": "退款", "language": "zh-hans", "searches": 5},
        {"name": "refund", "language": "en", "searches": 4},
        {"name": "late", "language": "en", "searches": 1},
    ]

    a = Article.objects.create(slug="ops-a", language="en", title="A", body_markdown="a")
    b = Article.objects.create(slug="ops-b", language="en", title="B", body_markdown="b")
    carol = make_user("carol@example.com")

    def vote(article: Article, helpful: bool, when: datetime, **voter) -> None:
        made = ArticleFeedback.objects.create(article=article, helpful=helpful, **voter)
        ArticleFeedback.objects.filter(pk=made.pk).update(updated_at=when)

    vote(a, True, at(2), user=alice)
    vote(a, True, at(3), user=bob)
    vote(a, False, at(4), session_key="s1")
    vote(b, False, at(5), user=alice)
    vote(b, True, SINCE - timedelta(seconds=1), user=carol)
    assert metrics.helpcentre_votes(WINDOW)["rows"] == [
        {"name": "A (en)", "helpful": 2, "unhelpful": 1, "helpful_percent": 66.7},
        {"name": "B (en)", "helpful": 0, "unhelpful": 1, "helpful_percent": 0.0},
    ]


# --- satisfaction -------------------------------------------------------------------------------------


def test_csat_by_channel_and_latest_comments_by_hand(alice):
    """Sent in the period: chat s1 (5, "great"), chat s2 (unanswered); email s3 (2, "slow"), email
    s4 (4, no comment). Chat: sent 2, answered 1 (50 %), positive 1 (100 %); email: sent 2,
    answered 2 (100 %), positive 1 (50 %). s5 was sent before the period but answered in it: not
    in the channels, but its comment is among the latest: s5, s3, s1 (newest first)."""
    email_case = case(channel="email")
    portal_case = case(channel="portal")

    def survey(created: datetime, *, rating=None, answered=None, comment="", **fields) -> None:
        made = CsatSurvey.objects.create(customer=alice, expires_at=at(20), rating=rating, comment=comment, **fields)
        CsatSurvey.objects.filter(pk=made.pk).update(created_at=created, answered_at=answered)

    survey(at(2), rating=5, answered=at(2, 1), comment="great", conversation=chat(alice))
    survey(at(3), conversation=chat(alice))
    survey(at(3), rating=2, answered=at(3, 2), comment="slow", ticket=email_case)
    survey(at(4), rating=4, answered=at(4, 1), ticket=email_case)
    survey(SINCE - timedelta(days=1), rating=5, answered=at(5), comment="late answer", ticket=portal_case)

    assert metrics.csat_by_channel_figures(WINDOW) == {
        "chat": {"sent": 2, "responses": 1, "response_rate_percent": 50.0, "positive": 1, "positive_percent": 100.0},
        "email": {"sent": 2, "responses": 2, "response_rate_percent": 100.0, "positive": 1, "positive_percent": 50.0},
    }
    comments = metrics.csat_comments(WINDOW)["rows"]
    assert [(row["comment"], row["rating"]) for row in comments] == [("late answer", 5), ("slow", 2), ("great", 5)]
    assert comments[1]["case"] == email_case.case_number


def test_every_operations_panel_takes_a_bounded_number_of_queries(agent_day):
    """However many rows: each panel is a fixed handful of aggregate queries."""
    for key in ("live_chat", "phone", "bot", "helpcentre", "csat", "agents"):
        for entry in metrics.panels(key):
            with CaptureQueriesContext(connection) as queries:
                entry.compute(WINDOW)
            assert len(queries) <= 8, (entry.key, len(queries))


def test_the_bots_hand_off_reply_keeps_why_it_handed_off(alice):
    """The reply that hands the conversation to a person carries the reason; the bot's other
    replies, and a repeat request once handed off, carry none (each hand-off is counted once)."""
    from kefu.bot.tests.support import Chat

    conversation = Chat(alice)
    conversation.say("你好")
    reply = conversation.say("转人工")
    assert reply.handoff is not None
    conversation.say("转人工")
    reasons = list(
        Message.objects.filter(sender=Sender.BOT, extra__has_key="handoff_reason").values_list(
            "extra__handoff_reason", flat=True
        )
    )
    assert reasons == ["requested"]
    assert metrics.bot_figures(metrics.Window(timezone.now() - timedelta(hours=1), timezone.now() + timedelta(hours=1)))[
        "handoff_reasons"
    ] == {"requested": 1}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="JIT is PostgreSQL's")
@pytest.mark.django_db(transaction=True)  # as a request runs: no transaction around it
def test_the_probing_queries_run_without_jit_and_only_inside():
    """Containment and the agents' pass switch JIT off for their own transaction only."""
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        before = cursor.fetchone()[0]
        with metrics.without_jit():
            cursor.execute("SHOW jit")
            assert cursor.fetchone()[0] == "off"
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == before
