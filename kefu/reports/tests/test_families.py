"""The ticket report families (volume, response times, service levels, backlog) against
hand-computed fixtures; the shared filters; drill-down to the cases; CSV and Excel exports.

The fixture (site time zone Asia/Shanghai; the default business calendar is Monday-Friday
09:00-18:00 there; 2 November 2026 is a Monday):

====  ====================  =======  ==========  ====  ======  ===================  =============
case  created (local)       channel  category    team  agent   first reply after    resolved after
====  ====================  =======  ==========  ====  ======  ===================  =============
t1    Mon 11-02 10:00       email    deposit     A     ann     600 s (biz 600)      7200 s (biz 7200)
t2    Mon 11-02 17:30       portal   deposit     A     bob     57600 s (biz 3600)   —
t3    Tue 11-03 14:00       chat     withdrawal  B     —       1200 s (biz 1200)    86400 s (biz 32400)
t4    Sat 11-07 11:00       email    withdrawal  B     ann     300 s (biz 0)        —
====  ====================  =======  ==========  ====  ======  ===================  =============

Not counted: a case still with the bot, a merged duplicate, one created the day after.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from kefu.accounts.models import Role, Team
from kefu.conftest import login, make_user
from kefu.helpcenter.models import Announcement
from kefu.reports import metrics
from kefu.sla.models import SlaTimer, TimerKind
from kefu.tickets.actions import create_case
from kefu.tickets.models import Category, Status, Ticket

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
PERIOD = "since=2026-11-02&until=2026-11-07"  # both days included


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=SHANGHAI)


def window(**filters) -> metrics.Window:
    return metrics.Window(since=local(2, 0), until=local(8, 0), **filters)


def case(created, *, channel, category, team=None, agent=None, reply=None, resolved=None, **extra) -> Ticket:
    ticket = create_case(
        customer=None,
        category=Category.objects.get(slug=category),
        title="t",
        description="d",
        channel=channel,
        language="en",
        **extra,
    )
    Ticket.objects.filter(pk=ticket.pk).update(
        created_at=created,
        team=team,
        assignee=agent,
        first_response_at=created + timedelta(seconds=reply) if reply is not None else None,
        resolved_at=created + timedelta(seconds=resolved) if resolved is not None else None,
        status=extra.get("status", Status.RESOLVED if resolved is not None else Status.OPEN),
    )
    ticket.refresh_from_db()
    return ticket


def timer(ticket, kind, *, met_after=None, breached=False):
    due = ticket.created_at + timedelta(hours=1)
    met = ticket.created_at + timedelta(seconds=met_after) if met_after is not None else None
    SlaTimer.objects.create(
        ticket=ticket,
        kind=kind,
        target_seconds=3600,
        started_at=ticket.created_at,
        due_at=due,
        met_at=met,
        breached_at=due if breached else None,
    )


@pytest.fixture
def world(db):
    team_a = Team.objects.create(slug="rep-a", name_zh="甲组", name_en="Team A")
    team_b = Team.objects.create(slug="rep-b", name_zh="乙组", name_en="Team B")
    ann = make_user("ann@example.com", Role.AGENT)
    bob = make_user("bob@example.com", Role.AGENT)
    t1 = case(
        local(2, 10),
        channel="email",
        category="deposit-not-credited",
        team=team_a,
        agent=ann,
        reply=600,
        resolved=7200,
    )
    t2 = case(
        local(2, 17, 30),
        channel="portal",
        category="deposit-not-credited",
        team=team_a,
        agent=bob,
        reply=57600,
    )
    t3 = case(
        local(3, 14), channel="chat", category="withdrawal-issue", team=team_b, reply=1200, resolved=86400
    )
    t4 = case(local(7, 11), channel="email", category="withdrawal-issue", team=team_b, agent=ann, reply=300)
    case(local(3, 9), channel="bot", category="deposit-not-credited", status=Status.BOT)
    case(local(4, 9), channel="email", category="deposit-not-credited", team=team_a, merged_into=t1)
    case(local(8, 0), channel="email", category="deposit-not-credited", team=team_a, agent=ann, reply=1)
    SlaTimer.objects.all().delete()
    timer(t1, TimerKind.FIRST_REPLY, met_after=600)  # met
    timer(t2, TimerKind.FIRST_REPLY, breached=True)  # breached
    timer(t3, TimerKind.RESOLUTION, met_after=1800)  # met
    timer(t4, TimerKind.FIRST_REPLY, met_after=7200)  # met late: breached
    return {"a": team_a, "b": team_b, "ann": ann, "bob": bob, "t1": t1, "t2": t2, "t3": t3, "t4": t4}


def counts(result, key="count"):
    return {row["name"]: row[key] for row in result["rows"]}


def test_volume_by_channel_category_hour_and_day(world):
    by_channel = metrics.volume_by_channel(window())
    assert [(r["drill"]["channel"], r["count"]) for r in by_channel["rows"]] == [
        ("email", 2),
        ("chat", 1),
        ("portal", 1),
    ]
    by_category = metrics.volume_by_category(window())
    assert sorted(r["count"] for r in by_category["rows"]) == [2, 2]
    assert {r["drill"]["category"] for r in by_category["rows"]} == {
        "deposit-not-credited",
        "withdrawal-issue",
    }
    by_hour = counts(metrics.volume_by_hour(window()))
    assert len(by_hour) == 24 and sum(by_hour.values()) == 4
    assert (by_hour["10:00"], by_hour["17:00"], by_hour["14:00"], by_hour["11:00"]) == (1, 1, 1, 1)
    by_day = counts(metrics.volume_by_day(window()))
    assert by_day == {
        "2026-11-02": 2, "2026-11-03": 1, "2026-11-04": 0, "2026-11-05": 0,
        "2026-11-06": 0, "2026-11-07": 1,
    }  # fmt: skip


def test_announcements_are_marked_on_the_timeline(world):
    Announcement.objects.create(
        title_zh="充值延迟", title_en="Deposit delays", starts_at=local(3, 12), ends_at=local(4, 20)
    )
    Announcement.objects.create(title_zh="旧", title_en="Old", starts_at=local(1, 1), ends_at=local(1, 5))
    from django.utils.translation import override

    with override("en"):
        marks = metrics.volume_by_day(window())["marks"]
    assert marks == [
        {"name": "Deposit delays", "kind": marks[0]["kind"], "start": "2026-11-03", "end": "2026-11-04"}
    ]


def test_first_reply_and_resolution_by_team_and_agent_in_calendar_and_business_time(world):
    def by_name(result):
        return {row["name"]: row for row in result["rows"]}

    teams = by_name(metrics.first_reply_by_team(window()))
    a, b = (
        teams["甲组"] if "甲组" in teams else teams["Team A"],
        teams["乙组"] if "乙组" in teams else teams["Team B"],
    )
    # Team A: 600 and 57600 s; business 600 and 3600 (Mon 17:30-18:00 + Tue 09:00-09:30).
    assert (a["count"], a["median"], a["p90"]) == (2, 29100.0, 51900.0)
    assert (a["business_median"], a["business_p90"]) == (2100.0, 3300.0)
    # Team B: 1200 and 300 s; business 1200 and 0 (a Saturday).
    assert (b["count"], b["median"], b["p90"]) == (2, 750.0, 1110.0)
    assert (b["business_median"], b["business_p90"]) == (600.0, 1080.0)
    agents = by_name(metrics.first_reply_by_agent(window()))
    assert (agents["ann@example.com"]["median"], agents["ann@example.com"]["p90"]) == (450.0, 570.0)
    assert agents["bob@example.com"]["median"] == 57600.0
    unassigned = [row for name, row in agents.items() if name not in ("ann@example.com", "bob@example.com")]
    assert [(row["count"], row["median"]) for row in unassigned] == [(1, 1200.0)]
    rows = metrics.resolution_by_team(window())["rows"]
    # t1: 10:00-12:00 on a Monday; t3: Tue 14:00-18:00 + Wed 09:00-14:00 = 9 h of business time.
    assert sorted((r["count"], r["median"], r["business_median"]) for r in rows) == [
        (1, 7200.0, 7200.0),
        (1, 86400.0, 32400.0),
    ]


def test_sla_by_target_and_team(world):
    targets = {row["name"]: row for row in metrics.sla_by_target(window())["rows"]}
    first = next(row for row in targets.values() if row["met"] + row["breached"] == 3)
    assert (first["met"], first["breached"], first["achievement"]) == (1, 2, 33.3)
    resolution = next(row for row in targets.values() if row["met"] + row["breached"] == 1)
    assert (resolution["met"], resolution["breached"], resolution["achievement"]) == (1, 0, 100.0)
    teams = sorted((r["met"], r["breached"], r["achievement"]) for r in metrics.sla_by_team(window())["rows"])
    assert teams == [(1, 1, 50.0), (1, 1, 50.0)]


def test_backlog_by_age_and_team(world):
    now = timezone.now()
    for hours in (0.5, 2, 30):
        case(now - timedelta(hours=hours), channel="portal", category="deposit-not-credited", team=world["a"])
    backlog = counts(metrics.backlog_age(window()))
    values = list(backlog.values())
    # The backlog has no period: open now are t2, t4 and the case of 11-08 (over 7 days old) and
    # the three new ones. Under 1 h, 1-4 h, 4-24 h, 1-3 d, 3-7 d, over 7 d, all.
    assert values == [1, 1, 0, 1, 0, 3, 6]
    by_team = {row["drill"]["team"]: row["count"] for row in metrics.backlog_by_team(window())["rows"]}
    assert by_team == {world["a"].pk: 5, world["b"].pk: 1}  # A: t2, 11-08, the three new; B: t4
    ann = metrics.backlog_by_team(window(agent=world["ann"].pk))["rows"]
    assert {row["drill"]["team"]: row["count"] for row in ann} == {world["a"].pk: 1, world["b"].pk: 1}


def test_filters_narrow_every_ticket_figure(world):
    a, ann = world["a"], world["ann"]
    assert sorted(r["count"] for r in metrics.volume_by_channel(window(team=a.pk))["rows"]) == [1, 1]
    assert {r["drill"]["channel"] for r in metrics.volume_by_channel(window(team=a.pk))["rows"]} == {
        "email",
        "portal",
    }
    email = metrics.volume_by_category(window(channel="email"))
    assert sorted(r["count"] for r in email["rows"]) == [1, 1]
    withdrawal = metrics.volume_by_channel(window(category="withdrawal-issue"))
    assert {r["drill"]["channel"]: r["count"] for r in withdrawal["rows"]} == {"chat": 1, "email": 1}
    assert {
        r["drill"]["channel"]: r["count"] for r in metrics.volume_by_channel(window(agent=ann.pk))["rows"]
    } == {"email": 2}
    summary = metrics.summary(window(team=world["b"].pk))
    assert summary["tickets_created"]["total"] == 2
    assert (summary["first_reply_seconds"]["median"], summary["sla"]["met"], summary["sla"]["breached"]) == (
        750.0,
        1,
        1,
    )
    # Survey answers have no ticket filter: the figure says it ignores them.
    assert metrics.METRICS["csat"].filters == frozenset()


def test_family_pages_are_for_supervisors_with_drill_down_to_the_cases(world):
    supervisor = make_user("boss@example.com", Role.SUPERVISOR)
    assert login(world["ann"]).get(f"/reports/volume/?{PERIOD}").status_code == 404
    assert login(world["ann"]).get(f"/reports/volume/export.csv?{PERIOD}").status_code == 404
    client = login(supervisor)
    assert client.get("/reports/nothing/").status_code == 404
    for key in ("volume", "times", "service_levels", "backlog"):
        assert client.get(f"/reports/{key}/?{PERIOD}").status_code == 200, key
    page = client.get(f"/reports/volume/?{PERIOD}&team=rep-b", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'id="chart-volume_by_channel"' in page and "report-panels" in page
    link = "/workspace/?report=1&amp;status=any&amp;created_from=2026-11-02&amp;created_to=2026-11-07&amp;team=rep-b&amp;channel=email"
    assert link in page
    listing = client.get(link.replace("&amp;", "&")).content.decode()
    assert world["t4"].case_number in listing
    assert world["t1"].case_number not in listing and world["t3"].case_number not in listing
    by_day = client.get(
        "/workspace/?report=1&status=any&created_from=2026-11-02&created_to=2026-11-02"
    ).content.decode()
    assert world["t1"].case_number in by_day and world["t2"].case_number in by_day
    assert world["t3"].case_number not in by_day


def test_exports_are_translated_and_formula_safe(world):
    supervisor = make_user("boss@example.com", Role.SUPERVISOR)
    Category.objects.filter(slug="withdrawal-issue").update(name_en='=HYPERLINK("http://x")', name_zh="@提现")
    client = login(supervisor)
    response = client.get(f"/reports/volume/export.csv?{PERIOD}", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert ["Tickets by channel"] in rows and ["Category", "Tickets"] in rows
    assert ['\'=HYPERLINK("http://x")', "2"] in rows
    assert not any(cell.startswith(("=", "+", "@")) for row in rows for cell in row)
    chinese = client.get(f"/reports/volume/export.csv?{PERIOD}", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "工单" in chinese.content.decode("utf-8-sig") and "'@提现" in chinese.content.decode("utf-8-sig")
    times = client.get(f"/reports/times/export.csv?{PERIOD}", HTTP_ACCEPT_LANGUAGE="en").content.decode(
        "utf-8-sig"
    )
    assert "Median (seconds)" in times and "29100.0" in times

    from openpyxl import load_workbook  # type: ignore[import-untyped]

    book = load_workbook(
        io.BytesIO(client.get(f"/reports/volume/export.xlsx?{PERIOD}", HTTP_ACCEPT_LANGUAGE="en").content)
    )
    sheet = book["Tickets by category"]
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert values[0] == ["Category", "Tickets"]
    assert ['\'=HYPERLINK("http://x")', 2] in values
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
    assert client.get(f"/reports/volume/export.pdf?{PERIOD}").status_code == 404


def test_the_drill_down_list_is_for_supervisors_and_shows_only_visible_cases(world):
    """An agent's ``report=1`` is ignored (their usual queues), and never widens what they see."""
    from kefu.accounts.actions import do_add_team_member

    do_add_team_member(team=world["a"], user=world["bob"])
    url = "/workspace/?report=1&status=any&created_from=2026-11-02&created_to=2026-11-07"
    listing = login(world["bob"]).get(url).content.decode()
    assert world["t3"].case_number not in listing and world["t4"].case_number not in listing  # team B's
    boss = login(make_user("boss@example.com", Role.SUPERVISOR)).get(url).content.decode()
    assert all(world[t].case_number in boss for t in ("t1", "t2", "t3", "t4"))


