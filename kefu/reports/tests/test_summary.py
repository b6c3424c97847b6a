"""The reports summary API against hand-computed fixtures: which tickets count, first-reply
percentiles, SLA met/breached, CSAT; who may read it; bad dates; bounded queries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from kefu.accounts.models import Role
from kefu.conftest import bearer, make_user
from kefu.csat.models import CsatSurvey
from kefu.reports import metrics
from kefu.sla.models import SlaTimer, TimerKind
from kefu.tickets.actions import create_case
from kefu.tickets.models import Category, Status, Ticket

pytestmark = pytest.mark.django_db

SINCE = datetime(2026, 11, 1, tzinfo=UTC)
UNTIL = datetime(2026, 11, 8, tzinfo=UTC)
URL = "/api/v1/reports/summary?since=2026-11-01T00:00:00Z&until=2026-11-08T00:00:00Z"


def at(day: int, hour: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, 0, second, tzinfo=UTC)


def ticket(
    created: datetime, *, channel: str, category: str, reply_after: int | None = None, **extra
) -> Ticket:
    case = create_case(
        customer=None,
        category=Category.objects.get(slug=category),
        title="t",
        description="d",
        channel=channel,
        language="en",
        **extra,
    )
    first = created + timedelta(seconds=reply_after) if reply_after is not None else None
    # created_at is auto_now_add: the fixture's times are written afterwards.
    Ticket.objects.filter(pk=case.pk).update(created_at=created, first_response_at=first)
    case.refresh_from_db()
    return case


def timer(
    case: Ticket, kind: str, *, due: datetime, met: datetime | None = None, breached: datetime | None = None
):
    return SlaTimer.objects.create(
        ticket=case,
        kind=kind,
        target_seconds=3600,
        started_at=case.created_at,
        due_at=due,
        met_at=met,
        breached_at=breached,
    )


@pytest.fixture
def fixture_tickets(db):
    """Counted (5): t1 at ``since`` exactly, t2..t5. Not counted: one a second before ``since``,
    one at ``until`` exactly (exclusive), a case still with the bot, a merged duplicate."""
    t1 = ticket(SINCE, channel="portal", category="deposit-not-credited", reply_after=60)
    t2 = ticket(at(2), channel="email", category="deposit-not-credited", reply_after=120)
    t3 = ticket(at(3), channel="chat", category="withdrawal-issue", reply_after=300)
    t4 = ticket(at(4), channel="api", category="withdrawal-issue", reply_after=600)
    t5 = ticket(at(5), channel="portal", category="deposit-not-credited")  # no reply yet
    before = ticket(
        SINCE - timedelta(seconds=1), channel="portal", category="deposit-not-credited", reply_after=1
    )
    ticket(UNTIL, channel="email", category="deposit-not-credited", reply_after=1)
    ticket(at(3), channel="bot", category="deposit-not-credited", status=Status.BOT)
    ticket(at(6), channel="portal", category="deposit-not-credited", reply_after=5, merged_into=t1)
    SlaTimer.objects.all().delete()  # only the timers written below
    # met: t1's first reply in time. breached: t2's reply late (swept), t3's resolution overdue
    # and not yet swept when it was met late... (see each line). Neither: t4's open clock.
    timer(t1, TimerKind.FIRST_REPLY, due=at(1, 1), met=SINCE + timedelta(seconds=60))
    timer(
        t2,
        TimerKind.FIRST_REPLY,
        due=at(2, 0, 30),
        met=at(2, 0, 59) + timedelta(seconds=61),
        breached=at(2, 0, 31),
    )
    timer(t3, TimerKind.RESOLUTION, due=at(3, 2), met=at(3, 5))  # met late, before the sweep saw it
    timer(t4, TimerKind.FIRST_REPLY, due=at(4, 1))  # running, not due
    timer(t5, TimerKind.RESOLUTION, due=at(5, 1), breached=at(5, 1))
    timer(before, TimerKind.FIRST_REPLY, due=SINCE, breached=SINCE)  # another period's ticket
    return [t1, t2, t3, t4, t5]


@pytest.fixture
def surveys(db, alice):
    def survey(created: datetime, *, rating: int | None = None, answered: datetime | None = None):
        row = CsatSurvey.objects.create(
            customer=alice, rating=rating, answered_at=answered, expires_at=created + timedelta(days=14)
        )
        CsatSurvey.objects.filter(pk=row.pk).update(created_at=created)

    survey(at(1), rating=5, answered=at(1, 2))
    survey(at(2), rating=4, answered=at(2, 3))
    survey(at(3), rating=2, answered=at(3, 4))
    survey(at(4))  # offered, not answered
    survey(SINCE - timedelta(days=1), rating=1, answered=at(1, 1))  # offered before, answered in
    survey(at(7), rating=5, answered=UNTIL + timedelta(hours=1))  # answered after the period


def test_the_summary_matches_the_hand_computed_figures(fixture_tickets, surveys, supervisor):
    response = bearer(supervisor, "en").get(URL)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["tickets_created"] == {
        "total": 5,
        "by_channel": {"api": 1, "chat": 1, "email": 1, "portal": 2},
        "by_category": {"deposit-not-credited": 3, "withdrawal-issue": 2},
    }
    # Replies after 60, 120, 300, 600 s (t5 has none). Median: position 0.5 x 3 = 1.5, between
    # 120 and 300: 210. p90: position 0.9 x 3 = 2.7, 300 + 0.7 x (600 - 300) = 510.
    assert body["first_reply_seconds"] == {"count": 4, "median": 210.0, "p90": 510.0}
    # met: t1 first reply. breached: t2 (swept), t3 (met after its deadline), t5 (swept).
    assert body["sla"] == {
        "met": 1,
        "breached": 3,
        "by_target": {"first_reply": {"met": 1, "breached": 1}, "resolution": {"met": 0, "breached": 2}},
    }
    # Answered in the period: 5, 4, 2 and the 1 offered before it; positive: 5 and 4. Offered in
    # the period: the four of Nov 1-4 and the one of Nov 7.
    assert body["csat"] == {"responses": 4, "positive": 2, "sent": 5}
    assert "first public reply" in body["definitions"]["first_reply_seconds"]["definition"]


def test_an_odd_count_median_is_the_middle_value_and_p90_interpolates(db, supervisor):
    for seconds in (10, 20, 40):
        ticket(at(2), channel="portal", category="deposit-not-credited", reply_after=seconds)
    # n = 3: median position 1 -> 20; p90 position 1.8 -> 20 + 0.8 x (40 - 20) = 36.
    assert metrics.first_reply_seconds(metrics.Window(SINCE, UNTIL)) == {
        "count": 3,
        "median": 20.0,
        "p90": 36.0,
    }
    only = metrics.Window(at(1), at(2))
    assert metrics.first_reply_seconds(only) == {"count": 0, "median": None, "p90": None}


def test_a_new_ticket_shows_at_once(alice, supervisor):
    since = (timezone.now() - timedelta(hours=1)).isoformat()
    client = bearer(supervisor)
    before = client.get("/api/v1/reports/summary", {"since": since}).json()["tickets_created"]["total"]
    answer = bearer(alice).post(
        "/api/v1/tickets",
        {"category": "deposit-not-credited", "title": "Deposit", "description": "Not credited."},
        content_type="application/json",
    )
    assert answer.status_code == 201
    after = client.get("/api/v1/reports/summary", {"since": since}).json()["tickets_created"]
    assert after["total"] == before + 1 and after["by_channel"]["api"] >= 1


@pytest.mark.parametrize("role", [Role.CUSTOMER, Role.AGENT, Role.SPECIALIST])
def test_customers_and_agents_are_refused(role):
    user = make_user(f"{role}@example.com", role)
    assert bearer(user).get(URL).status_code == 403


def test_admins_may_read_and_anonymous_visitors_may_not(db, client):
    admin = make_user("admin@example.com", Role.ADMIN)
    assert bearer(admin).get(URL).status_code == 200
    assert client.get(URL).status_code == 401


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("since=yesterday", "since"),
        ("since=2026-13-01", "since"),
        ("until=2026-11-01T25:00:00", "until"),
        ("since=2026-11-08&until=2026-11-01", "until"),
        # Dates where the period's arithmetic would overflow (a 500 before).
        ("until=0001-01-05", "until"),
        ("since=0001-01-01", "since"),
        ("until=9999-12-31T23:59:59Z", "until"),
    ],
)
def test_bad_dates_are_a_400_with_a_translated_error(supervisor, query, field):
    english = bearer(supervisor, "en").get(f"/api/v1/reports/summary?{query}")
    chinese = bearer(supervisor, "zh-hans").get(f"/api/v1/reports/summary?{query}")
    assert english.status_code == chinese.status_code == 400
    message_en, message_zh = english.json()["errors"][field][0], chinese.json()["errors"][field][0]
    assert message_en.startswith(("Enter a date", "The end must"))
    assert message_zh != message_en and any("\u4e00" <= char <= "\u9fff" for char in message_zh)


def test_dates_without_an_offset_are_the_sites_time_zone_and_a_bare_date_its_midnight(supervisor, settings):
    answer = bearer(supervisor).get("/api/v1/reports/summary?since=2026-11-01&until=2026-11-02T12:00:00")
    assert answer.status_code == 200
    body = answer.json()
    assert datetime.fromisoformat(body["since"]) == datetime(
        2026, 11, 1, tzinfo=timezone.get_current_timezone()
    )
    assert datetime.fromisoformat(body["until"]) == datetime(
        2026, 11, 2, 12, tzinfo=timezone.get_current_timezone()
    )


def test_queries_stay_bounded_whatever_the_number_of_tickets(fixture_tickets, surveys, supervisor):
    client = bearer(supervisor)
    client.get(URL)  # the token's first use writes its last_used_at
    with CaptureQueriesContext(connection) as few:
        client.get(URL)
    for day in range(1, 8):
        for _ in range(5):
            ticket(at(day, 3), channel="portal", category="withdrawal-issue", reply_after=day * 7)
    with CaptureQueriesContext(connection) as many:
        client.get(URL)
    assert len(many.captured_queries) == len(few.captured_queries) <= 8


def test_every_metric_is_defined_once_in_its_translatable_definition():
    """One definition per metric: ``definition=`` (translated on the pages and in the API), no
    docstring repeating it."""
    from django.utils.translation import override

    with override("en"):
        for entry in metrics.METRICS.values():
            assert len(str(entry.definition).split()) > 5, entry.key
            assert entry.compute.__doc__ is None, entry.key
