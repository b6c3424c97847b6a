"""Mail through the job engine (Huey on its SQLite storage, as installed): a real consumer, jobs
enqueued twice, an enqueue lost between commit and queue, retries after the back-off."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from kefu.jobs.engine import drain, start_embedded_consumer
from kefu.mail.actions import do_accept_inbound
from kefu.mail.models import InboundMail, InboundSource, InboundStatus, OutboundMail, OutboundStatus
from kefu.mail.tasks import process_inbound, reconcile, send_outbound
from kefu.mail.tests.conftest import load
from kefu.tickets.models import Ticket

# Jobs run in other threads (the consumer), so the test database must really commit.
pytestmark = pytest.mark.django_db(transaction=True)


def accept(name: str = "gmail.eml", sender: str = "xiaoming.wang@webmail.example") -> InboundMail:
    return do_accept_inbound(
        load(name), envelope_from=sender, envelope_to=["support@kefu.example"], source=InboundSource.CLI
    ).inbound


def test_a_consumer_makes_the_ticket_and_acknowledges_once_though_every_job_ran_twice(
    mail_settings, smtp_sink, job_queue
):
    # Two attempts at one row may collide on SQLite's in-memory test database ("table is
    # locked"): the loser is retried after the back-off, which must fit in the sink's deadline.
    mail_settings.KEFU_MAIL_RETRY_SECONDS = 1
    mail_settings.KEFU_MAIL_WORKER_INTERVAL = 1
    inbound = accept()
    assert job_queue.pending_count() == 1  # enqueued once the row was committed
    process_inbound(inbound.pk)  # the same job again (a reconcile, a redelivery)

    consumer = start_embedded_consumer(workers=2)
    try:
        [ack] = smtp_sink.wait_for(1)
        outbox = OutboundMail.objects.get()
        send_outbound(outbox.pk)  # and the send job twice more
        send_outbound(outbox.pk)
        process_inbound(inbound.pk)
    finally:
        consumer.stop(graceful=True)  # waits for the jobs under way
    drain()  # whatever the consumer left: every duplicate has run before the count

    ticket = Ticket.objects.get()
    assert ticket.case_number in ack["Subject"]
    assert len(smtp_sink.envelopes) == 1
    assert OutboundMail.objects.get().status == OutboundStatus.SENT
    assert InboundMail.objects.get().status == InboundStatus.PROCESSED


def test_a_mail_committed_without_its_job_is_processed_by_the_reconcile(mail_settings, smtp_sink, job_queue):
    """The process died between the commit and the enqueue: the row is the truth."""
    accept()
    job_queue.flush()  # the job never reached the queue
    assert drain() == 0
    assert Ticket.objects.count() == 0

    reconcile()  # what every consumer enqueues periodically
    drain()
    assert Ticket.objects.count() == 1
    assert InboundMail.objects.get().status == InboundStatus.PROCESSED
    assert len(smtp_sink.wait_for(1)) == 1


def test_a_failed_send_is_retried_by_the_reconcile_once_its_back_off_has_passed(
    mail_settings, smtp_sink, job_queue
):
    relay_port = mail_settings.EMAIL_PORT
    mail_settings.EMAIL_PORT = 9  # the relay is down
    accept()
    drain()
    outbox = OutboundMail.objects.get()
    assert (outbox.status, outbox.attempts) == (OutboundStatus.QUEUED, 1)
    assert outbox.next_attempt_at > timezone.now()  # the deadline lives in the row

    mail_settings.EMAIL_PORT = relay_port
    reconcile()
    drain()
    assert OutboundMail.objects.get().status == OutboundStatus.QUEUED  # not due yet: left alone

    OutboundMail.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    reconcile()
    drain()
    assert OutboundMail.objects.get().status == OutboundStatus.SENT
    assert len(smtp_sink.wait_for(1)) == 1


def test_a_starting_consumer_reconciles_at_once(mail_settings, smtp_sink, job_queue):
    """Mail stored while no consumer ran (and whose job was lost) is taken when one starts:
    every periodic job fires at a consumer's start, the reconcile among them."""
    accept()
    job_queue.flush()
    consumer = start_embedded_consumer(workers=1)
    try:
        [ack] = smtp_sink.wait_for(1)
    finally:
        consumer.stop(graceful=True)
    assert Ticket.objects.get().case_number in ack["Subject"]
