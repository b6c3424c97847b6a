"""A secret in the sender's display name: the name is redacted, the address stays usable, and
the mail becomes a ticket like any other (it used to be dropped, the address broken)."""

from __future__ import annotations

import base64
import smtplib
from email.headerregistry import Address
from email.message import EmailMessage

import pytest
from mnemonic import Mnemonic

from kefu.mail import parsing
from kefu.mail.actions import process_pending_mail
from kefu.mail.models import InboundMail, InboundStatus
from kefu.mail.redaction import prepare_inbound
from kefu.mail.tests.conftest import SUPPORT
from kefu.mail.tests.test_safety import assert_nowhere

PHRASE = Mnemonic("english").to_mnemonic(bytes(range(50, 66)))
ZH_PHRASE = Mnemonic("chinese_simplified").to_mnemonic(bytes(range(70, 86)))
KEY = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"

# The receiver stores mail from its own thread, so the test database must really commit.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _settings(mail_settings):
    return mail_settings


def compose(sender: str | Address, *, cc: str = "", message_id: str = "<name-1@mail.example>") -> bytes:
    msg = EmailMessage()
    if isinstance(sender, Address):
        msg["From"] = sender
    else:
        msg["From"] = sender
    msg["To"] = SUPPORT
    if cc:
        msg["Cc"] = cc
    msg["Subject"] = "Cannot withdraw"
    msg["Message-ID"] = message_id
    msg.set_content("My withdrawal has been pending for two days. Please help.")
    return msg.as_bytes()


def send(receiver, raw: bytes, sender: str = "victim@mail.example") -> dict:
    with smtplib.SMTP(receiver.host, receiver.port, timeout=30) as client:
        return client.sendmail(sender, [SUPPORT], raw)


@pytest.mark.parametrize(
    "sender, secret",
    [
        (Address(PHRASE, "victim", "mail.example"), PHRASE),  # quoted, as clients write it
        (f"{PHRASE} <victim@mail.example>", PHRASE),  # unquoted words
        (Address(ZH_PHRASE, "victim", "mail.example"), ZH_PHRASE),  # RFC 2047 encoded
        (Address(f"key {KEY}", "victim", "mail.example"), KEY),
        # One encoded word holding an English phrase and Chinese text: the redacted name mixes a
        # placeholder's brackets and colon with non-ASCII (the header used to lose its quotes).
        (
            "=?utf-8?b?" + base64.b64encode(f"{PHRASE} 备份".encode()).decode() + "?= <victim@mail.example>",
            PHRASE,
        ),
    ],
    ids=["quoted", "bare-words", "chinese-encoded", "hex-key", "encoded-phrase-and-chinese"],
)
def test_a_secret_in_the_senders_name_is_hidden_and_the_mail_becomes_a_ticket(receiver, sender, secret):
    assert send(receiver, compose(sender)) == {}  # accepted: 250
    process_pending_mail()
    inbound = InboundMail.objects.get()
    assert inbound.status == InboundStatus.PROCESSED, inbound.last_error
    assert inbound.secret_found
    ticket = inbound.ticket
    assert ticket is not None and ticket.customer.email == "victim@mail.example"
    assert ticket.security_flag
    stored = parsing.parse_bytes(bytes(inbound.raw))
    assert parsing.addresses(stored, "From")[0][1] == "victim@mail.example"
    if secret == KEY:
        from kefu.mail.tests.test_safety import everything_stored

        assert KEY not in everything_stored()
    else:
        assert_nowhere(secret)


def test_other_address_headers_keep_their_addresses():
    raw = compose(
        Address(PHRASE, "victim", "mail.example"),
        cc=f'"{PHRASE}" <friend@mail.example>, "Bob, the builder" <bob@mail.example>',
    )
    intake = prepare_inbound(raw)
    assert intake.secret_found and intake.from_addr == "victim@mail.example"
    msg = parsing.parse_bytes(intake.raw)
    assert [a for _n, a in parsing.addresses(msg, "Cc")] == ["friend@mail.example", "bob@mail.example"]
    assert parsing.addresses(msg, "Cc")[1][0] == "Bob, the builder"
    assert PHRASE.split()[3] not in intake.raw.decode("utf-8", "replace")


def test_a_chinese_phrase_split_over_encoded_words_is_found(receiver):
    """Encoders split long values into encoded words at spaces, and decoding drops the space
    between two encoded words ("栽 缘" → "栽缘"; Python's own generator writes display names
    so): the guard reads the value with the gaps kept too."""
    words = ZH_PHRASE.split()
    encoded = " ".join(
        "=?utf-8?b?" + base64.b64encode(" ".join(words[i : i + 3]).encode()).decode() + "?="
        for i in range(0, 12, 3)
    )
    assert parsing.decode_header_value(encoded).count(" ") == 8  # three gaps lost
    msg = EmailMessage()
    msg["From"] = "lilei@cnmail.example"
    msg["To"] = SUPPORT
    msg["Message-ID"] = "<zh-subject@cnmail.example>"
    msg.set_content("请帮我看看")
    raw = msg.as_bytes().replace(b"From:", b"Subject: " + encoded.encode() + b"\nFrom:", 1)
    assert send(receiver, raw, sender="lilei@cnmail.example") == {}
    process_pending_mail()
    inbound = InboundMail.objects.get()
    assert inbound.status == InboundStatus.PROCESSED and inbound.secret_found
    assert_nowhere(ZH_PHRASE)