def test_a_figure_says_which_chosen_filter_it_ignores(world):
    client = login(make_user("boss@example.com", Role.SUPERVISOR))
    page = client.get(f"/reports/?{PERIOD}&channel=email", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    csat_card = page.split('id="card-csat"')[1].split("</div>")[0]
    assert "This figure ignores the filter by channel." in csat_card
    assert "ignores the filter" not in page.split('id="card-csat"')[0]  # the ticket figures honour it
    chinese = client.get(f"/reports/?{PERIOD}&channel=email", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "此指标不按渠道筛选。" in chinese


def test_sla_counts_link_to_the_cases_that_met_or_breached(world):
    client = login(make_user("boss@example.com", Role.SUPERVISOR))
    page = client.get(f"/reports/service_levels/?{PERIOD}", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    base = "/workspace/?report=1&amp;status=any&amp;created_from=2026-11-02&amp;created_to=2026-11-07"
    breached_first_reply = f"{base}&amp;sla_target=first_reply&amp;sla=breached"
    assert breached_first_reply in page
    listing = client.get(breached_first_reply.replace("&amp;", "&")).content.decode()
    # First-reply targets breached: t2 (marked) and t4 (met late); t1 met its target.
    assert world["t2"].case_number in listing and world["t4"].case_number in listing
    assert world["t1"].case_number not in listing and world["t3"].case_number not in listing
    met_team_b = f"{base}&amp;team=rep-b&amp;sla=met"
    assert met_team_b in page
    listing = client.get(met_team_b.replace("&amp;", "&")).content.decode()
    assert world["t3"].case_number in listing and world["t4"].case_number not in listing
