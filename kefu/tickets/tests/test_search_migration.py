"""Upgrading: tickets from before search are indexed by migration 0007, then found."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader

from kefu.conftest import make_user
from kefu.tickets import search
from kefu.tickets.models import Category

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("tickets", "0004_split_bilingual_canned_titles")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def _latest():
    return [key for key in MigrationLoader(connection).graph.leaf_nodes()]


def test_existing_tickets_are_indexed_by_the_upgrade(agent):
    customer = make_user("upgrade@example.com")
    category = Category.objects.get(slug="deposit-not-credited")
    try:
        old = _migrate(BEFORE)
        Ticket = old.get_model("tickets", "Ticket")
        Message = old.get_model("tickets", "Message")
        ticket = Ticket.objects.create(
            case_number="KF-20261207-00000001",
            customer_id=customer.pk,
            category_id=category.pk,
            team_id=category.routed_team().pk,
            title="旧工单",
            description="升级之前的问题",
        )
        Message.objects.create(ticket=ticket, kind="public", body="升级之前的问题")
        Message.objects.create(ticket=ticket, kind="internal", body="内部 oldnote")
        _migrate(_latest())
        assert [h.ticket.case_number for h in search.search_tickets(agent, "升级之前").hits] == [
            ticket.case_number
        ]
        assert [h.ticket.case_number for h in search.search_tickets(agent, "oldnote").hits] == [
            ticket.case_number
        ]
        assert search.search_tickets(customer, "oldnote").hits == []
    finally:
        _migrate(_latest())
