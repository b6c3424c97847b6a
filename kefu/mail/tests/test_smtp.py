"""The SMTP receiver over real sockets: durable before 250, crash recovery, size limit, wiring."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

import pytest
from django.db import OperationalError, connections

from kefu.mail import actions as mail_actions
from kefu.mail.actions import process_pending_mail
from kefu.mail.models import InboundMail, InboundStatus
from kefu.mail.outbound import send_pending_mail
from kefu.mail.smtp import start_smtp_receiver
from kefu.mail.tests.conftest import SUPPORT, load
from kefu.tickets.models import Ticket

# The receiver stores mail from its own thread, so the test database must really commit.
pytestmark = pytest.mark.django_db(transaction=True)


def send(receiver, raw: bytes, sender: str = "daniel.reed@corp.example", rcpt: str = SUPPORT) -> dict:
    with smtplib.SMTP(receiver.host, receiver.port, timeout=30) as client:
        return client.sendmail(sender, [rcpt], raw)


def compose(size: int = 0, message_id: str = "<s1@mail.example>") -> bytes:
    msg = EmailMessage()
    msg["From"] = "carol@mail.example"
    msg["To"] = SUPPORT
    msg["Subject"] = "Deposit missing"
    msg["Message-ID"] = message_id
    msg.set_content("My deposit has not arrived.\n" + ("x" * 69 + "\n") * (size // 70))
    return msg.as_bytes(policy=msg.policy.clone(linesep="\r\n"))  # SMTP wants CRLF


def test_mail_becomes_a_ticket_and_the_ack_reaches_the_relay(receiver, smtp_sink):
    """Mail in over SMTP → ticket → acknowledgement with the case number out over SMTP."""
    assert send(receiver, load("outlook_html_plain.eml")) == {}
    inbound = InboundMail.objects.get()  # committed before the 250 came back
    assert inbound.status == InboundStatus.PENDING and inbound.envelope_from == "daniel.reed@corp.example"
    assert process_pending_mail() == 1
    assert send_pending_mail() == 1
    [ack] = smtp_sink.wait_for(1)
    ticket = Ticket.objects.get()
    assert ticket.case_number in ack["Subject"] and ack["To"] == "daniel.reed@corp.example"


def test_accepted_mail_survives_a_crash_before_processing(mail_settings, smtp_sink):
    """Accept → the process dies before processing → the next start processes the stored mail."""
    receiver = start_smtp_receiver("127.0.0.1:0")
    send(receiver, load("gmail.eml"), sender="xiaoming.wang@webmail.example")
    receiver.stop()  # the process is gone; nothing ran after the 250
    connections.close_all()
    assert Ticket.objects.count() == 0
    assert InboundMail.objects.get().status == InboundStatus.PENDING

    assert process_pending_mail() == 1  # what the worker does first when it starts again
    ticket = Ticket.objects.get()
    assert ticket.title == "账户被锁定了"
    send_pending_mail()
    assert ticket.case_number in smtp_sink.wait_for(1)[0]["Subject"]


def test_oversized_mail_is_refused_with_552(mail_settings):
    mail_settings.KEFU_MAIL_MAX_BYTES = 4000
    receiver = start_smtp_receiver("127.0.0.1:0")
    try:
        big = compose(size=8000)
        with pytest.raises(smtplib.SMTPSenderRefused) as declared:
            send(receiver, big)  # smtplib announces SIZE=, refused at MAIL FROM
        assert declared.value.smtp_code == 552
        with smtplib.SMTP(receiver.host, receiver.port, timeout=30) as client:
            client.ehlo()
            client.mail("carol@mail.example")  # no SIZE: refused after the data
            client.rcpt(SUPPORT)
            code, _reply = client.data(big)
        assert code == 552
        assert send(receiver, compose(size=100)) == {}
    finally:
        receiver.stop()
    assert InboundMail.objects.count() == 1


def test_other_recipients_are_refused(receiver):
    with pytest.raises(smtplib.SMTPRecipientsRefused) as info:
        send(receiver, compose(), rcpt="someone@elsewhere.example")
    assert info.value.recipients["someone@elsewhere.example"][0] == 550
    assert send(receiver, compose(), rcpt="Support+vip@kefu.example") == {}


def test_redelivery_over_smtp_is_stored_once(receiver):
    send(receiver, compose())
    send(receiver, compose())
    assert InboundMail.objects.count() == 1


def test_storage_failure_answers_451_so_the_sender_retries(receiver, monkeypatch):
    def locked(*args, **kwargs):
        raise OperationalError("database is locked")

    monkeypatch.setattr(mail_actions, "do_accept_inbound", locked)
    with pytest.raises(smtplib.SMTPDataError) as info:
        send(receiver, compose())
    assert info.value.smtp_code == 451
    assert InboundMail.objects.count() == 0


def test_null_sender_mail_is_ignored(receiver):
    send(receiver, compose(), sender="")
    process_pending_mail()
    inbound = InboundMail.objects.get()
    assert (inbound.status, inbound.ignore_reason, inbound.envelope_from) == (
        InboundStatus.IGNORED,
        "null_sender",
        "<>",
    )


def test_serve_wiring_processes_and_acknowledges_by_itself(mail_settings, smtp_sink, job_queue):
    """What ``kefu serve`` starts without Redis: the receiver and a job consumer in-process;
    the mail becomes a ticket and is acknowledged with no manual sweeps."""
    from kefu.jobs.engine import start_embedded_consumer

    receiver = start_smtp_receiver("127.0.0.1:0")
    consumer = start_embedded_consumer(workers=2)
    try:
        send(receiver, load("big5.eml"), sender="dawen.chen@twmail.example")
        [ack] = smtp_sink.wait_for(1)
    finally:
        receiver.stop()
        consumer.stop(graceful=True)
    ticket = Ticket.objects.get()
    assert ticket.case_number in ack["Subject"] and ack["To"] == "dawen.chen@twmail.example"
