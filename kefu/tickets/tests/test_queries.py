"""Lists stay O(1) in queries: the count does not grow with the page size."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from kefu.conftest import bearer, login
from kefu.tickets import actions
from kefu.tickets.models import Category

pytestmark = pytest.mark.django_db


def make_tickets(customer, agent, n: int) -> None:
    category = Category.objects.get(slug="deposit-not-credited")
    for i in range(n):
        ticket = actions.check_create_ticket(
            customer=customer, category=category, title=f"t{i}", description="d"
        ).ticket
        actions.do_assign(ticket=ticket, actor=agent, assignee=agent)


def count_queries(client, url: str) -> int:
    client.get(url)  # warm up: first requests stamp sessions and tokens
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize(
    "url",
    [
        reverse("tickets:workspace") + "?queue=mine",
        reverse("tickets:workspace") + "?queue=team&team=assets",
        reverse("tickets:workspace") + "?queue=unassigned&status=any",
    ],
)
def test_workspace_queue_queries_do_not_grow_with_page_size(settings, alice, agent, url):
    make_tickets(alice, agent, 12)
    client = login(agent)
    settings.KEFU_PAGE_SIZE = 2
    small = count_queries(client, url)
    settings.KEFU_PAGE_SIZE = 10
    large = count_queries(client, url)
    assert small == large


def test_portal_list_queries_do_not_grow_with_page_size(settings, alice, agent):
    make_tickets(alice, agent, 12)
    client = login(alice)
    settings.KEFU_PAGE_SIZE = 2
    small = count_queries(client, reverse("tickets:portal"))
    settings.KEFU_PAGE_SIZE = 10
    assert count_queries(client, reverse("tickets:portal")) == small


def test_api_list_queries_do_not_grow_with_limit(alice, agent):
    make_tickets(alice, agent, 12)
    for client in (bearer(alice), bearer(agent)):
        client.get("/api/v1/tickets")  # the first call stamps the token's last use
        assert count_queries(client, "/api/v1/tickets?limit=2") == count_queries(
            client, "/api/v1/tickets?limit=10"
        )


def test_ticket_detail_queries_do_not_grow_with_thread_length(alice, agent):
    make_tickets(alice, agent, 1)
    from kefu.tickets.models import Ticket

    ticket = Ticket.objects.get()
    client = login(agent)
    url = reverse("tickets:workspace_ticket", args=[ticket.case_number])
    before = count_queries(client, url)
    for i in range(5):
        actions.check_add_message(ticket=ticket, author=alice, body=f"more {i}")
    assert count_queries(client, url) == before


@pytest.mark.skipif(connection.vendor != "postgresql", reason="UNION ALL of LIMITed lanes: PostgreSQL")
def test_on_postgresql_more_teams_do_not_mean_more_queries(alice):
    from kefu.conftest import make_user
    from kefu.tickets.selectors import page_of, queue_lanes

    two = make_user("two-teams@example.com", "agent", ("assets", "accounts"))
    many = make_user("many-teams@example.com", "agent", ("assets", "accounts", "general", "tech"))
    categories = ["deposit-not-credited", "password-reset", "withdrawal-issue"]
    for i in range(9):
        actions.check_create_ticket(
            customer=alice,
            category=Category.objects.get(slug=categories[i % 3]),
            title=f"t{i}",
            description="d",
        )
    url = reverse("tickets:workspace") + "?queue=unassigned"
    assert count_queries(login(two), url) == count_queries(login(many), url)
    # ...and the merged page is still newest first across the lanes.
    page = page_of(queue_lanes(many, queue="unassigned"), cursor=None, size=4)
    stamps = [(t.updated_at, t.pk) for t in page.items]
    assert stamps == sorted(stamps, reverse=True) and len(page.items) == 4 and page.next_cursor
