"""Outbound mail through a real SMTP relay (aiosmtpd sink): acks, replies, resolution, retries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from kefu.mail.actions import do_accept_inbound, process_pending_mail
from kefu.mail.models import InboundSource, OutboundKind, OutboundMail, OutboundStatus
from kefu.mail.outbound import notify_agent_reply, notify_resolved, notify_ticket_created, send_pending_mail
from kefu.mail.tests.conftest import SUPPORT, admin_client, load
from kefu.tickets import actions as ticket_actions
from kefu.tickets.models import Category, MessageKind, Status, Ticket

pytestmark = pytest.mark.django_db


def portal_ticket(customer, language: str = "zh-hans") -> Ticket:
    return ticket_actions.check_create_ticket(
        customer=customer,
        category=Category.objects.get(slug="deposit-not-credited"),
        title="充值未到账" if language == "zh-hans" else "Deposit missing",
        description="USDT 充值两小时没有到账",
        language=language,
    ).ticket


def mailed_ticket(raw: bytes) -> Ticket:
    accepted = do_accept_inbound(raw, envelope_from=None, envelope_to=[SUPPORT], source=InboundSource.CLI)
    process_pending_mail()
    accepted.inbound.refresh_from_db()
    ticket = accepted.inbound.ticket
    assert ticket is not None, "the mail made no ticket"
    return ticket


def test_acknowledgement_reaches_the_relay_with_case_number_and_threading(smtp_sink):
    """Mail → ticket → an ack delivered over SMTP, answering the customer's own Message-ID."""
    ticket = mailed_ticket(load("outlook_html_plain.eml"))
    assert send_pending_mail() == 1
    [ack] = smtp_sink.wait_for(1)
    mail_from, rcpt_tos, _raw = smtp_sink.envelopes[0]
    assert rcpt_tos == ["daniel.reed@corp.example"] and mail_from == SUPPORT
    assert f"[{ticket.case_number}]" in ack["Subject"]
    assert ack["Auto-Submitted"] == "auto-replied"
    assert ack["Reply-To"] == SUPPORT
    assert ack["Message-ID"].endswith("@kefu.example>")
    assert (
        ack["In-Reply-To"].strip()
        == "<AM6PR02MB4423C1B2D3E4F5A6B7C8D9E0A1B2C3D4E5F6@MB4423.prod.exchange.example>"
    )
    assert ack["Content-Language"] == "en"
    text = ack.get_body(("plain",)).get_content()
    html = ack.get_body(("html",)).get_content()
    assert ticket.case_number in text and ticket.case_number in html
    assert f"https://help.kefu.example/portal/tickets/{ticket.case_number}/" in text
    assert "seed phrase" in text  # the reminder that we never ask for it
    row = OutboundMail.objects.get()
    assert row.status == OutboundStatus.SENT and row.sent_at is not None


def test_any_channel_gets_one_acknowledgement(alice, smtp_sink):
    ticket = portal_ticket(alice)
    first = notify_ticket_created(ticket)
    assert notify_ticket_created(ticket) == first  # idempotent: the hook and mail may both call it
    assert send_pending_mail() == 1
    [ack] = smtp_sink.wait_for(1)
    assert ack["To"] == "alice@example.com"
    assert ack["In-Reply-To"] is None and ack["Content-Language"] == "zh-Hans"


def test_agent_reply_request_for_information_and_resolution(alice, agent, smtp_sink):
    ticket = portal_ticket(alice, language="en")
    notify_ticket_created(ticket)
    reply = ticket_actions.check_add_message(ticket=ticket, author=agent, body="Which network did you use?")
    assert notify_agent_reply(reply.message).kind == OutboundKind.REPLY
    question = ticket_actions.check_add_message(
        ticket=ticket, author=agent, body="Please send the tx hash.", new_status=Status.PENDING_CUSTOMER
    )
    assert notify_agent_reply(question.message, requested_status=Status.PENDING_CUSTOMER).kind == (
        OutboundKind.INFO_REQUEST
    )
    note = ticket_actions.check_add_message(
        ticket=ticket, author=agent, body="internal", kind=MessageKind.INTERNAL
    )
    assert notify_agent_reply(note.message) is None
    customer_reply = ticket_actions.check_add_message(ticket=ticket, author=alice, body="TRON")
    assert notify_agent_reply(customer_reply.message) is None
    done = ticket_actions.check_add_message(
        ticket=ticket, author=agent, body="Credited now.", new_status=Status.RESOLVED
    )
    resolved = notify_agent_reply(done.message, requested_status=Status.RESOLVED)
    assert resolved.kind == OutboundKind.RESOLVED
    ticket.refresh_from_db()
    assert notify_resolved(ticket) == resolved  # one mail for the reply that resolved it

    assert send_pending_mail() == 4
    ack, answer, info, resolution = smtp_sink.wait_for(4)
    assert "Which network did you use?" in answer.get_body(("plain",)).get_content()
    assert answer["Auto-Submitted"] is None  # a person wrote it
    assert answer["In-Reply-To"] == ack["Message-ID"]
    assert answer["References"].split() == [ack["Message-ID"]]
    assert "We need more information" in info["Subject"]
    assert info["References"].split() == [ack["Message-ID"], answer["Message-ID"]]
    body = resolution.get_body(("plain",)).get_content()
    assert "Credited now." in body and "has been resolved" in body
    assert f"/portal/tickets/{ticket.case_number}/" in body


