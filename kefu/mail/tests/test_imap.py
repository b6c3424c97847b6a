"""The IMAP poller against a real Dovecot: fetch, store, mark seen or move, never lose a mail."""

from __future__ import annotations

import imaplib
import itertools

import pytest

from kefu.mail import actions as mail_actions
from kefu.mail.actions import process_pending_mail
from kefu.mail.imap import poll_imap_once
from kefu.mail.models import InboundMail, InboundSource, InboundStatus
from kefu.mail.tests.conftest import load
from kefu.tickets.models import Ticket

pytestmark = pytest.mark.django_db

_users = itertools.count()


@pytest.fixture
def mailbox(dovecot, mail_settings):
    """A fresh Dovecot user (own maildir) and a logged-in client to deliver with APPEND."""
    user = f"support{next(_users)}@kefu.example"
    client = imaplib.IMAP4(dovecot.host, dovecot.port, timeout=30)
    client.login(user, dovecot.password)
    client.select("INBOX")
    yield user, client
    client.logout()


def deliver(client: imaplib.IMAP4, raw: bytes) -> None:
    typ, _ = client.append("INBOX", None, None, raw)
    assert typ == "OK"


def unseen(client: imaplib.IMAP4, mailbox: str = "INBOX") -> int:
    client.select(mailbox)
    typ, data = client.uid("SEARCH", None, "UNSEEN")
    return len(data[0].split())


def count(client: imaplib.IMAP4, mailbox: str) -> int:
    typ, data = client.select(mailbox)
    return int(data[0])


def test_poll_stores_each_mail_once_and_marks_it_seen(dovecot, mailbox):
    user, client = mailbox
    deliver(client, load("foxmail_gb2312.eml"))
    deliver(client, load("qqmail_gb18030.eml"))
    assert poll_imap_once(dovecot.url(user)) == 2
    assert unseen(client) == 0
    assert poll_imap_once(dovecot.url(user)) == 0
    rows = InboundMail.objects.order_by("id")
    assert [row.source for row in rows] == [InboundSource.IMAP] * 2
    assert process_pending_mail() == 2
    assert sorted(Ticket.objects.values_list("title", flat=True)) == [
        "充错网络了怎么办",
        "提现一直处理中（张堃喆）",
    ]


def test_mail_that_could_not_be_stored_stays_unseen(dovecot, mailbox, monkeypatch):
    user, client = mailbox
    deliver(client, load("big5.eml"))

    def down(*args, **kwargs):
        raise RuntimeError("database unavailable")

    monkeypatch.setattr(mail_actions, "do_accept_inbound", down)
    assert poll_imap_once(dovecot.url(user)) == 0
    assert unseen(client) == 1
    monkeypatch.undo()
    assert poll_imap_once(dovecot.url(user)) == 1
    assert InboundMail.objects.get().status == InboundStatus.PENDING


def test_move_mode_moves_handled_mail(dovecot, mailbox):
    user, client = mailbox
    client.create("Processed")
    deliver(client, load("gmail.eml"))
    assert poll_imap_once(dovecot.url(user, "?move=Processed")) == 1
    assert count(client, "INBOX") == 0 and count(client, "Processed") == 1


def test_oversized_mailbox_message_leaves_a_visible_trace(dovecot, mailbox, mail_settings):
    user, client = mailbox
    mail_settings.KEFU_MAIL_MAX_BYTES = 1500
    deliver(client, load("outlook_html_plain.eml"))
    assert poll_imap_once(dovecot.url(user)) == 1
    row = InboundMail.objects.get()
    assert (row.status, row.ignore_reason, row.subject) == (
        InboundStatus.IGNORED,
        "too_large",
        "USDT deposit not received after 3 hours",
    )
