"""Due times in the agents' lists: the next deadline, a breach badge, sorting by due, the overdue view."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from kefu.conftest import login
from kefu.sla.actions import sweep_due_timers
from kefu.sla.models import SlaPolicy, SlaTimer, TimerKind
from kefu.tickets import actions, selectors
from kefu.tickets.models import Category, Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def policy(db) -> SlaPolicy:
    return SlaPolicy.objects.create(
        name="All",
        first_reply_minutes=60,
        first_reply_business=False,
        resolution_minutes=600,
        resolution_business=False,
    )


def file(customer, title: str, category: str = "deposit-not-credited") -> Ticket:
    return actions.check_create_ticket(
        customer=customer, category=Category.objects.get(slug=category), title=title, description="d"
    ).ticket


def due_in(ticket: Ticket, minutes: float) -> None:
    """Move the ticket's first-reply deadline (as if it had been filed earlier or later)."""
    due = timezone.now() + timedelta(minutes=minutes)
    SlaTimer.objects.filter(ticket=ticket, kind=TimerKind.FIRST_REPLY).update(due_at=due, warn_at=due)


def titles(html: str) -> list[str]:
    return re.findall(r'<td data-label="[^"]+" class="wrap">([^<]+)', html)


def test_the_list_shows_the_next_deadline_and_a_breach_badge(policy, alice, agent):
    late, soon = file(alice, "迟了"), file(alice, "快到了")
    due_in(late, -90)
    due_in(soon, 30)
    sweep_due_timers()  # marks the missed one breached, as the periodic job does
    html = login(agent).get(reverse("tickets:workspace") + "?queue=team&team=assets").content.decode()
    rows = {titles(row)[0]: row for row in re.findall(r"<tr class=.*?</tr>", html, re.DOTALL)}
    assert "逾期" in rows["迟了"] or "overdue" in rows["迟了"]
    assert 'class="badge danger"' in rows["迟了"] and 'class="overdue"' in rows["迟了"]
    assert 'class="badge danger"' not in rows["快到了"] and 'class="overdue"' not in rows["快到了"]


def test_sort_by_due_lists_the_soonest_deadline_first_and_pages_without_repeats(
    settings, policy, alice, agent
):
    tickets = [file(alice, f"t{i}") for i in range(5)]
    for minutes, ticket in zip([50, -10, 20, 5, 40], tickets, strict=True):
        due_in(ticket, minutes)
    actions.do_assign(ticket=tickets[4], actor=agent, assignee=agent)  # in two of the agent's lanes
    settings.KEFU_PAGE_SIZE = 2
    client = login(agent)
    url = reverse("tickets:workspace") + "?queue=all&sort=due"
    seen: list[str] = []
    while url:
        html = client.get(url).content.decode()
        seen += titles(html)
        more = re.search(r'href="(\?[^"]*cursor=[^"]+)"', html)
        url = reverse("tickets:workspace") + more.group(1).replace("&amp;", "&") if more else ""
    assert seen == ["t1", "t3", "t2", "t4", "t0"]


def test_sort_by_due_shows_only_what_the_agent_may_see(policy, alice, agent, tech_agent):
    file(alice, "资产组的")
    file(alice, "技术组的", category="app-not-opening")
    html = login(tech_agent).get(reverse("tickets:workspace") + "?queue=all&sort=due").content.decode()
    assert titles(html) == ["技术组的"]


def test_the_overdue_view_lists_what_is_past_its_deadline_with_its_count(policy, alice, agent, supervisor):
    late, later, fine = file(alice, "迟了很久"), file(alice, "刚迟"), file(alice, "还早")
    due_in(late, -120)
    due_in(later, -5)
    due_in(fine, 30)
    assert selectors.overdue_count(supervisor) == 2
    html = login(supervisor).get(reverse("tickets:workspace") + "?queue=overdue").content.decode()
    assert titles(html) == ["迟了很久", "刚迟"]
    assert re.search(r'overdue-queue[^>]*>[^<]+<span class="count danger">2</span>', html)


def test_the_due_columns_and_the_due_order_cost_the_same_queries_for_any_page_size(
    settings, policy, alice, agent
):
    for i in range(8):
        ticket = file(alice, f"t{i}")
        due_in(ticket, i * 10 - 20)
    sweep_due_timers()
    client = login(agent)

    def count(url: str) -> int:
        client.get(url)
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    for url in ("?queue=team&team=assets", "?queue=all&sort=due", "?queue=overdue"):
        settings.KEFU_PAGE_SIZE = 2
        small = count(reverse("tickets:workspace") + url)
        settings.KEFU_PAGE_SIZE = 8
        assert count(reverse("tickets:workspace") + url) == small, url


@pytest.mark.skipif(connection.vendor != "postgresql", reason="index plans: PostgreSQL")
def test_on_postgresql_the_due_order_is_read_from_the_deadline_index(policy, alice, supervisor):
    for i in range(3):
        file(alice, f"t{i}")
    page_sql = []
    with CaptureQueriesContext(connection) as ctx:
        selectors.due_page(supervisor, queue="all", status="active", size=2)
    page_sql = [q["sql"] for q in ctx.captured_queries if "sla_slatimer" in q["sql"]]
    with connection.cursor() as cursor:
        # A tiny table is read whole otherwise; what matters is that the index can give the order.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute("EXPLAIN " + page_sql[0])
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "sla_timer_running" in plan and "Sort" not in plan.split("\n")[0], plan


def test_the_overdue_count_stops_at_its_cap(monkeypatch, policy, alice, supervisor):
    """A desk far behind reads a bounded stretch of the deadline index for the sidebar's count."""
    monkeypatch.setattr(selectors, "OVERDUE_COUNT_CAP", 2)
    for i in range(4):
        due_in(file(alice, f"t{i}"), -10 - i)
    assert selectors.overdue_count(supervisor) == 3
    html = login(supervisor).get(reverse("tickets:workspace") + "?queue=overdue").content.decode()
    assert '<span class="count danger">2+</span>' in html
