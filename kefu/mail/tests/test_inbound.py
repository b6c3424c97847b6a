"""Inbound mail becomes tickets and replies: threading, duplicates, loops, attachments, failures."""

from __future__ import annotations

import sys
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from kefu.accounts.models import Role, User
from kefu.conftest import make_user, png_bytes
from kefu.mail import selectors
from kefu.mail.actions import do_accept_inbound, process_pending_mail
from kefu.mail.models import InboundMail, InboundSource, InboundStatus, OutboundKind, OutboundMail
from kefu.mail.tests.conftest import SUPPORT, admin_client, load
from kefu.tickets import actions as ticket_actions
from kefu.tickets.models import Attachment, Channel, MessageKind, Status, Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _settings(mail_settings):
    return mail_settings


def receive(raw: bytes, envelope_from: str | None = None) -> InboundMail:
    """Store a mail as the receiver does and run the processing sweep."""
    accepted = do_accept_inbound(
        raw, envelope_from=envelope_from, envelope_to=[SUPPORT], source=InboundSource.CLI
    )
    process_pending_mail()
    accepted.inbound.refresh_from_db()
    return accepted.inbound


def compose(
    *,
    sender: str = "carol@mail.example",
    subject: str = "Deposit missing",
    body: str = "My USDT deposit has not arrived.",
    message_id: str | None = "<m1@mail.example>",
    **headers: str,
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = SUPPORT
    msg["Subject"] = subject
    if message_id:
        msg["Message-ID"] = message_id
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return msg.as_bytes()


def ack_for(ticket: Ticket) -> OutboundMail:
    return OutboundMail.objects.get(ticket=ticket, kind=OutboundKind.ACK)


@pytest.mark.parametrize(
    ("name", "language", "title", "first_words"),
    [
        ("outlook_html_plain.eml", "en", "USDT deposit not received after 3 hours", "Hello,"),
        ("gmail.eml", "zh-hans", "账户被锁定了", "你好，"),
        ("foxmail_gb2312.eml", "zh-hans", "提现一直处理中（张堃喆）", "您好："),
        ("qqmail_gb18030.eml", "zh-hans", "充错网络了怎么办", "我充值充错了网络"),
        ("big5.eml", "zh-hans", "兩步驟驗證手機遺失", "您好，"),
    ],
)
def test_new_mail_becomes_an_email_ticket_with_an_acknowledgement(name, language, title, first_words):
    """A first mail opens a ticket for a new customer, in the mail's language, and queues an ack."""
    inbound = receive(load(name))
    assert inbound.status == InboundStatus.PROCESSED, inbound.last_error
    ticket = inbound.ticket
    assert ticket.channel == Channel.EMAIL and ticket.language == language and ticket.title == title
    assert ticket.category.slug == "service-info"  # the stand-in engine knows no intent: the one fallback
    first = ticket.messages.get(kind=MessageKind.PUBLIC)
    assert first.body.startswith(first_words) and first.channel == Channel.EMAIL
    assert "原始邮件" not in first.body and "Original" not in first.body
    assert selectors.original_email_text(first) == inbound.full_text
    customer = ticket.customer
    assert customer.role == Role.CUSTOMER and not customer.has_usable_password()
    assert ack_for(ticket).to_email == customer.email


def test_known_customer_gets_the_ticket(alice):
    inbound = receive(compose(sender="Alice <ALICE@example.com>"))
    assert inbound.ticket.customer == alice
    assert User.objects.filter(email="alice@example.com").count() == 1


def test_the_real_intent_engine_files_the_mail(intent, monkeypatch):
    """The bot's engine (trained from the repository's data) picks the sub-category."""
    monkeypatch.setitem(sys.modules, "kefu.bot.engine", intent.real_module)
    assert receive(load("outlook_html_plain.eml")).ticket.category.slug == "deposit-not-credited"


def test_intent_engine_chooses_the_category_and_its_failure_falls_back(intent):
    intent.value = "account_locked"
    assert receive(compose(message_id="<c1@mail.example>")).ticket.category.slug == "account-locked"
    intent.fail = True
    assert receive(compose(message_id="<c2@mail.example>")).ticket.category.slug == "service-info"


def test_reply_threads_by_in_reply_to_and_keeps_only_the_new_text():
    """A reply to our acknowledgement joins the ticket; quoted history stays in the full text."""
    first = receive(load("outlook_html_plain.eml"))
    ticket = first.ticket
    ack = ack_for(ticket)
    reply = receive(
        load(
            "reply_quoted.eml",
            subject=f"Re: [{ticket.case_number}] We received your request",
            in_reply_to=f"<{ack.rfc_message_id}>",
            references=f"<{first.rfc_message_id}> <{ack.rfc_message_id}>",
        )
    )
    assert reply.ticket == ticket
    message = ticket.messages.filter(kind=MessageKind.PUBLIC).last()
    assert message.body.startswith("The wallet still shows 0 USDT.")
    assert "Thank you for contacting us" not in message.body and "Daniel Reed" not in message.body
    assert "Thank you for contacting us" in selectors.original_email_text(message)
    assert Ticket.objects.count() == 1
    assert OutboundMail.objects.filter(kind=OutboundKind.ACK).count() == 1


def test_reply_threads_by_case_number_when_headers_are_dropped():
    first = receive(load("gmail.eml"))
    ticket = first.ticket
    Ticket.objects.filter(pk=ticket.pk).update(status=Status.PENDING_CUSTOMER)
    raw = compose(
        sender="xiaoming.wang@webmail.example",
        subject=f"回复：【{ticket.case_number}】账户被锁定了",
        body="已经过了24小时，还是锁定状态。",
        message_id="<no-headers@webmail.example>",
    )
    reply = receive(raw)
    assert reply.ticket == ticket
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN  # a customer's reply puts it back in front of agents
    assert ticket.messages.filter(body__startswith="已经过了24小时").exists()


def test_apple_mail_reply_threads_by_references():
    first = receive(compose(sender="mei.lin@phonemail.example", subject="App 无法打开", body="App 打不开"))
    ticket = first.ticket
    ack = ack_for(ticket)
    reply = receive(
        load("apple_mail_reply.eml", subject="Re: App", in_reply_to="", references=f"<{ack.rfc_message_id}>")
    )
    assert reply.ticket == ticket
    assert ticket.messages.filter(
        body="我已经按照您的说明重新安装了 App，还是无法打开， 一直停在启动页。"
    ).exists()


def test_a_stranger_quoting_a_case_number_gets_a_new_ticket(alice):
    """Neither a case number in the subject nor our Message-ID lets someone else into a ticket."""
    own = receive(compose(sender="alice@example.com", message_id="<a1@example.com>"))
    ticket = own.ticket
    ack = ack_for(ticket)
    raw = compose(
        sender="mallory@mail.example",
        subject=f"Re: [{ticket.case_number}] please send the funds here",
        message_id="<evil@mail.example>",
        In_Reply_To=f"<{ack.rfc_message_id}>",
    )
    stranger = receive(raw)
    assert stranger.ticket != ticket and stranger.ticket.customer.email == "mallory@mail.example"
    assert ticket.messages.count() == 1


def test_reply_to_a_merged_ticket_lands_on_the_surviving_one(agent):
    first = receive(compose(message_id="<m-a@mail.example>", subject="A"))
    second = receive(compose(message_id="<m-b@mail.example>", subject="B"))
    ticket_actions.do_merge(source=second.ticket, target=first.ticket, actor=agent)
    reply = receive(
        compose(
            message_id="<m-c@mail.example>",
            subject="Re: B",
            In_Reply_To=f"<{ack_for(second.ticket).rfc_message_id}>",
        )
    )
    assert reply.ticket == first.ticket


def test_redelivery_is_stored_once():
    raw = load("outlook_html_plain.eml")
    receive(raw)
    again = do_accept_inbound(raw, envelope_from=None, envelope_to=[SUPPORT], source=InboundSource.IMAP)
    assert not again.created
    assert process_pending_mail() == 0
    assert InboundMail.objects.count() == 1 and Ticket.objects.count() == 1


def test_mail_without_message_id_relayed_twice_is_stored_once():
    raw = compose(message_id=None)
    receive(raw)
    relayed = (
        b"Received: from relay.mail.example by mx.kefu.example; Mon, 6 Jan 2025 10:00:00 +0000\r\n" + raw
    )
    assert not do_accept_inbound(relayed, envelope_from=None, envelope_to=[SUPPORT]).created
    assert Ticket.objects.count() == 1


@pytest.mark.parametrize(
    ("name", "envelope_from", "reason"),
    [
        ("auto_reply.eml", "daniel.reed@corp.example", "auto_submitted"),
        ("bounce_dsn.eml", "", "auto_submitted"),
    ],
)
def test_auto_replies_and_bounces_are_ignored(name, envelope_from, reason):
    first = receive(load("outlook_html_plain.eml"))
    ack = ack_for(first.ticket)
    inbound = receive(
        load(name, subject=f"[{first.ticket.case_number}]", in_reply_to=f"<{ack.rfc_message_id}>"),
        envelope_from=envelope_from,
    )
    assert (inbound.status, inbound.ignore_reason, inbound.ticket) == (InboundStatus.IGNORED, reason, None)
    assert first.ticket.messages.count() == 1
    assert OutboundMail.objects.count() == 1


def test_our_own_mail_coming_back_is_ignored():
    first = receive(compose())
    ack = ack_for(first.ticket)
    echo = compose(sender="someone@mail.example", message_id=f"<{ack.rfc_message_id}>")
    assert receive(echo).ignore_reason == "own_message"
    assert (
        receive(compose(sender=f"Kefu <{SUPPORT}>", message_id="<x@kefu.example>")).ignore_reason
        == "own_address"
    )


def test_a_sender_above_the_rate_limit_is_ignored(mail_settings):
    mail_settings.KEFU_MAIL_SENDER_RATE = "3/3600"
    results = [receive(compose(message_id=f"<flood{i}@mail.example>", subject=f"n{i}")) for i in range(5)]
    assert [r.status for r in results] == [InboundStatus.PROCESSED] * 3 + [InboundStatus.IGNORED] * 2
    assert results[-1].ignore_reason == "rate_limited"


def test_png_is_attached_and_a_disguised_exe_is_refused_with_a_note():
    png = receive(load("png_attachment.eml"))
    attachment = Attachment.objects.get(ticket=png.ticket)
    assert (attachment.original_name, attachment.content_type) == ("withdrawal.png", "image/png")
    assert attachment.message == png.ticket.messages.get(kind=MessageKind.PUBLIC)

    exe = receive(load("disguised_exe.eml"))
    assert exe.status == InboundStatus.PROCESSED
    assert not Attachment.objects.filter(ticket=exe.ticket).exists()
    note = exe.ticket.messages.get(kind=MessageKind.SYSTEM)
    assert "截图.png" in note.body
    assert b"This program cannot be run" not in bytes(exe.raw)  # never stored, not even in the raw mail


def test_repeated_files_and_too_many_files(mail_settings):
    """Signature logos re-sent with every reply are kept once; beyond the limit they are refused."""
    mail_settings.KEFU_ATTACHMENTS_PER_MESSAGE = 2
    msg = EmailMessage()
    msg["From"] = "dave@mail.example"
    msg["To"] = SUPPORT
    msg["Subject"] = "screens"
    msg["Message-ID"] = "<files@mail.example>"
    msg.set_content("see attached")
    for index in range(3):
        msg.add_attachment(
            png_bytes((8 + index, 8)), maintype="image", subtype="png", filename=f"s{index}.png"
        )
    inbound = receive(msg.as_bytes())
    assert Attachment.objects.filter(ticket=inbound.ticket).count() == 2
    assert "s2.png" in inbound.ticket.messages.get(kind=MessageKind.SYSTEM).body


def test_processing_failure_is_retried_with_backoff_and_visible_to_admins(monkeypatch, mail_settings):
    mail_settings.KEFU_MAIL_MAX_ATTEMPTS = 2

    def broken(**kwargs):
        raise RuntimeError("database hiccup")

    monkeypatch.setattr(ticket_actions, "check_create_ticket", broken)
    inbound = receive(compose())
    assert inbound.status == InboundStatus.PENDING and inbound.attempts == 1
    assert "database hiccup" in inbound.last_error
    assert inbound.next_attempt_at > timezone.now()
    assert process_pending_mail() == 0  # not due yet: back-off

    InboundMail.objects.filter(pk=inbound.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    assert process_pending_mail() == 1
    inbound.refresh_from_db()
    assert inbound.status == InboundStatus.FAILED and inbound.attempts == 2
    assert Ticket.objects.count() == 0

    monkeypatch.undo()
    client = admin_client()
    page = client.get("/admin/mail/inboundmail/")
    assert page.status_code == 200 and "database hiccup" in page.content.decode()
    response = client.post("/admin/mail/inboundmail/", {"action": "retry", "_selected_action": [inbound.pk]})
    assert response.status_code == 302
    process_pending_mail()
    inbound.refresh_from_db()
    assert inbound.status == InboundStatus.PROCESSED and inbound.ticket is not None


def test_crash_midway_leaves_no_half_ticket(monkeypatch):
    """A failure after the ticket was written rolls everything back, files included."""
    import kefu.mail.actions as mail_actions

    def fail(**kwargs):
        raise RuntimeError("crash after create")

    monkeypatch.setattr(mail_actions, "notify_ticket_created", lambda *a, **k: fail())
    inbound = receive(load("png_attachment.eml"))
    assert inbound.status == InboundStatus.PENDING and "crash after create" in inbound.last_error
    assert Ticket.objects.count() == 0 and Attachment.objects.count() == 0
    assert [p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()] == []


def test_empty_mail_and_missing_subject_still_make_a_ticket():
    inbound = receive(compose(subject="", body=""))
    ticket = inbound.ticket
    assert ticket.title and ticket.description


def test_inactive_sender_is_ignored():
    user = make_user("gone@mail.example")
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert receive(compose(sender="gone@mail.example")).ignore_reason == "inactive_sender"