def test_status_change_to_resolved_is_an_automatic_notification(alice, agent, smtp_sink):
    ticket = portal_ticket(alice, language="en")
    ticket_actions.do_change_status(ticket=ticket, actor=agent, status=Status.RESOLVED)
    resolution = notify_resolved(ticket)
    send_pending_mail()
    # Where tickets' actions call the notifiers themselves an acknowledgement goes out too.
    sent = smtp_sink.wait_for(OutboundMail.objects.count())
    [mail] = [m for m in sent if m["Message-ID"] == f"<{resolution.rfc_message_id}>"]
    assert mail["Auto-Submitted"] == "auto-generated" and "resolved" in mail["Subject"]


def test_customer_reply_to_the_delivered_ack_threads_back(smtp_sink):
    """The Message-ID the relay actually received is the one a reply can quote."""
    ticket = mailed_ticket(load("outlook_html_plain.eml"))
    send_pending_mail()
    [ack] = smtp_sink.wait_for(1)
    reply = load(
        "reply_quoted.eml",
        subject=ack["Subject"],
        in_reply_to=ack["Message-ID"],
        references=ack["Message-ID"],
    )
    assert mailed_ticket(reply) == ticket


def test_nothing_is_queued_when_mail_is_off(alice, mail_settings):
    mail_settings.KEFU_MAIL_NOTIFICATIONS = None
    mail_settings.KEFU_EMAIL_URL = ""
    assert notify_ticket_created(portal_ticket(alice)) is None
    assert OutboundMail.objects.count() == 0


def test_failed_sending_is_retried_with_backoff_and_can_be_retried_by_an_admin(
    alice, mail_settings, smtp_sink
):
    mail_settings.KEFU_MAIL_MAX_ATTEMPTS = 2
    real_port = mail_settings.EMAIL_PORT
    mail_settings.EMAIL_PORT = 9  # the relay is down
    notify_ticket_created(portal_ticket(alice))
    assert send_pending_mail() == 0
    row = OutboundMail.objects.get()
    assert row.status == OutboundStatus.QUEUED and row.attempts == 1 and row.last_error
    assert row.next_attempt_at > timezone.now()
    assert row.subject  # rendered once; a retry sends the same mail
    OutboundMail.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    send_pending_mail()
    row.refresh_from_db()
    assert row.status == OutboundStatus.FAILED

    mail_settings.EMAIL_PORT = real_port
    client = admin_client()
    page = client.get("/admin/mail/outboundmail/")
    assert page.status_code == 200 and "ConnectionRefusedError" in page.content.decode()
    client.post("/admin/mail/outboundmail/", {"action": "retry", "_selected_action": [row.pk]})
    assert send_pending_mail() == 1
    assert len(smtp_sink.wait_for(1)) == 1


def test_chinese_ticket_mail_is_rendered_in_its_language(alice, smtp_sink):
    ticket = portal_ticket(alice, language="zh-hans")
    notify_ticket_created(ticket)
    send_pending_mail()
    [ack] = smtp_sink.wait_for(1)
    assert ack["Content-Language"] == "zh-Hans"
    assert ticket.case_number in ack["Subject"] and "充值未到账" in ack["Subject"]


def test_the_resolution_mail_links_the_survey_and_the_customer_rates_through_it(alice, agent, smtp_sink):
    """Resolving a ticket mails its satisfaction survey (one per resolution); the link opens the
    rating form, the answer is recorded, and the portal offers the same link while it is open."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from kefu.conftest import login
    from kefu.csat.models import CsatSurvey

    ticket = portal_ticket(alice, language="en")
    ticket_actions.do_change_status(ticket=ticket, actor=agent, status=Status.RESOLVED)
    resolution = notify_resolved(ticket)  # called again for the same resolution: same mail, same survey
    survey = CsatSurvey.objects.get(ticket=ticket)
    path = f"/chat/csat/{survey.token}/"
    assert resolution.context["survey_url"] == "https://help.kefu.example" + path

    send_pending_mail()
    sent = smtp_sink.wait_for(OutboundMail.objects.count())
    [mail] = [m for m in sent if m["Message-ID"] == f"<{resolution.rfc_message_id}>"]
    text = mail.get_body(("plain",)).get_content()
    assert f"Rate our support: https://help.kefu.example{path}" in text
    assert f"https://help.kefu.example/portal/tickets/{ticket.case_number}/" in text  # still there
    assert f"https://help.kefu.example{path}" in mail.get_body(("html",)).get_content()

    customer = login(alice)
    form = customer.get(path).content.decode()
    assert 'name="rating"' in form and ticket.case_number in form
    portal = f"/portal/tickets/{ticket.case_number}/"
    with CaptureQueriesContext(connection) as queries:
        page = customer.get(portal).content.decode()
    # The ticket's page offers the same survey as a form (rated there or through the link).
    assert 'id="rate-support"' in page and 'name="rating"' in page
    assert sum("chat_csatsurvey" in q["sql"] for q in queries.captured_queries) == 1
    assert customer.post(path, {"rating": "5", "comment": "Quick and kind"}).status_code == 200
    survey.refresh_from_db()
    assert (survey.rating, survey.comment, survey.customer) == (5, "Quick and kind", alice)
    assert survey.answered_at is not None and 'id="rate-current"' in customer.get(portal).content.decode()

    # Reopened and resolved again: a new resolution, a new mail with a new survey.
    ticket_actions.do_reopen(ticket=ticket, actor=alice)
    ticket_actions.do_change_status(ticket=ticket, actor=agent, status=Status.RESOLVED)
    second = CsatSurvey.objects.exclude(pk=survey.pk).get(ticket=ticket)
    latest = OutboundMail.objects.filter(kind=OutboundKind.RESOLVED).order_by("-id").first()
    assert latest.pk != resolution.pk and latest.context["survey_url"].endswith(f"/chat/csat/{second.token}/")
