"""An attempt that outlives its claim.

A claim (kefu.mail.jobs.claim) schedules the row's next attempt one back-off ahead, so a worker
that dies mid-way leaves the row to the reconcile. A living attempt that is slower than that
(an intent model still loading in a fresh worker, a stalled connection) then overlaps the next
attempt of the same row; seen first with two ``kefu serve`` nodes and a ``kefu worker``
(scripts/bench_cluster.py). Whatever the order, a mail is handled once and a late attempt
never undoes the work of another. The interleavings are played one after the other here:
"meanwhile" runs inside the first attempt.
"""

from __future__ import annotations

from datetime import timedelta
from smtplib import SMTPServerDisconnected
from typing import Any

import pytest
from django.core.mail.backends.smtp import EmailBackend
from django.utils import timezone

import kefu.mail.actions as mail_actions
from kefu.mail.actions import do_accept_inbound, due_inbound_ids, process_inbound_mail
from kefu.mail.models import (
    EmailMessageLink,
    InboundMail,
    InboundSource,
    InboundStatus,
    OutboundMail,
    OutboundStatus,
)
from kefu.mail.outbound import due_outbound_ids, send_outbound_mail
from kefu.mail.tests.conftest import SUPPORT, load
from kefu.tickets.models import Message, Ticket

pytestmark = pytest.mark.django_db


def _accept() -> InboundMail:
    return do_accept_inbound(
        load("gmail.eml"),
        envelope_from="xiaoming.wang@webmail.example",
        envelope_to=[SUPPORT],
        source=InboundSource.CLI,
    ).inbound


def _claim_runs_out(model: Any, pk: int) -> None:
    """The back-off since the claim has passed: the reconcile would enqueue the row again."""
    model.objects.filter(pk=pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))


def _meanwhile_another_attempt(monkeypatch, then: str) -> None:
    """Attempt 1 is slow: while it works, its claim runs out and attempt 2 handles the mail.
    Then attempt 1 goes on (``then="continue"``) or fails (``then="fail"``)."""
    real = mail_actions.do_process_inbound

    def slow(inbound: InboundMail) -> InboundMail:
        monkeypatch.setattr(mail_actions, "do_process_inbound", real)
        _claim_runs_out(InboundMail, inbound.pk)
        assert process_inbound_mail(inbound.pk)  # attempt 2, to the end
        if then == "fail":
            raise RuntimeError("attempt 1 fails late")
        return real(inbound)

    monkeypatch.setattr(mail_actions, "do_process_inbound", slow)


def test_a_slow_attempt_does_not_process_a_mail_again(mail_settings, monkeypatch):
    inbound = _accept()
    _meanwhile_another_attempt(monkeypatch, then="continue")
    assert process_inbound_mail(inbound.pk)

    ticket = Ticket.objects.get()
    assert Message.objects.filter(ticket=ticket).count() == 1
    assert EmailMessageLink.objects.filter(inbound=inbound).count() == 1
    assert OutboundMail.objects.count() == 1
    inbound.refresh_from_db()
    assert inbound.status == InboundStatus.PROCESSED and inbound.ticket == ticket


def test_a_late_failure_does_not_send_a_processed_mail_back_to_the_queue(mail_settings, monkeypatch):
    inbound = _accept()
    _meanwhile_another_attempt(monkeypatch, then="fail")
    assert process_inbound_mail(inbound.pk)

    inbound.refresh_from_db()
    assert inbound.status == InboundStatus.PROCESSED and inbound.last_error == ""
    _claim_runs_out(InboundMail, inbound.pk)
    assert due_inbound_ids(limit=10) == []  # nothing for the reconcile to run again
    assert Ticket.objects.count() == 1


class SlowThenBrokenBackend(EmailBackend):
    """A real SMTP session whose first send is slow (attempt 2 of the same row sends meanwhile)
    and then loses the connection."""

    interleaved = False

    def send_messages(self, email_messages: Any) -> int:
        if not SlowThenBrokenBackend.interleaved:
            SlowThenBrokenBackend.interleaved = True
            pk = OutboundMail.objects.get().pk
            _claim_runs_out(OutboundMail, pk)
            assert send_outbound_mail(pk, connection=EmailBackend())  # attempt 2, delivered
            raise SMTPServerDisconnected("attempt 1 loses its connection late")
        return super().send_messages(email_messages)


def test_a_late_send_failure_does_not_queue_a_sent_mail_again(mail_settings, smtp_sink):
    inbound = _accept()
    process_inbound_mail(inbound.pk)
    row = OutboundMail.objects.get()
    SlowThenBrokenBackend.interleaved = False
    mail_settings.EMAIL_BACKEND = f"{__name__}.SlowThenBrokenBackend"

    assert not send_outbound_mail(row.pk)  # attempt 1 failed, after attempt 2 sent the mail
    row.refresh_from_db()
    assert row.status == OutboundStatus.SENT and row.last_error == ""
    _claim_runs_out(OutboundMail, row.pk)
    assert due_outbound_ids(limit=10) == []
    assert len(smtp_sink.wait_for(1)) == 1


class StatusAtCloseBackend(EmailBackend):
    """Notes the row's status when the session is closed (QUIT: another round trip)."""

    seen: list[str] = []

    def close(self) -> None:
        StatusAtCloseBackend.seen.append(OutboundMail.objects.get().status)
        super().close()


def test_a_sent_mail_is_recorded_before_the_session_is_closed(mail_settings, smtp_sink):
    """A crash between the server's 250 and the update to ``sent`` sends the mail again (SMTP
    cannot be exactly-once); that window holds nothing else, not even the QUIT."""
    inbound = _accept()
    process_inbound_mail(inbound.pk)
    StatusAtCloseBackend.seen = []
    mail_settings.EMAIL_BACKEND = f"{__name__}.StatusAtCloseBackend"

    assert send_outbound_mail(OutboundMail.objects.get().pk)
    assert StatusAtCloseBackend.seen[-1] == OutboundStatus.SENT
    assert len(smtp_sink.wait_for(1)) == 1


def test_a_database_busy_for_a_moment_after_delivery_does_not_leave_a_sent_mail_queued(
    mail_settings, smtp_sink, monkeypatch
):
    """The relay has the mail; SQLite answers "database table is locked" to the first update
    (another worker's write). That is not a failed send: the update is retried, never the send
    (the row left ``queued`` would go out again after the back-off)."""
    from django.db import OperationalError
    from django.db.models.query import QuerySet

    inbound = _accept()
    process_inbound_mail(inbound.pk)
    row = OutboundMail.objects.get()
    real_update = QuerySet.update
    refusals = []

    def busy_once(self: QuerySet, **kwargs: Any) -> int:
        if self.model is OutboundMail and kwargs.get("status") == OutboundStatus.SENT and not refusals:
            refusals.append(kwargs)
            raise OperationalError("database table is locked: kefu_mail_outboundmail")
        return real_update(self, **kwargs)

    monkeypatch.setattr(QuerySet, "update", busy_once)
    assert send_outbound_mail(row.pk)
    row.refresh_from_db()
    assert refusals and row.status == OutboundStatus.SENT and row.last_error == ""
    assert len(smtp_sink.wait_for(1)) == 1
