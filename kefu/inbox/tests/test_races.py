"""Two deliveries of one message at the same moment (PostgreSQL): one case, and both answers name it."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest
from django.db import connection, connections

from kefu.conftest import bearer
from kefu.inbox import pipeline
from kefu.inbox.models import InboxKind
from kefu.inbox.tests.test_pipeline import hook_inbox  # noqa: F401 - the webhook-style channel
from kefu.tickets.actions import check_create_ticket
from kefu.tickets.models import Category, Ticket

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("a second session holding a row lock needs PostgreSQL (set KEFU_DATABASE_URL)")


def _waiting_on_a_lock(cursor: psycopg.Cursor, deadline: float) -> bool:
    """Whether another session waits on a lock (the request's insert behind ours), by a deadline."""
    while time.monotonic() < deadline:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        row = cursor.fetchone()
        if row and row[0]:
            return True
        time.sleep(0.05)
    return False


def test_the_same_idempotency_key_twice_at_once_answers_with_the_first_case(alice):
    first = check_create_ticket(
        customer=alice, category=Category.objects.get(slug="service-info"), title="First", description="d"
    ).ticket
    inbox = pipeline.default_inbox(InboxKind.API)
    key = pipeline.new_dedupe_key("race-1")
    # "The other request": its event is inserted but not committed yet, as when two requests
    # with one key run side by side; the request below cannot see it and opens a case.
    other = psycopg.connect(**connection.get_connection_params())
    other.execute(
        "INSERT INTO inbox_inboundevent (inbox_id, dedupe_key, payload, status, ignore_reason, attempts,"
        " last_error, received_at, processed_at, ticket_id) VALUES (%s, %s, '{}', 'processed', '', 1, '',"
        " now(), now(), %s)",
        [inbox.pk, key, first.pk],
    )
    answers: list = []

    def post() -> None:
        try:
            answers.append(
                bearer(alice, "en").post(
                    "/api/v1/tickets",
                    {"category": "service-info", "title": "Help", "description": "again"},
                    content_type="application/json",
                    HTTP_IDEMPOTENCY_KEY="race-1",
                )
            )
        finally:
            connections.close_all()

    request = threading.Thread(target=post)
    request.start()
    try:
        with psycopg.connect(**connection.get_connection_params()) as probe:
            deadline = time.monotonic() + 30
            assert _waiting_on_a_lock(probe.cursor(), deadline), "the request never reached its insert"
        other.commit()  # the other request finishes first
    finally:
        request.join(60)
        other.close()
    [answer] = answers
    assert answer.status_code == 201, answer.content[:2000]
    assert answer.json()["case_number"] == first.case_number
    assert list(Ticket.objects.filter(customer=alice)) == [first]  # ours rolled back


def test_two_messages_of_one_contact_at_once_each_keep_their_own_id(hook_inbox):  # noqa: F811
    """Two workers, two quick messages of one contact on a bot inbox: the second job waits for
    the first (the contact's lock), so it neither opens a second conversation nor takes the
    first job's freshly committed turn for its own (it did: a message carried another's id)."""
    from kefu.inbox.models import ContactIdentity, Inbox
    from kefu.inbox.tests.test_pipeline import _hook
    from kefu.tickets import thread
    from kefu.tickets.models import Sender

    inbox, _adapter = hook_inbox
    Inbox.objects.filter(pk=inbox.pk).update(bot_enabled=True)
    inbox.refresh_from_db()
    [first] = pipeline.receive(inbox, _hook(("m1", "tg:42", "My deposit has not arrived"))).events
    pipeline.process(first.pk)
    first.refresh_from_db()
    case = first.ticket
    contact = ContactIdentity.objects.get(inbox=inbox, address="tg:42")
    [second] = pipeline.receive(inbox, _hook(("m2", "tg:42", "it was 50 USDT on TRC20"))).events

    # "The other job": another message of the same contact, mid-way (its turn written, not yet
    # committed) when the second job starts.
    written, release = threading.Event(), threading.Event()

    def other_job() -> None:
        from django.db import transaction

        try:
            with transaction.atomic():
                ContactIdentity.objects.select_for_update().filter(pk=contact.pk).first()
                thread.append(case, body="the other job's turn", sender=Sender.CUSTOMER, channel=case.channel)
                written.set()
                release.wait(30)
        finally:
            connections.close_all()

    def second_job() -> None:
        try:
            pipeline.process(second.pk)
        finally:
            connections.close_all()

    other = threading.Thread(target=other_job)
    other.start()
    assert written.wait(30)
    job = threading.Thread(target=second_job)
    job.start()
    try:
        with psycopg.connect(**connection.get_connection_params()) as probe:
            assert _waiting_on_a_lock(probe.cursor(), time.monotonic() + 30), "the job never waited"
    finally:
        release.set()
        other.join(60)
        job.join(60)
    second.refresh_from_db()
    assert second.ticket_id == case.pk
    assert second.message.body == "it was 50 USDT on TRC20" and second.message.external_id == "m2"
    assert case.messages.get(body="the other job's turn").external_id == ""
