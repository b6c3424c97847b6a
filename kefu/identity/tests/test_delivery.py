"""Codes leave through real components: an SMTP server and an SMS provider's HTTP API."""

from __future__ import annotations

import email
from email import policy

import httpx
import pytest

from kefu.audit.models import AuditEvent
from kefu.identity import actions
from kefu.identity.exceptions import DeliveryFailed
from kefu.identity.models import Delivery, Method, VerificationChallenge
from kefu.identity.sms import HttpSmsSender, SmsError
from kefu.identity.tests.conftest import (
    INVALID_NUMBER,
    SLOW_NUMBER,
    SMS_ACCOUNT,
    SMS_FROM,
    SMS_TOKEN,
    code_from,
)
from kefu.mail.mailurl import email_backend_settings as email_settings_from_url

pytestmark = pytest.mark.django_db


# --- email over SMTP ----------------------------------------------------------------------


def test_the_code_arrives_in_a_real_smtp_message(alice, smtp_server):
    """Django's SMTP backend authenticates to the aiosmtpd server and delivers the code."""
    challenge = actions.check_send_code(user=alice, channel="email", ip_address="203.0.113.5", language="en")

    assert len(smtp_server.messages) == 1
    envelope = smtp_server.messages[0]
    assert envelope.rcpt_tos == ["alice@example.com"]
    assert smtp_server.logins == [(b"kefu", b"p@ss word")]
    message = email.message_from_bytes(envelope.original_content, policy=policy.default)
    body = message.get_body(preferencelist=("plain",)).get_content()
    assert "verification code" in str(message["Subject"]).lower()
    assert "never ask" in body
    code = code_from(body)
    challenge.refresh_from_db()
    assert challenge.delivery == Delivery.SENT
    verification = actions.check_verify_code(user=alice, challenge_id=challenge.public_id, code=code)
    assert verification.method == Method.EMAIL_CODE


def test_an_unreachable_mail_server_fails_cleanly_and_still_counts(alice, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2
    with pytest.raises(DeliveryFailed):
        actions.check_send_code(user=alice, channel="email")
    challenge = VerificationChallenge.objects.get()
    assert challenge.delivery == Delivery.FAILED and challenge.used_at is not None
    assert AuditEvent.objects.filter(action="identity.code_send_failed").count() == 1


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "smtp://user%40example.com:s%3Acret@mail.example.com:2525",
            {
                "EMAIL_HOST": "mail.example.com",
                "EMAIL_PORT": 2525,
                "EMAIL_HOST_USER": "user@example.com",
                "EMAIL_HOST_PASSWORD": "s:cret",
                "EMAIL_USE_TLS": False,
                "EMAIL_USE_SSL": False,
            },
        ),
        (
            "smtp+tls://u:p@mail.example.com",
            {"EMAIL_PORT": 587, "EMAIL_USE_TLS": True, "EMAIL_USE_SSL": False},
        ),
        ("smtps://u:p@mail.example.com", {"EMAIL_PORT": 465, "EMAIL_USE_TLS": False, "EMAIL_USE_SSL": True}),
        (
            "smtp://mail.example.com?tls=1&from=help%40example.com",
            {"EMAIL_PORT": 587, "DEFAULT_FROM_EMAIL": "help@example.com"},
        ),
        ("console://", {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}),
        ("", {}),
    ],
)
def test_email_settings_from_url(url, expected):
    settings = email_settings_from_url(url)
    for key, value in expected.items():
        assert settings[key] == value
    if not expected:
        assert settings == {}


def test_email_url_with_an_unknown_scheme_is_an_error():
    with pytest.raises(ValueError):
        email_settings_from_url("http://mail.example.com")


# --- SMS over the provider's REST format ----------------------------------------------------


def test_the_code_arrives_by_sms_through_the_provider(alice, sms_provider):
    alice.phone = "138 0013 8000"  # national format; the default region (CN) makes it E.164
    alice.save()
    challenge = actions.check_send_code(user=alice, channel="sms", language="en")

    assert len(sms_provider.received) == 1
    sent = sms_provider.received[0]
    assert sent["To"] == "+8613800138000" and sent["From"] == SMS_FROM
    challenge.refresh_from_db()
    assert challenge.destination == "+86 *******8000"
    assert challenge.provider_id.startswith("SM")
    verification = actions.check_verify_code(
        user=alice, challenge_id=challenge.public_id, code=code_from(sent["Body"])
    )
    assert verification.method == Method.SMS_CODE


def test_sms_sender_returns_the_provider_message_id(sms_provider):
    sender = HttpSmsSender(
        base_url=sms_provider.base_url, account=SMS_ACCOUNT, token=SMS_TOKEN, sender=SMS_FROM
    )
    sid = sender.send(to_e164="+8613800138000", text="hello")
    assert sid.startswith("SM") and sms_provider.received[-1]["Body"] == "hello"


def test_sms_sender_reports_bad_credentials(sms_provider):
    sender = HttpSmsSender(
        base_url=sms_provider.base_url, account=SMS_ACCOUNT, token="wrong", sender=SMS_FROM
    )
    with pytest.raises(SmsError) as info:
        sender.send(to_e164="+8613800138000", text="hello")
    assert info.value.status == 401 and info.value.code == "20003"
    assert not info.value.retryable
    assert sms_provider.received == []


def test_sms_sender_reports_the_provider_error_payload(sms_provider):
    sender = HttpSmsSender(
        base_url=sms_provider.base_url, account=SMS_ACCOUNT, token=SMS_TOKEN, sender=SMS_FROM
    )
    with pytest.raises(SmsError) as info:
        sender.send(to_e164=INVALID_NUMBER, text="hello")
    assert info.value.status == 400 and info.value.code == "21211"
    assert "not a valid phone number" in str(info.value)


def test_sms_sender_times_out(sms_provider):
    sender = HttpSmsSender(
        base_url=sms_provider.base_url, account=SMS_ACCOUNT, token=SMS_TOKEN, sender=SMS_FROM, timeout=0.3
    )
    with pytest.raises(SmsError) as info:
        sender.send(to_e164=SLOW_NUMBER, text="hello")
    assert info.value.status is None and info.value.retryable
    assert "timed out" in str(info.value)


def test_sms_sender_reports_an_unreachable_provider():
    transport = httpx.MockTransport(lambda request: (_ for _ in ()).throw(httpx.ConnectError("refused")))
    sender = HttpSmsSender(
        base_url="http://127.0.0.1:9",
        account=SMS_ACCOUNT,
        token=SMS_TOKEN,
        sender=SMS_FROM,
        transport=transport,
    )
    with pytest.raises(SmsError) as info:
        sender.send(to_e164="+8613800138000", text="hello")
    assert info.value.retryable


def test_a_provider_error_during_a_send_becomes_delivery_failed(alice, sms_provider):
    """The customer sees a plain "could not send"; the challenge is void but counts towards limits."""
    alice.phone = INVALID_NUMBER
    alice.save()
    # Well-formed for our parser, refused by the provider (its error 21211).
    with pytest.raises(DeliveryFailed):
        actions.check_send_code(user=alice, channel="sms")
    assert VerificationChallenge.objects.get().delivery == Delivery.FAILED
