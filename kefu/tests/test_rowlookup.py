"""kefu.rowlookup: a lookup compiled once gives the instances the ORM gives, reads the database
every time (a revoked token or a changed user counts at once), and is one statement."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from kefu.accounts.actions import authenticate_api_token, do_create_api_token, token_digest
from kefu.accounts.models import ApiToken, Role, User
from kefu.conftest import bearer
from kefu.inbox.models import ContactIdentity, Inbox, InboxKind
from kefu.rowlookup import RowLookup

pytestmark = pytest.mark.django_db


def _values(instance) -> dict:
    return {f.attname: getattr(instance, f.attname) for f in type(instance)._meta.concrete_fields}


def test_a_token_with_its_user_is_what_the_orm_reads(alice):
    raw = do_create_api_token(user=alice, name="t")
    ApiToken.objects.update(last_used_at=timezone.now() - timedelta(hours=1))  # a datetime to convert
    lookup = RowLookup(ApiToken, "digest", related="user")
    with CaptureQueriesContext(connection) as queries:
        token = lookup.get(token_digest(raw))
        user = token.user  # joined: no second query
    assert len(queries.captured_queries) == 1
    assert "ORDER BY" not in queries.captured_queries[0]["sql"]
    orm = ApiToken.objects.select_related("user").get(digest=token_digest(raw))
    assert _values(token) == _values(orm) and _values(user) == _values(orm.user)
    assert token._state.db == orm._state.db and not token._state.adding
    assert token.get_deferred_fields() == set() and user.get_deferred_fields() == set()
    assert lookup.get("0" * 64) is None


def test_a_contact_by_inbox_and_address(alice):
    inbox = Inbox.objects.create(kind=InboxKind.API, name="api-test")
    contact = ContactIdentity.objects.create(inbox=inbox, address="a@example.com", customer=alice)
    lookup = RowLookup(ContactIdentity, "inbox", "address")
    found = lookup.get(inbox, "a@example.com")
    assert found.pk == contact.pk and _values(found) == _values(ContactIdentity.objects.get(pk=contact.pk))
    assert lookup.get(inbox.pk, "a@example.com").pk == contact.pk  # by key as well
    assert lookup.get(inbox, "b@example.com") is None


def test_a_revoked_token_or_a_deactivated_user_stops_at_the_next_request(alice):
    client = bearer(alice)
    assert client.get("/api/v1/tickets").status_code == 200
    alice.is_active = False
    alice.save()
    assert client.get("/api/v1/tickets").status_code == 401
    alice.is_active = True
    alice.save()
    assert client.get("/api/v1/tickets").status_code == 200
    ApiToken.objects.filter(user=alice).delete()
    assert client.get("/api/v1/tickets").status_code == 401


def test_a_role_change_counts_at_the_next_request(alice):
    raw = do_create_api_token(user=alice)
    assert authenticate_api_token(raw).role == Role.CUSTOMER
    User.objects.filter(pk=alice.pk).update(role=Role.AGENT)
    assert authenticate_api_token(raw).is_agent


def test_inserted_rows_are_what_the_orm_reads_back(alice):
    from django.db.models.signals import post_save

    from kefu.audit.models import AuditEvent
    from kefu.rowlookup import insert

    first, second = insert(
        AuditEvent(actor=alice, action="x.one", target_type="t", target_id="1", data={"k": ["v", 1]}),
        AuditEvent(actor=None, action="x.two", target_type="t", target_id="2", data={}, ip_address="10.0.0.1"),
    )
    assert first.pk and second.pk and first.pk != second.pk and not first._state.adding
    assert first.created_at is not None  # auto_now_add filled as save() would
    for made in (first, second):
        stored = AuditEvent.objects.get(pk=made.pk)
        assert _values(made) == _values(stored)  # the keys came back in the rows' order
    heard = []

    def receiver(sender, instance, created, **kwargs):
        heard.append((instance.action, created))

    post_save.connect(receiver, sender=AuditEvent, dispatch_uid="test-rowlookup")
    try:  # a model that gains a save signal is saved the ORM's way, its receivers told
        (third,) = insert(AuditEvent(action="x.three", target_type="t", target_id="3", data={}))
    finally:
        post_save.disconnect(sender=AuditEvent, dispatch_uid="test-rowlookup")
    assert heard == [("x.three", True)] and AuditEvent.objects.filter(pk=third.pk).exists()


def test_a_taken_case_number_writes_nothing_and_the_transaction_goes_on(alice):
    """create_case draws again on a collision without a savepoint: ON CONFLICT (case_number)
    DO NOTHING. Inside one transaction on PostgreSQL a failed statement would abort it."""
    from django.db import transaction

    from kefu.rowlookup import insert
    from kefu.tickets.actions import create_case
    from kefu.tickets.models import Category, Ticket

    category = Category.objects.filter(is_active=True, parent__isnull=False).first()
    with transaction.atomic():
        first = create_case(customer=alice, title="a", category=category)
        again = Ticket(case_number=first.case_number, customer=alice, title="b", category=category)
        with CaptureQueriesContext(connection) as queries:
            assert insert(again, unless_taken="case_number") == []
        assert again.pk is None and again._state.adding
        assert not [q for q in queries.captured_queries if "SAVEPOINT" in q["sql"]]
        second = create_case(customer=alice, title="c", category=category)  # still usable
    assert Ticket.objects.filter(case_number=first.case_number).get().title == "a"
    assert second.pk and second.case_number != first.case_number
    with pytest.raises(ValueError):
        insert(again, again, unless_taken="case_number")


def test_replacing_overwrites_a_taken_row_in_one_statement_compiled_once(alice):
    """The search terms of a new case: a row may already exist (a case indexed before it became
    a ticket), so the insert replaces it — bulk_create(update_conflicts=True)'s upsert, with
    its SQL built once instead of on every create."""
    from django.db import transaction

    from kefu.rowlookup import insert
    from kefu.tickets.actions import create_case
    from kefu.tickets.models import Category, TicketSearch

    category = Category.objects.filter(is_active=True, parent__isnull=False).first()
    with transaction.atomic():
        ticket = create_case(customer=alice, title="a", category=category)
        with CaptureQueriesContext(connection) as queries:
            insert(
                TicketSearch(ticket=ticket, title_terms="old", public_terms="p", internal_terms="i"),
                replacing="ticket",
            )
            insert(
                TicketSearch(ticket=ticket, title_terms="new", public_terms="q", internal_terms=""),
                replacing="ticket",
            )
        assert len(queries.captured_queries) == 2
        assert all("ON CONFLICT" in q["sql"] and "DO UPDATE" in q["sql"] for q in queries.captured_queries)
    row = TicketSearch.objects.get(ticket=ticket)
    assert (row.title_terms, row.public_terms, row.internal_terms) == ("new", "q", "")
    with pytest.raises(ValueError):
        insert(row, row, replacing="ticket")
