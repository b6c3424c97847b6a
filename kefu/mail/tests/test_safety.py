"""The secret guard on mail: a seed phrase never reaches any stored column, the raw mail included."""

from __future__ import annotations

import base64
from email.message import EmailMessage

import pytest
from django.apps import apps
from django.db import models
from mnemonic import Mnemonic

from kefu.mail import parsing
from kefu.mail.actions import do_accept_inbound, process_pending_mail
from kefu.mail.models import InboundMail, InboundSource, InboundStatus, OutboundKind, OutboundMail
from kefu.mail.outbound import send_pending_mail
from kefu.mail.tests.conftest import SUPPORT
from kefu.tickets.models import MessageKind

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _settings(mail_settings):
    return mail_settings


PHRASE = Mnemonic("english").to_mnemonic(bytes(range(16)))
ZH_PHRASE = Mnemonic("chinese_simplified").to_mnemonic(bytes(range(16, 32)))


def _windows(phrase: str, size: int = 4) -> list[str]:
    words = phrase.split()
    return [" ".join(words[i : i + size]) for i in range(len(words) - size + 1)]


def _raw_text(value: bytes) -> str:
    """Everything a stored MIME blob says, decoded: raw bytes, every header, every part."""
    chunks = [value.decode("utf-8", "replace")]
    try:
        msg = parsing.parse_bytes(value)
    except Exception:  # not MIME: the bytes themselves were checked above
        return chunks[0]
    for part in msg.walk():
        chunks += [parsing.decode_header_value(str(v)) for _n, v in part.raw_items()]
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes):
            chunks.append(parsing.decode_bytes(payload, part.get_content_charset()))
    return "\n".join(chunks)


def everything_stored() -> str:
    """Every text, binary and JSON column of every table, as one searchable text."""
    chunks: list[str] = []
    for model in apps.get_models():
        fields = [
            f
            for f in model._meta.concrete_fields
            if isinstance(f, models.CharField | models.TextField | models.BinaryField | models.JSONField)
        ]
        if not fields:
            continue
        for row in model._default_manager.values_list(*[f.attname for f in fields]):
            for value in row:
                if isinstance(value, bytes | memoryview):
                    chunks.append(_raw_text(bytes(value)))
                elif value is not None:
                    chunks.append(str(value))
    return "\n".join(chunks)


def assert_nowhere(phrase: str) -> None:
    stored = everything_stored()
    squeezed = "".join(stored.split())
    for window in _windows(phrase):
        assert window not in stored, window
        assert "".join(window.split()) not in squeezed, window


def test_seed_phrase_in_subject_body_html_headers_and_attachments_is_never_stored(smtp_sink):
    msg = EmailMessage()
    msg["From"] = "victim@mail.example"
    msg["To"] = SUPPORT
    msg["Subject"] = f"urgent my words are {PHRASE}"
    msg["Message-ID"] = "<secret-1@mail.example>"
    msg["X-Wallet-Note"] = PHRASE
    msg.set_content(f"Hello, a support agent asked me for my seed phrase: {PHRASE}\nWhat now?")
    spans = " ".join(f"<span>{word}</span>" for word in PHRASE.split())
    msg.add_alternative(f"<p>Hello, my recovery words: {spans}</p><!-- {PHRASE} -->", subtype="html")
    msg.add_attachment(f"backup: {PHRASE}".encode(), maintype="text", subtype="plain", filename="backup.txt")
    msg.add_attachment(
        base64.b64encode(PHRASE.encode()),
        maintype="application",
        subtype="octet-stream",
        filename="wallet.dat",
    )

    accepted = do_accept_inbound(
        msg.as_bytes(), envelope_from="victim@mail.example", envelope_to=[SUPPORT], source=InboundSource.SMTP
    )
    assert accepted.inbound.secret_found
    assert_nowhere(PHRASE)  # already before processing: the pending row is safe

    process_pending_mail()
    send_pending_mail()
    inbound = InboundMail.objects.get()
    assert inbound.status == InboundStatus.PROCESSED, inbound.last_error
    ticket = inbound.ticket
    assert ticket.security_flag and ticket.team.slug == "security"
    assert ticket.messages.filter(kind=MessageKind.SYSTEM).exists()
    assert "backup.txt" in ticket.messages.get(kind=MessageKind.SYSTEM, body__contains="backup.txt").body
    ack = OutboundMail.objects.get(kind=OutboundKind.ACK)
    assert "seed phrase" in ack.body_text.lower() and "new wallet" in ack.body_text.lower()
    assert_nowhere(PHRASE)
    [sent] = smtp_sink.wait_for(1)
    assert all(window not in sent.as_string() for window in _windows(PHRASE))


def test_chinese_seed_phrase_in_a_gb18030_mail_is_never_stored():
    msg = EmailMessage()
    msg["From"] = "lilei@cnmail.example"
    msg["To"] = SUPPORT
    msg["Subject"] = "助记词泄露了吗"
    msg["Message-ID"] = "<secret-zh@cnmail.example>"
    msg.set_content(f"我的助记词是 {ZH_PHRASE} 请帮我看看钱包", charset="gb18030")
    do_accept_inbound(msg.as_bytes(), envelope_from=None, envelope_to=[SUPPORT], source=InboundSource.IMAP)
    process_pending_mail()
    inbound = InboundMail.objects.get()
    assert inbound.secret_found and inbound.ticket.security_flag
    assert "请帮我看看钱包" in inbound.ticket.description
    assert_nowhere(ZH_PHRASE)


def test_reply_with_a_secret_gets_a_warning_mail():
    first = EmailMessage()
    first["From"] = "victim@mail.example"
    first["To"] = SUPPORT
    first["Subject"] = "wallet emptied"
    first["Message-ID"] = "<w1@mail.example>"
    first.set_content("My wallet was emptied overnight.")
    do_accept_inbound(first.as_bytes(), envelope_from=None, envelope_to=[SUPPORT])
    process_pending_mail()
    ticket = InboundMail.objects.get().ticket
    reply = EmailMessage()
    reply["From"] = "victim@mail.example"
    reply["To"] = SUPPORT
    reply["Subject"] = f"Re: [{ticket.case_number}] wallet emptied"
    reply["Message-ID"] = "<w2@mail.example>"
    reply.set_content(f"Here are my words so you can check: {PHRASE}")
    do_accept_inbound(reply.as_bytes(), envelope_from=None, envelope_to=[SUPPORT])
    process_pending_mail()
    warning = OutboundMail.objects.get(kind=OutboundKind.SECRET_WARNING)
    assert warning.ticket == ticket
    ticket.refresh_from_db()
    assert ticket.security_flag
    assert_nowhere(PHRASE)


def test_clean_mail_is_stored_byte_for_byte():
    from kefu.mail.tests.conftest import load

    raw = load("gmail.eml")
    accepted = do_accept_inbound(raw, envelope_from=None, envelope_to=[SUPPORT])
    assert bytes(accepted.inbound.raw) == raw and not accepted.inbound.secret_found
